// x/bank module: MsgSend, MsgMultiSend, genesis, queries and the supply invariant.
// See doc/modules/bank.md.
#pragma once

#include "x/bank/keeper.h"
#include "x/types/module.h"

namespace depai::x::bank {

inline constexpr size_t kMaxOutputs = 100;

class Module : public x::Module {
 public:
  explicit Module(const AccountKeeper* accounts = nullptr) : keeper_(accounts) {}
  std::string name() const override { return "bank"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  nlohmann::json export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_supply_full(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override {
    return keeper_.check_supply_block(block, committed);
  }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  const Keeper& keeper() const { return keeper_; }
  void block_address(std::string_view addr) { keeper_.block_address(addr); }

 private:
  Keeper keeper_;
};

nlohmann::json CoinsToJson(const Coins& c);

}  // namespace depai::x::bank
