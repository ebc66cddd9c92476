// x/oracle module: the DPAI/USD price from vote extensions (CometBFT) or feeders' MsgPostPrice
// (devnet), on the skeleton of x/types/module.h (x/bank is the worked example). See
// doc/modules/oracle.md. Files: msg_server.cpp (validate + routes), genesis.cpp, query.cpp,
// sim.cpp; the keeper in keeper.h (keeper.cpp, votes.cpp, end_block.cpp, invariants.cpp) with its
// key layout in keys.h. The App calls the keeper's vote-extension methods from its ABCI entry
// points (ExtendVote, VerifyVoteExtension, PrepareProposal, ProcessProposal, FinalizeBlock).
// Thread-safety: as every module (routes immutable, phases on one thread).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <utility>

#include "x/oracle/keeper.h"
#include "x/types/module.h"

namespace depai::x::oracle {

inline constexpr const char* kTypePostPrice = "/depai.oracle.v1.MsgPostPrice";

// The last committed block's (height, time_ms), for /oracle/price's staleness (the App keeps the
// time outside the app hash).
using ClockFn = std::function<std::pair<int64_t, int64_t>()>;

class Module : public x::Module {
 public:
  explicit Module(ClockFn clock = {}) : clock_(std::move(clock)) {}
  std::string name() const override { return "oracle"; }
  std::vector<MsgRoute> routes() override;
  // Sections: params (overrides on the defaults, field by field), price, validators,
  // vote_extensions_enable_height. The App replaces validators and the enable height with
  // InitChain's when CometBFT gives them.
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

 private:
  Keeper keeper_;
  ClockFn clock_;
};

// The price_info answer as the query and API print it: decimal USD strings (price, ema, conf,
// conservative) and the same as decimal-integer e9 strings.
nlohmann::json PriceInfoJson(const x::PriceInfo& p);

}  // namespace depai::x::oracle
