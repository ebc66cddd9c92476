// Client-side builders for x/market messages (CLI, daemons, deploy tooling). Pure functions;
// thread-safe. Amounts are udpai.
#pragma once

#include <google/protobuf/any.pb.h>

#include <nlohmann/json.hpp>
#include <string>

#include "depai/market/v1/market.pb.h"
#include "util/amount.h"
#include "util/result.h"

namespace depai::client {

// Any with type_url "/" + the message's full name.
google::protobuf::Any PackAny(const google::protobuf::Message& m);

google::protobuf::Any PackMsgCreateOrder(const depai::market::v1::MsgCreateOrder& m);
google::protobuf::Any PackMsgCloseOrder(const std::string& owner, uint64_t order_id);
google::protobuf::Any PackMsgCreateBid(const std::string& provider, uint64_t order_id, Amount price_per_block);
// The same in `denom` (the order's: udpai or ucredit).
google::protobuf::Any PackMsgCreateBid(const std::string& provider, uint64_t order_id, Amount price_per_block,
                                       const std::string& denom);
google::protobuf::Any PackMsgCloseBid(const std::string& provider, uint64_t order_id);
google::protobuf::Any PackMsgCreateLease(const std::string& owner, uint64_t order_id, const std::string& provider);
google::protobuf::Any PackMsgCloseLease(const std::string& sender, uint64_t lease_id,
                                        depai::market::v1::CloseReason reason);
google::protobuf::Any PackMsgDepositEscrow(const std::string& depositor, uint64_t order_id, Amount amount);
google::protobuf::Any PackMsgDepositEscrow(const std::string& depositor, uint64_t order_id, Amount amount,
                                           const std::string& denom);
google::protobuf::Any PackMsgWithdrawLease(const std::string& provider, uint64_t lease_id);

// "owner", "unstable", "decommission", "manifest-timeout", "resources-unavailable",
// "workload-failed", "workload-completed" (or the enum name, e.g. "CLOSE_REASON_OWNER").
Result<depai::market::v1::CloseReason> ParseCloseReason(std::string_view s);

// MsgCreateOrder from its JSON form (proto field names). Conveniences: max_price_per_block and
// deposit may be strings like "50udpai"; manifest_hash may be 64 hex characters. `owner`
// (bech32) overrides any owner in the JSON.
Result<depai::market::v1::MsgCreateOrder> MsgCreateOrderFromJson(const nlohmann::json& j, const std::string& owner);

}  // namespace depai::client
