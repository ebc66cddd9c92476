// Deterministic protobuf encoding for state values and sign bytes.
#pragma once

#include <google/protobuf/message.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "store/kv.h"
#include "util/amount.h"
#include "util/bytes.h"
#include "util/result.h"
#include "x/types/errors.h"

namespace depai::x {

std::string DeterministicSerialize(const google::protobuf::Message& m);

// A message's bech32 address field as 20 raw bytes; a bad one is root ErrInvalidAddress naming
// the field ("to_address: ...").
Result<Bytes> ParseAddress(std::string_view bech32, const char* field);

// A message as JSON with its proto field names, every primitive field printed (for the API,
// queries and genesis export). A message the printer refuses gives {"error": ...}.
nlohmann::json MessageToJson(const google::protobuf::Message& m);

// A stored record decoded into its typed struct. Bytes that do not decode are a fault
// (kFaultCorruptRecord), never an empty record or a zero: state is the node's own, and a record
// that fails to parse means storage or code is broken.
template <typename T>
Result<T> DecodeRecord(std::string_view bytes, std::string_view what) {
  T t;
  if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return Fault(kFaultCorruptRecord, "stored " + std::string(what) + " does not decode");
  return t;
}
// A stored u64 big-endian value (balances, counters); any other length is a fault.
Result<uint64_t> DecodeU64Record(std::string_view bytes, std::string_view what);
// A decimal amount field of a stored record (protos carry amounts as strings); anything
// Amount::Parse refuses, the empty string included, is a fault.
Result<Amount> DecodeAmountField(std::string_view v, std::string_view what);

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

// Every stored record under `prefix`, each decoded with `decode` (a Result-returning decoder such
// as DecodeRecord<T> plus checks); fn(key, record) returns false to stop. A record that does not
// decode stops the walk and its fault is returned.
template <typename Decode, typename Fn>
Status ForEachRecord(const store::KVReader& s, std::string_view prefix, Decode decode, Fn fn) {
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view v) {
    auto r = decode(v);
    if (!r.ok()) {
      st = r.error();
      return false;
    }
    return fn(k, r.value());
  });
  return st;
}

// A genesis record from its JSON form (proto field names; unknown fields are refused). The error
// text is the parser's, after "<what>: ".
Status ProtoFromJson(const nlohmann::json& j, google::protobuf::Message* m, std::string_view what);
template <typename M>
Result<M> ProtoFromJsonAs(const nlohmann::json& j, std::string_view what) {
  M m;
  DEPAI_TRY(ProtoFromJson(j, &m, what));
  return m;
}
// Genesis params: the fields of `overrides` (a JSON object) replace those of `*params` (the
// module's defaults), field by field; unknown fields are refused. Errors are ErrInvalidGenesis,
// "<what>: params must be an object" or "<what>: params: <the parser's error>".
Status MergeParamsJson(const nlohmann::json& overrides, google::protobuf::Message* params, std::string_view what);

}  // namespace depai::x
