#include "provider/registrar.h"

#include <spdlog/spdlog.h>

#include "client/market_msgs.h"
#include "client/provider_msgs.h"
#include "x/provider/keeper.h"

namespace depai::provider {

namespace pv1 = depai::provider::v1;

Status Registrar::Register() {
  const std::string& me = chain_.address();
  auto fill = [&](auto& m) {
    m.set_owner(me);
    m.set_endpoint(cfg_.endpoint);
    *m.mutable_location() = cfg_.location;
    m.set_region(cfg_.region);
    for (const auto& [k, v] : cfg_.attributes) {  // std::map: sorted by key
      auto* a = m.add_attributes();
      a->set_key(k);
      a->set_value(v);
    }
    *m.mutable_resources() = cfg_.inventory;
  };
  auto cur = chain_.GetProvider(me);
  if (!cur.ok()) {
    if (!client::IsChainError(cur.error(), x::provider::kCodespace, x::provider::kErrNotFound)) return cur.status();
    pv1::MsgRegisterProvider m;
    fill(m);
    auto coins = Coins::Parse(cfg_.collateral);
    if (!coins.ok() || coins->list().size() != 1)
      return Error{"config", 1, "provider.collateral: '" + cfg_.collateral + "' must be one amount, e.g. 1000000udpai"};
    m.mutable_collateral()->set_denom(coins->list()[0].denom);
    m.mutable_collateral()->set_amount(coins->list()[0].amount.str());
    auto r = chain_.Broadcast({client::PackAny(m)});
    if (!r.ok()) return Error{r.error().codespace, r.error().code, "registering the provider: " + r.error().message};
    spdlog::info("registered provider {} (endpoint {}, region '{}') at height {}", me, cfg_.endpoint, cfg_.region,
                 r->height);
    return {};
  }
  // Registered: update when what the config says differs from the chain.
  const pv1::Provider& have = cur->provider;
  std::map<std::string, std::string> attrs;
  for (const auto& a : have.attributes()) attrs[a.key()] = a.value();
  bool same = have.endpoint() == cfg_.endpoint &&
              have.location().SerializeAsString() == cfg_.location.SerializeAsString() &&
              have.region() == cfg_.region && attrs == cfg_.attributes &&
              TotalsOf(have.resources()).to_json() == TotalsOf(cfg_.inventory).to_json();
  if (same) {
    spdlog::info("provider {} is registered and up to date", me);
    return {};
  }
  pv1::MsgUpdateProvider m;
  fill(m);
  auto r = chain_.Broadcast({client::PackAny(m)});
  if (!r.ok()) return Error{r.error().codespace, r.error().code, "updating the provider: " + r.error().message};
  spdlog::info("updated provider {} from the config at height {}", me, r->height);
  return {};
}

}  // namespace depai::provider
