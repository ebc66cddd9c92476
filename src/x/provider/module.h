// x/provider module: provider registration, updates, deregistration with unbonding, auditor
// attestations, heartbeats, genesis, queries and the bond invariant. See doc/modules/provider.md.
#pragma once

#include <functional>

#include "x/provider/keeper.h"
#include "x/types/module.h"

namespace depai::x::provider {

inline constexpr size_t kMaxAttributes = 32;
inline constexpr size_t kMaxAttributeKey = 64;
inline constexpr size_t kMaxAttributeValue = 128;
inline constexpr size_t kMaxEndpoint = 256;
inline constexpr size_t kMaxRegion = 32;
inline constexpr size_t kMaxCell = 64;
inline constexpr size_t kMaxGpus = 8;
inline constexpr size_t kMaxStorage = 8;
inline constexpr size_t kMaxResourceName = 32;
inline constexpr int64_t kMaxLatE6 = 90'000'000;
inline constexpr int64_t kMaxLonE6 = 180'000'000;

// Stateless field checks, shared by the messages, genesis and the client. Each error names the
// offending field.
Status ValidateEndpoint(const std::string& endpoint);
Status ValidateLocation(const depai::provider::v1::GeoLocation& loc);
Status ValidateRegion(const std::string& region);
Status ValidateAttributeKey(const std::string& key, const std::string& field);
// 0..32 attributes (1..32 when `require_some`), valid keys and values, unique keys.
Status ValidateAttributes(const google::protobuf::RepeatedPtrField<depai::provider::v1::Attribute>& attrs,
                          const std::string& field, bool require_some);
Status ValidateResources(const depai::provider::v1::Resources& r);

class Module : public x::Module {
 public:
  // `committed_height` answers the last committed height for queries (uptime at that height).
  explicit Module(const BankKeeper* bank = nullptr, std::function<int64_t()> committed_height = nullptr)
      : keeper_(bank), committed_height_(std::move(committed_height)) {}
  std::string name() const override { return "provider"; }
  std::vector<MsgRoute> routes() override;
  Status init_genesis(Context& ctx, const nlohmann::json& genesis) override;
  Result<nlohmann::json> export_genesis(const store::KVReader& state) const override;
  Status check_invariants(const store::KVReader& state) const override { return keeper_.check_bond_full(state); }
  Status check_block_invariants(const store::CacheStore& block, const store::KVReader& committed) const override {
    return keeper_.check_bond_block(block, committed);
  }
  std::optional<Result<nlohmann::json>> query(const store::KVReader& state, std::string_view path) const override;
  Status end_block(Context& ctx) override { return keeper_.end_block(ctx); }
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
  std::function<int64_t()> committed_height_;
};

}  // namespace depai::x::provider
