// x/bank module: MsgSend, MsgMultiSend, genesis, queries, the supply invariant and the
// random-message generator. See doc/modules/bank.md. The worked example of
// doc/modules/README.md: msg_server.cpp (routes), genesis.cpp, query.cpp, invariants.cpp,
// sim.cpp, keeper.{h,cpp}, keys.h.
#pragma once

#include "crypto/bech32.h"
#include "depai/bank/v1/bank.pb.h"
#include "x/bank/keeper.h"
#include "x/types/module.h"

namespace depai::x::bank {

inline constexpr size_t kMaxOutputs = 100;
inline constexpr const char* kTypeSend = "/depai.bank.v1.MsgSend";
inline constexpr const char* kTypeMultiSend = "/depai.bank.v1.MsgMultiSend";

class Module : public x::Module {
 public:
  explicit Module(const AccountKeeper* accounts = nullptr) : keeper_(accounts) {}
  std::string name() const override { return "bank"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_supply_full(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override {
    return keeper_.check_supply_block(block, committed);
  }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }
  void block_address(std::string_view addr) { keeper_.block_address(addr); }

 private:
  Keeper keeper_;
};

nlohmann::json CoinsToJson(const Coins& c);

}  // namespace depai::x::bank
