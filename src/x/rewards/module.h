// x/rewards module: the epoch distribution of emissions and the revenue-quality records (no
// messages: rewards are paid automatically at each epoch end). On the skeleton of
// x/types/module.h. See doc/modules/rewards.md and doc/economics.md. Files: keeper.{h,cpp}
// (accumulators, distribution, invariants), module.cpp (genesis, queries), keys.h,
// expected_keepers.h.
#pragma once

#include "x/rewards/keeper.h"
#include "x/types/module.h"

namespace depai::x::rewards {

class Module : public x::Module {
 public:
  explicit Module(Keepers k) : keeper_(k) {}
  std::string name() const override { return "rewards"; }
  std::vector<MsgRoute> routes() override { return {}; }
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status end_block(Context& ctx) override { return keeper_.end_block(ctx); }
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants(state); }
  // /economy/epochs[?from=N&limit=M], /economy/epochs/<n>, /economy/current,
  // /rewards/provider/<bech32>, /rewards/params.
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
};

nlohmann::json EpochRecordToJson(const EpochRecord& r);

}  // namespace depai::x::rewards
