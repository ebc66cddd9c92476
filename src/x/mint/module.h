// x/mint module: the per-block emission (no messages; its block hook mints). On the skeleton of
// x/types/module.h. See doc/modules/mint.md. Files: keeper.{h,cpp} (schedule, begin_block,
// invariants), module.cpp (genesis, queries), keys.h, expected_keepers.h.
#pragma once

#include "x/mint/keeper.h"
#include "x/types/module.h"

namespace depai::x::mint {

class Module : public x::Module {
 public:
  explicit Module(const BankKeeper* bank) : keeper_(bank) {}
  std::string name() const override { return "mint"; }
  std::vector<MsgRoute> routes() override { return {}; }
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status begin_block(Context& ctx) override { return keeper_.begin_block(ctx); }
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_invariants(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader&) const override {
    return keeper_.check_invariants(block);
  }
  // /mint/status: params, the minter, the current era and the next block's scheduled reward.
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
};

}  // namespace depai::x::mint
