#include "client/market_msgs.h"

#include <google/protobuf/util/json_util.h>

#include "crypto/hash.h"
#include "x/types/codec.h"

namespace depai::client {

namespace mv1 = depai::market::v1;

google::protobuf::Any PackAny(const google::protobuf::Message& m) {
  google::protobuf::Any any;
  any.set_type_url("/" + m.GetDescriptor()->full_name());
  any.set_value(x::DeterministicSerialize(m));
  return any;
}

namespace {
void SetCoin(depai::tx::v1::Coin* c, Amount a, const std::string& denom = "udpai") {
  c->set_denom(denom);
  c->set_amount(a.str());
}
}  // namespace

google::protobuf::Any PackMsgCreateOrder(const mv1::MsgCreateOrder& m) { return PackAny(m); }

google::protobuf::Any PackMsgCloseOrder(const std::string& owner, uint64_t order_id) {
  mv1::MsgCloseOrder m;
  m.set_owner(owner);
  m.set_order_id(order_id);
  return PackAny(m);
}

google::protobuf::Any PackMsgCreateBid(const std::string& provider, uint64_t order_id, Amount price_per_block) {
  return PackMsgCreateBid(provider, order_id, price_per_block, "udpai");
}

google::protobuf::Any PackMsgCreateBid(const std::string& provider, uint64_t order_id, Amount price_per_block,
                                       const std::string& denom) {
  mv1::MsgCreateBid m;
  m.set_provider(provider);
  m.set_order_id(order_id);
  SetCoin(m.mutable_price_per_block(), price_per_block, denom);
  return PackAny(m);
}

google::protobuf::Any PackMsgCloseBid(const std::string& provider, uint64_t order_id) {
  mv1::MsgCloseBid m;
  m.set_provider(provider);
  m.set_order_id(order_id);
  return PackAny(m);
}

google::protobuf::Any PackMsgCreateLease(const std::string& owner, uint64_t order_id, const std::string& provider) {
  mv1::MsgCreateLease m;
  m.set_owner(owner);
  m.set_order_id(order_id);
  m.set_provider(provider);
  return PackAny(m);
}

google::protobuf::Any PackMsgCloseLease(const std::string& sender, uint64_t lease_id, mv1::CloseReason reason) {
  mv1::MsgCloseLease m;
  m.set_sender(sender);
  m.set_lease_id(lease_id);
  m.set_reason(reason);
  return PackAny(m);
}

google::protobuf::Any PackMsgDepositEscrow(const std::string& depositor, uint64_t order_id, Amount amount) {
  return PackMsgDepositEscrow(depositor, order_id, amount, "udpai");
}

google::protobuf::Any PackMsgDepositEscrow(const std::string& depositor, uint64_t order_id, Amount amount,
                                           const std::string& denom) {
  mv1::MsgDepositEscrow m;
  m.set_depositor(depositor);
  m.set_order_id(order_id);
  SetCoin(m.mutable_amount(), amount, denom);
  return PackAny(m);
}

google::protobuf::Any PackMsgWithdrawLease(const std::string& provider, uint64_t lease_id) {
  mv1::MsgWithdrawLease m;
  m.set_provider(provider);
  m.set_lease_id(lease_id);
  return PackAny(m);
}

Result<mv1::CloseReason> ParseCloseReason(std::string_view s) {
  static const std::pair<const char*, mv1::CloseReason> kShort[] = {
      {"owner", mv1::CLOSE_REASON_OWNER},
      {"unstable", mv1::CLOSE_REASON_PROVIDER_UNSTABLE},
      {"decommission", mv1::CLOSE_REASON_PROVIDER_DECOMMISSION},
      {"manifest-timeout", mv1::CLOSE_REASON_MANIFEST_TIMEOUT},
      {"resources-unavailable", mv1::CLOSE_REASON_RESOURCES_UNAVAILABLE},
      {"workload-failed", mv1::CLOSE_REASON_WORKLOAD_FAILED},
      {"workload-completed", mv1::CLOSE_REASON_WORKLOAD_COMPLETED},
  };
  for (const auto& [name, r] : kShort)
    if (s == name) return r;
  mv1::CloseReason r;
  if (mv1::CloseReason_Parse(std::string(s), &r) && r != mv1::CLOSE_REASON_INSUFFICIENT_FUNDS) return r;
  return Error{"client", 1,
               "unknown close reason '" + std::string(s) +
                   "' (owner|unstable|decommission|manifest-timeout|resources-unavailable|workload-failed|"
                   "workload-completed)"};
}

Result<mv1::MsgCreateOrder> MsgCreateOrderFromJson(const nlohmann::json& in, const std::string& owner) {
  if (!in.is_object()) return Error{"client", 1, "order spec must be a JSON object"};
  nlohmann::json j = in;
  for (const char* f : {"max_price_per_block", "deposit"}) {
    if (j.contains(f) && j[f].is_string()) {
      auto c = Coins::Parse(j[f].get<std::string>());
      if (!c.ok() || c->list().size() != 1)
        return Error{"client", 1, std::string(f) + ": expected an amount like 50udpai or 50ucredit"};
      j[f] = nlohmann::json{{"denom", c->list()[0].denom}, {"amount", c->list()[0].amount.str()}};
    }
  }
  if (j.contains("manifest_hash") && j["manifest_hash"].is_string() &&
      j["manifest_hash"].get<std::string>().size() == 64) {
    auto raw = HexDecode(j["manifest_hash"].get<std::string>());
    if (!raw) return Error{"client", 1, "manifest_hash: not hex"};
    j["manifest_hash"] = crypto::Base64Encode(*raw);
  }
  j["owner"] = owner;
  mv1::MsgCreateOrder m;
  google::protobuf::util::JsonParseOptions o;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &m, o);
  if (!st.ok()) return Error{"client", 1, "order spec: " + std::string(st.message())};
  // A ucredit max price makes a credit-priced order (its deposit must be ucredit too).
  if (m.denom().empty() && m.max_price_per_block().denom() == "ucredit") m.set_denom("ucredit");
  return m;
}

}  // namespace depai::client
