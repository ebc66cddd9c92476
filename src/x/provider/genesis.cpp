// x/provider genesis: params, providers, attestations and unbonding entries. Import validates
// every field like the messages; the app checks the bond invariant once every module has
// imported its section (the bond balance is part of the bank section).
#include <google/protobuf/util/json_util.h>

#include <map>

#include "crypto/bech32.h"
#include "x/provider/module.h"
#include "x/types/codec.h"

namespace depai::x::provider {

using nlohmann::json;

namespace {
Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "provider genesis: " + m); }

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  return ProtoFromJsonAs<M>(j, "provider genesis: " + what);
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return genesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {
    auto p = FromJson<Params>(g["params"], "params");
    if (!p.ok()) return p.error();
    params = p.value();
  }
  if (auto st = ValidateParams(params); !st.ok()) return genesisErr(st.error().message);
  keeper_.set_params(s, params);
  auto list = [&](const char* name) -> Result<json> {
    if (!g.contains(name)) return json::array();
    if (!g[name].is_array()) return genesisErr(std::string(name) + " must be an array");
    return g[name];
  };
  DEPAI_ASSIGN_OR_RETURN(json providers, list("providers"));
  for (const auto& jp : providers) {
    DEPAI_ASSIGN_OR_RETURN(auto p, FromJson<Provider>(jp, "provider"));
    auto owner = crypto::AddressFromBech32(p.owner());
    if (!owner.ok()) return genesisErr("provider owner '" + p.owner() + "': " + owner.error().message);
    const std::string who = "provider " + p.owner() + ": ";
    if (auto st = ValidateDetails(p); !st.ok()) return genesisErr(who + st.error().message);
    if (auto st = ValidateStoredAttributes(p.attributes(), "attributes"); !st.ok())
      return genesisErr(who + st.error().message);
    auto c = Amount::Parse(p.collateral());
    if (!c.ok() || c->is_zero()) return genesisErr(who + "collateral must be a positive amount");
    if (p.registered_height() < 0 || p.last_heartbeat_height() < 0)
      return genesisErr(who + "heights must not be negative");
    DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.get(s, *owner));
    if (existing) return genesisErr("duplicate provider " + p.owner());
    p.set_owner(crypto::AddressToBech32(*owner));
    p.set_collateral(c->str());
    keeper_.set(s, *owner, p);
  }
  DEPAI_ASSIGN_OR_RETURN(json audits, list("audits"));
  for (const auto& ja : audits) {
    DEPAI_ASSIGN_OR_RETURN(auto a, FromJson<AuditedAttributes>(ja, "audit"));
    auto provider = crypto::AddressFromBech32(a.provider());
    if (!provider.ok()) return genesisErr("audit provider '" + a.provider() + "': " + provider.error().message);
    auto auditor = crypto::AddressFromBech32(a.auditor());
    if (!auditor.ok()) return genesisErr("audit auditor '" + a.auditor() + "': " + auditor.error().message);
    if (a.attributes().empty()) return genesisErr("audit by " + a.auditor() + " has no attributes");
    if (auto st = ValidateStoredAttributes(a.attributes(), "audit attributes"); !st.ok())
      return genesisErr(st.error().message);
    DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.audit(s, *provider, *auditor));
    if (existing) return genesisErr("duplicate audit of " + a.provider() + " by " + a.auditor());
    a.set_provider(crypto::AddressToBech32(*provider));
    a.set_auditor(crypto::AddressToBech32(*auditor));
    keeper_.set_audit(s, *provider, *auditor, a);
  }
  DEPAI_ASSIGN_OR_RETURN(json unbonding, list("unbonding"));
  std::map<std::pair<int64_t, Bytes>, bool> seen;
  for (const auto& ju : unbonding) {
    DEPAI_ASSIGN_OR_RETURN(auto e, FromJson<UnbondingEntry>(ju, "unbonding entry"));
    auto owner = crypto::AddressFromBech32(e.owner());
    if (!owner.ok()) return genesisErr("unbonding owner '" + e.owner() + "': " + owner.error().message);
    auto a = Amount::Parse(e.amount());
    if (!a.ok() || a->is_zero()) return genesisErr("unbonding amount of " + e.owner() + " must be positive");
    if (e.completion_height() < 0) return genesisErr("unbonding completion_height must not be negative");
    if (!seen.emplace(std::make_pair(e.completion_height(), *owner), true).second)
      return genesisErr("duplicate unbonding entry for " + e.owner() + " at height " +
                        std::to_string(e.completion_height()));
    DEPAI_TRY(keeper_.add_unbonding(s, *owner, *a, e.completion_height()));
  }
  // The bond balance itself is part of the bank section; the app checks the invariant after
  // every module has imported its section.
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& state) const {
  json providers = json::array(), audits = json::array(), unbonding = json::array();
  DEPAI_TRY(keeper_.for_each_provider(state, [&](std::string_view, const Provider& p) {
    providers.push_back(MessageToJson(p));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_audit(state, [&](const AuditedAttributes& a) {
    audits.push_back(MessageToJson(a));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_unbonding(state, [&](std::string_view, const UnbondingEntry& e) {
    unbonding.push_back(MessageToJson(e));
    return true;
  }));
  DEPAI_ASSIGN_OR_RETURN(auto params, keeper_.params(state));
  return json{
      {"params", MessageToJson(params)}, {"providers", providers}, {"audits", audits}, {"unbonding", unbonding}};
}

}  // namespace depai::x::provider
