// x/wallet genesis: params (overrides on top of the defaults, field by field), wallets with their
// session keys and current-period spends, and the owners' wallet counters (so addresses keep
// being derived the same way after a re-import). Export then import gives the same state.
#include <algorithm>

#include "crypto/bech32.h"
#include "x/types/codec.h"
#include "x/wallet/module.h"

namespace depai::x::wallet {

using nlohmann::json;

namespace {
Error GenesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "wallet genesis: " + m); }
}  // namespace

Status Module::init_genesis(Context& ctx, const json& g) {
  if (!g.is_object()) return GenesisErr("must be an object");
  auto& s = *ctx.store;
  Params params = DefaultParams();
  if (g.contains("params")) {
    DEPAI_TRY(MergeParamsJson(g["params"], &params, "wallet genesis"));
  }
  if (auto st = ValidateParams(params); !st.ok()) return GenesisErr(st.error().message);
  keeper_.set_params(s, params);
  if (g.contains("owner_counts")) {
    if (!g["owner_counts"].is_array()) return GenesisErr("owner_counts must be an array");
    for (const auto& j : g["owner_counts"]) {
      DEPAI_ASSIGN_OR_RETURN(auto oc,
                             ProtoFromJsonAs<depai::wallet::v1::OwnerCount>(j, "wallet genesis: owner_counts"));
      auto owner = crypto::AddressFromBech32(oc.owner());
      if (!owner.ok()) return GenesisErr("owner_counts: " + owner.error().message);
      keeper_.set_wallet_count(s, owner.value(), oc.count());
    }
  }
  if (g.contains("wallets")) {
    if (!g["wallets"].is_array()) return GenesisErr("wallets must be an array");
    for (const auto& j : g["wallets"]) {
      DEPAI_ASSIGN_OR_RETURN(auto gw, ProtoFromJsonAs<depai::wallet::v1::GenesisWallet>(j, "wallet genesis: wallets"));
      const auto& w = gw.wallet();
      auto addr = crypto::AddressFromBech32(w.address());
      auto owner = crypto::AddressFromBech32(w.owner());
      if (!addr.ok() || !owner.ok()) return GenesisErr("wallet " + w.address() + ": bad address or owner");
      if (auto p = ParsePolicy(w.policy(), params, "policy"); !p.ok()) return GenesisErr(p.error().message);
      keeper_.put_wallet(s, w, addr.value(), owner.value());
      for (const auto& k : gw.keys()) {
        if (k.pub_key().size() != 32) return GenesisErr("wallet " + w.address() + ": a session key is not 32 bytes");
        if (auto p = ParsePolicy(k.policy(), params, "session key policy"); !p.ok())
          return GenesisErr(p.error().message);
        keeper_.put_key(s, addr.value(), k);
      }
      if (gw.has_spend()) keeper_.put_wallet_spend(s, addr.value(), gw.spend());
      for (const auto& ks : gw.key_spends()) keeper_.put_key_spend(s, addr.value(), ks.pub_key(), ks.spend());
    }
  }
  if (auto st = keeper_.check_invariants(s); !st.ok()) return GenesisErr(st.error().message);
  return {};
}

Result<json> Module::export_genesis(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, keeper_.params(s));
  json out{{"params", MessageToJson(p)}, {"wallets", json::array()}, {"owner_counts", json::array()}};
  std::vector<depai::wallet::v1::Wallet> wallets;
  DEPAI_TRY(keeper_.for_each_wallet(s, [&](const Wallet& w) {
    wallets.push_back(w);
    return true;
  }));
  std::vector<std::string> owners;
  for (const auto& w : wallets) {
    DEPAI_ASSIGN_OR_RETURN(const Bytes a, crypto::AddressFromBech32(w.address()));
    depai::wallet::v1::GenesisWallet gw;
    *gw.mutable_wallet() = w;
    DEPAI_TRY(keeper_.for_each_key(s, a, [&](const SessionKey& k) {
      *gw.add_keys() = k;
      return true;
    }));
    DEPAI_ASSIGN_OR_RETURN(auto sp, keeper_.wallet_spend(s, a));
    if (sp) *gw.mutable_spend() = *sp;
    for (const auto& k : gw.keys()) {
      DEPAI_ASSIGN_OR_RETURN(auto ks, keeper_.key_spend(s, a, k.pub_key()));
      if (!ks) continue;
      auto* e = gw.add_key_spends();
      e->set_pub_key(k.pub_key());
      *e->mutable_spend() = *ks;
    }
    out["wallets"].push_back(MessageToJson(gw));
    owners.push_back(w.owner());
  }
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  for (const auto& o : owners) {
    DEPAI_ASSIGN_OR_RETURN(const Bytes oa, crypto::AddressFromBech32(o));
    DEPAI_ASSIGN_OR_RETURN(const uint64_t n, keeper_.wallet_count(s, oa));
    out["owner_counts"].push_back(json{{"owner", o}, {"count", std::to_string(n)}});
  }
  return out;
}

}  // namespace depai::x::wallet
