// x/verify module: checkers, challenges, attestations, verdicts, disputes and appeals on the
// skeleton of x/types/module.h (x/bank is the worked example). See doc/modules/verify.md.
// Files: msg_server.cpp (validate + routes), genesis.cpp, query.cpp, sim.cpp; the keeper in
// keeper.h (keeper.cpp, checkers.cpp, challenges.cpp, verdicts.cpp, end_block.cpp,
// invariants.cpp) with its key layout in keys.h.
#pragma once

#include "x/types/module.h"
#include "x/verify/keeper.h"

namespace depai::x::verify {

inline constexpr const char* kTypeRegisterChecker = "/depai.verify.v1.MsgRegisterChecker";
inline constexpr const char* kTypeDeregisterChecker = "/depai.verify.v1.MsgDeregisterChecker";
inline constexpr const char* kTypeCommitRoot = "/depai.verify.v1.MsgCommitRoot";
inline constexpr const char* kTypeAttest = "/depai.verify.v1.MsgAttest";
inline constexpr const char* kTypeDispute = "/depai.verify.v1.MsgDispute";
inline constexpr const char* kTypeAppeal = "/depai.verify.v1.MsgAppeal";

class Module : public x::Module {
 public:
  Module(const ProviderKeeper* providers, const MarketKeeper* market, const BankKeeper* bank)
      : keeper_(providers, market, bank) {}
  std::string name() const override { return "verify"; }
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

 private:
  Keeper keeper_;
};

// Proto message -> JSON with proto field names; bytes fields (seed, root, sample_seed) as hex.
nlohmann::json ProtoToJson(const google::protobuf::Message& m);

}  // namespace depai::x::verify
