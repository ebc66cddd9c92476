// x/channel module: payment channels with signed cumulative vouchers and PayWord tickets
// (open, top-up, redeem, close with a challenge period, settle), genesis, the /channel/...
// queries, invariants and the generator, on the skeleton of x/types/module.h. See
// doc/modules/channel.md. Files: msg_server.cpp (validate + routes), genesis.cpp, query.cpp,
// sim.cpp, invariants.cpp; the keeper in keeper.h (keeper.cpp) with its key layout in keys.h;
// the wire encodings in voucher.h. Not thread-safe.
#pragma once

#include "x/channel/keeper.h"
#include "x/types/module.h"

namespace depai::x::channel {

inline constexpr const char* kTypeOpen = "/depai.channel.v1.MsgOpenChannel";
inline constexpr const char* kTypeTopUp = "/depai.channel.v1.MsgTopUpChannel";
inline constexpr const char* kTypeRedeem = "/depai.channel.v1.MsgRedeemChannel";
inline constexpr const char* kTypeClose = "/depai.channel.v1.MsgCloseChannel";
inline constexpr const char* kTypeSettle = "/depai.channel.v1.MsgSettleChannel";

class Module : public x::Module {
 public:
  explicit Module(const BankKeeper* bank) : keeper_(bank) {}
  std::string name() const override { return "channel"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants(state); }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
};

// A channel message as JSON with proto field names; bytes fields (voucher_key, ticket_root,
// signature, preimage) as hex.
nlohmann::json ProtoToJson(const google::protobuf::Message& m);

}  // namespace depai::x::channel
