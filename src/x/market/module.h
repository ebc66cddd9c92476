// x/market module: the eight market messages, genesis, queries, end_block and the escrow
// invariant. See doc/modules/market.md.
#pragma once

#include <functional>

#include "x/market/keeper.h"
#include "x/types/module.h"

namespace depai::x::market {

inline constexpr size_t kMaxGroups = 16;
inline constexpr size_t kMaxAuditors = 16;
inline constexpr size_t kMaxPlacementAttributes = 32;

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
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override;
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  Status end_block(Context& ctx) override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
  std::function<int64_t()> committed_height_;
};

// Proto message -> JSON with proto field names, u64 as strings, enums as names, manifest_hash hex.
nlohmann::json ProtoToJson(const google::protobuf::Message& m);

}  // namespace depai::x::market
