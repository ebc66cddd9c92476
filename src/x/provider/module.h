// x/provider module: provider registration, updates, deregistration with unbonding, auditor
// attestations, heartbeats, genesis, queries, the bond invariant and the random-message
// generator. See doc/modules/provider.md. Laid out like x/bank:
// module.cpp (the stateless field validators below), msg_server.cpp (routes), genesis.cpp,
// query.cpp, invariants.cpp, end_block.cpp, sim.cpp, keeper.{h,cpp}, keys.h.
#pragma once

#include <functional>

#include "x/provider/keeper.h"
#include "x/types/module.h"

namespace depai::x::provider {

inline constexpr const char* kTypeRegister = "/depai.provider.v1.MsgRegisterProvider";
inline constexpr const char* kTypeUpdate = "/depai.provider.v1.MsgUpdateProvider";
inline constexpr const char* kTypeDeregister = "/depai.provider.v1.MsgDeregisterProvider";
inline constexpr const char* kTypeSign = "/depai.provider.v1.MsgSignProviderAttributes";
inline constexpr const char* kTypeDelete = "/depai.provider.v1.MsgDeleteProviderAttributes";
inline constexpr const char* kTypeHeartbeat = "/depai.provider.v1.MsgProviderHeartbeat";

// Stateless field checks, shared by the messages, genesis and the client. Each error names the
// offending field.
Status ValidateEndpoint(const std::string& endpoint);
Status ValidateLocation(const depai::provider::v1::GeoLocation& loc);
Status ValidateRegion(const std::string& region);
Status ValidateAttributeKey(const std::string& key, const std::string& field);
// 0..32 attributes (1..32 when `require_some`), valid keys and values, unique keys.
Status ValidateAttributes(const google::protobuf::RepeatedPtrField<depai::provider::v1::Attribute>& attrs,
                          const std::string& field, bool require_some);
// Attributes as stored (genesis): valid, and sorted by key.
Status ValidateStoredAttributes(const google::protobuf::RepeatedPtrField<depai::provider::v1::Attribute>& attrs,
                                const std::string& field);
Status ValidateResources(const depai::provider::v1::Resources& r);
// `attrs` sorted by key.
std::vector<Attribute> SortedAttributes(const google::protobuf::RepeatedPtrField<Attribute>& attrs);

// The detail fields every registration carries (a message or a stored Provider).
template <typename M>
Status ValidateDetails(const M& m) {
  DEPAI_TRY(ValidateEndpoint(m.endpoint()));
  DEPAI_TRY(ValidateLocation(m.location()));
  DEPAI_TRY(ValidateRegion(m.region()));
  DEPAI_TRY(ValidateAttributes(m.attributes(), "attributes", false));
  DEPAI_TRY(ValidateResources(m.resources()));
  return {};
}

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
  std::optional<SimMsg> random_msg(SimState& sim) const override;
  const Keeper& keeper() const { return keeper_; }

 private:
  Keeper keeper_;
  std::function<int64_t()> committed_height_;
};

}  // namespace depai::x::provider
