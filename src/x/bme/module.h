// x/bme module: MsgBurnForCredits (burn udpai, mint non-transferable ucredit at the oracle's
// conservative price, behind a deviation halt and a windowed circuit breaker), genesis, the
// /bme/status and /bme/params queries, invariants and the generator. See
// doc/modules/bme.md. Files on the skeleton of x/types/module.h (x/bank is the worked example):
// msg_server.cpp, genesis.cpp, query.cpp, sim.cpp; the keeper in keeper.h (keeper.cpp,
// invariants.cpp) with its key layout in keys.h. Not thread-safe.
#pragma once

#include <functional>

#include "x/bme/keeper.h"
#include "x/types/module.h"

namespace depai::x::bme {

inline constexpr const char* kTypeBurnForCredits = "/depai.bme.v1.MsgBurnForCredits";

class Module : public x::Module {
 public:
  // last_block: the last committed block's (height, time), for queries and CheckTx; may be empty.
  Module(const OracleKeeper* oracle, const BankKeeper* bank, std::function<Clock()> last_block = nullptr)
      : keeper_(oracle, bank, std::move(last_block)) {}
  std::string name() const override { return "bme"; }
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

}  // namespace depai::x::bme
