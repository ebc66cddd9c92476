// x/market module: the eight market messages, genesis, queries, end_block, the escrow invariant
// and the random-message generator. See doc/modules/market.md. Files, on the skeleton of
// x/types/module.h (x/bank is the worked example): msg_server.cpp (validate + routes),
// genesis.cpp, query.cpp, sim.cpp; the keeper in keeper.h (records.cpp, orders.cpp, leases.cpp,
// end_block.cpp, invariants.cpp) with its key layout in keys.h.
#pragma once

#include <functional>

#include "x/market/keeper.h"
#include "x/types/module.h"

namespace depai::x::market {

inline constexpr size_t kMaxGroups = 16;
inline constexpr size_t kMaxAuditors = 16;
inline constexpr size_t kMaxPlacementAttributes = 32;

inline constexpr const char* kTypeCreateOrder = "/depai.market.v1.MsgCreateOrder";
inline constexpr const char* kTypeCloseOrder = "/depai.market.v1.MsgCloseOrder";
inline constexpr const char* kTypeCreateBid = "/depai.market.v1.MsgCreateBid";
inline constexpr const char* kTypeCloseBid = "/depai.market.v1.MsgCloseBid";
inline constexpr const char* kTypeCreateLease = "/depai.market.v1.MsgCreateLease";
inline constexpr const char* kTypeCloseLease = "/depai.market.v1.MsgCloseLease";
inline constexpr const char* kTypeDepositEscrow = "/depai.market.v1.MsgDepositEscrow";
inline constexpr const char* kTypeWithdrawLease = "/depai.market.v1.MsgWithdrawLease";

class Module : public x::Module {
 public:
  // committed_height: the height of the state queries read (settled views); may be empty (0).
  Module(const ProviderKeeper* providers, const BankKeeper* bank, std::function<int64_t()> committed_height = nullptr)
      : keeper_(providers, bank), committed_height_(std::move(committed_height)) {}
  std::string name() const override { return "market"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants_full(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override {
    return keeper_.check_invariants_block(block, committed);
  }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  Status end_block(Context& ctx) override { return keeper_.end_block(ctx); }
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }
  // The hook told of every lease payment (null: none); the App sets it once at start-up.
  void set_revenue_hook(const RevenueHook* h) { keeper_.set_revenue_hook(h); }
  // x/identity's attestation view for require_attested orders (null: none); set once at start-up.
  void set_identity(const IdentityKeeper* i) { keeper_.set_identity(i); }

 private:
  Keeper keeper_;
  std::function<int64_t()> committed_height_;
};

// Proto message -> JSON with proto field names, u64 as strings, enums as names, manifest_hash hex.
nlohmann::json ProtoToJson(const google::protobuf::Message& m);

}  // namespace depai::x::market
