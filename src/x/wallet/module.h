// x/wallet module: agent wallets with on-chain policies and session keys (MsgCreateWallet,
// MsgUpdatePolicy, MsgAddSessionKey, MsgRevokeSessionKey, MsgRevokeWallet, MsgFundWallet,
// MsgDrainWallet), genesis, the /wallet/... queries, invariants and the generator. The policy
// itself is enforced by the ante handler through the keeper (keeper.h). See doc/modules/wallet.md.
// Files on the skeleton of x/types/module.h: msg_server.cpp, genesis.cpp, query.cpp, sim.cpp,
// invariants.cpp; the keeper in keeper.h (keeper.cpp, policy.cpp) with its key layout in keys.h.
// Not thread-safe.
#pragma once

#include <functional>

#include "x/types/module.h"
#include "x/wallet/keeper.h"

namespace depai::x::wallet {

inline constexpr const char* kTypeCreateWallet = "/depai.wallet.v1.MsgCreateWallet";
inline constexpr const char* kTypeUpdatePolicy = "/depai.wallet.v1.MsgUpdatePolicy";
inline constexpr const char* kTypeAddSessionKey = "/depai.wallet.v1.MsgAddSessionKey";
inline constexpr const char* kTypeRevokeSessionKey = "/depai.wallet.v1.MsgRevokeSessionKey";
inline constexpr const char* kTypeRevokeWallet = "/depai.wallet.v1.MsgRevokeWallet";
inline constexpr const char* kTypeFundWallet = "/depai.wallet.v1.MsgFundWallet";
inline constexpr const char* kTypeDrainWallet = "/depai.wallet.v1.MsgDrainWallet";

class Module : public x::Module {
 public:
  // next_height: the height the next block will have (queries report periods as it sees them).
  Module(const BankKeeper* bank, const IdentityKeeper* identity, std::function<int64_t()> next_height = nullptr)
      : keeper_(bank, identity), next_height_(std::move(next_height)) {}
  std::string name() const override { return "wallet"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants(state); }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }
  Keeper& mutable_keeper() { return keeper_; }

 private:
  Keeper keeper_;
  std::function<int64_t()> next_height_;
};

}  // namespace depai::x::wallet
