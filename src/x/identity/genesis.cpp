// x/identity genesis: params (overrides on top of the defaults, field by field), DID documents,
// attesters (an unbonding one gets its due entry back) and links. Export then import gives the
// same state; the bonds in module:identity come from the bank section (the invariant checks them).
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/identity/keys.h"
#include "x/identity/module.h"
#include "x/types/codec.h"

namespace depai::x::identity {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "identity genesis: " + m); }

// Bytes fields are hex in JSON (as the export writes them); the proto JSON parser wants base64.
void HexToBase64(json& j) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if ((k == "public_key" || k == "pub_key" || k == "device_key" || k == "signature") && v.is_string()) {
        auto raw = HexDecode(v.get<std::string>());
        v = raw ? crypto::Base64Encode(*raw) : std::string("!");  // "!" fails the parser: not hex
      } else {
        HexToBase64(v);
      }
    }
  } else if (j.is_array()) {
    for (auto& e : j) HexToBase64(e);
  }
}

template <typename M>
Result<M> FromJson(json j, const std::string& what) {
  HexToBase64(j);
  return ProtoFromJsonAs<M>(j, "identity genesis: " + what);
}
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  for (const auto& [k, v] : g.items())
    if (k != "params" && k != "dids" && k != "attesters" && k != "links")
      return GenesisErr("unknown field '" + k + "'");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) DEPAI_TRY(MergeParamsJson(g["params"], &params, "identity genesis"));
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  for (const auto& jd : g.value("dids", json::array())) {
    DEPAI_ASSIGN_OR_RETURN(auto d, FromJson<DidDocument>(jd, "dids"));
    auto did20 = ParseDid(d.id());
    if (!did20.ok()) return GenesisErr(did20.error().message);
    if (!crypto::AddressFromBech32(d.controller()).ok()) return GenesisErr(d.id() + ": invalid controller");
    if (d.verification_methods_size() == 0) return GenesisErr(d.id() + ": no verification method");
    for (const auto& vm : d.verification_methods())
      if (vm.public_key().size() != 32) return GenesisErr(d.id() + ": a verification key is not 32 bytes");
    DEPAI_ASSIGN_OR_RETURN(auto existing, keeper_.did(s, *did20));
    if (existing) return GenesisErr(d.id() + " is repeated");
    keeper_.set_did(s, *did20, d);
  }
  for (const auto& ja : g.value("attesters", json::array())) {
    DEPAI_ASSIGN_OR_RETURN(auto a, FromJson<Attester>(ja, "attesters"));
    auto owner = crypto::AddressFromBech32(a.owner());
    if (!owner.ok()) return GenesisErr("attester owner '" + a.owner() + "' is not an address");
    if (a.pub_key().size() != 32) return GenesisErr("attester " + a.owner() + ": pub_key is not 32 bytes");
    if (!Amount::Parse(a.bond()).ok()) return GenesisErr("attester " + a.owner() + ": bond is not an amount");
    if (!a.active() && a.unbond_height() < 1)
      return GenesisErr("attester " + a.owner() + ": unbonding without unbond_height");
    keeper_.set_attester(s, *owner, a);
    if (!a.active()) s.set(keys::Unbond(a.unbond_height(), *owner), "");
  }
  for (const auto& jl : g.value("links", json::array())) {
    DEPAI_ASSIGN_OR_RETURN(auto l, FromJson<depai::identity::v1::Link>(jl, "links"));
    auto acc = crypto::AddressFromBech32(l.account());
    if (!acc.ok()) return GenesisErr("link account '" + l.account() + "' is not an address");
    auto did20 = ParseDid(l.did());
    if (!did20.ok()) return GenesisErr(did20.error().message);
    keeper_.set_link(s, *acc, *did20);
  }
  if (auto st = keeper_.check_invariants_full(s); !st.ok()) return GenesisErr(st.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
  json dids = json::array(), atts = json::array(), links = json::array();
  DEPAI_TRY(keeper_.for_each_did(s, [&](const DidDocument& d) {
    dids.push_back(ProtoToJson(d));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_attester(s, [&](std::string_view, const Attester& a) {
    atts.push_back(ProtoToJson(a));
    return true;
  }));
  DEPAI_TRY(keeper_.for_each_link(s, [&](std::string_view acc, std::string_view did20) {
    links.push_back({{"account", crypto::AddressToBech32(acc)}, {"did", DidOf(did20)}});
    return true;
  }));
  return json{{"params", MessageToJson(p)}, {"dids", dids}, {"attesters", atts}, {"links", links}};
}

}  // namespace depai::x::identity
