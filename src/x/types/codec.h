// Deterministic protobuf encoding for state values and sign bytes.
#pragma once

#include <google/protobuf/message.h>

#include <string>

#include "util/amount.h"
#include "util/result.h"

namespace depai::x {

std::string DeterministicSerialize(const google::protobuf::Message& m);

// Coins <-> repeated depai.tx.v1.Coin (proto amounts are decimal strings).
template <typename RepeatedCoin>
Result<Coins> CoinsFromProto(const RepeatedCoin& rc) {
  std::vector<Coin> v;
  for (const auto& c : rc) {
    auto a = Amount::Parse(c.amount());
    if (!a.ok()) return a.error();
    v.push_back(Coin{c.denom(), a.value()});
  }
  return Coins::From(std::move(v));
}

template <typename RepeatedCoin>
void CoinsToProto(const Coins& coins, RepeatedCoin* out) {
  for (const auto& c : coins.list()) {
    auto* pc = out->Add();
    pc->set_denom(c.denom);
    pc->set_amount(c.amount.str());
  }
}

}  // namespace depai::x
