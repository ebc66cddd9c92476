// x/provider's seeded random messages for the determinism test, built from the state read
// through the keeper: registrations with random details and collateral (sometimes below the
// minimum, more than the balance, or with bad attributes, regions or endpoints), updates,
// heartbeats, attestations signed and deleted by any account, and deregistrations. Messages for
// an owner that is not registered, or a key never signed, are part of the mix.
#include <map>

#include "crypto/bech32.h"
#include "x/provider/module.h"

namespace depai::x::provider {

namespace pv = depai::provider::v1;

namespace {
constexpr const char* kRegions[] = {"eu-west", "us-east", "ap-south", ""};
constexpr const char* kAttrKeys[] = {"tier", "country", "iso", "gpu.class", "cert"};
constexpr const char* kAttrValues[] = {"gold", "silver", "de", "us", "27001", "h100", "yes"};
constexpr const char* kGpuModels[] = {"h100", "a100", "rtx4090", "mi300"};

template <typename T, size_t N>
const T& Pick(SimRng& rng, const T (&a)[N]) {
  return a[rng.below(N)];
}

// 0..3 attributes with unique keys; sometimes (bad) an invalid key.
template <typename RepeatedAttr>
void RandomAttributes(SimRng& rng, RepeatedAttr* out, uint64_t min_count) {
  const uint64_t n = min_count + rng.below(4 - min_count);
  std::map<std::string, std::string> kv;
  for (uint64_t i = 0; i < n; ++i) kv[Pick(rng, kAttrKeys)] = Pick(rng, kAttrValues);
  if (rng.chance(4)) kv["Bad Key"] = "x";
  for (const auto& [k, v] : kv) {
    auto* a = out->Add();
    a->set_key(k);
    a->set_value(v);
  }
}

template <typename M>
void RandomDetails(SimRng& rng, size_t who, M* m) {
  m->set_endpoint(rng.chance(3) ? "ftp://p" + std::to_string(who) + ".example.com"
                                : "https://p" + std::to_string(who) + ".example.com:8443");
  auto* loc = m->mutable_location();
  loc->set_lat_e6(static_cast<int64_t>(rng.below(2 * kMaxLatE6 + 1)) - kMaxLatE6);
  loc->set_lon_e6(static_cast<int64_t>(rng.below(2 * kMaxLonE6 + 1)) - kMaxLonE6);
  if (rng.chance(50)) loc->set_cell("881f1d4a7ffffff");
  m->set_region(rng.chance(3) ? "EU West" : Pick(rng, kRegions));
  RandomAttributes(rng, m->mutable_attributes(), 0);
  auto* r = m->mutable_resources();
  r->set_cpu_millicores(1000 * (1 + rng.below(64)));
  r->set_memory_mib(1024 * (1 + rng.below(256)));
  r->set_bandwidth_mbps(100 * (1 + rng.below(100)));
  for (uint64_t i = 0, n = rng.below(3); i < n; ++i) {
    auto* g = r->add_gpus();
    g->set_vendor(rng.chance(70) ? "nvidia" : "amd");
    g->set_model(Pick(rng, kGpuModels));
    g->set_count(static_cast<uint32_t>(rng.chance(3) ? 0 : 1 + rng.below(8)));
    g->set_vram_mib(1024 * (16 + rng.below(80)));
  }
  if (rng.chance(60)) {
    auto* s = r->add_storage();
    s->set_storage_class(rng.chance(50) ? "ssd" : "nvme");
    s->set_size_mib(1024 * (1 + rng.below(4096)));
  }
}

void SetCoin(depai::tx::v1::Coin* c, const char* denom, uint64_t amount) {
  c->set_denom(denom);
  c->set_amount(std::to_string(amount));
}

struct SimAudit {
  size_t auditor;
  std::string provider;  // bech32
  std::vector<std::string> keys;
};
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.empty()) return std::nullopt;
  auto& rng = sim.rng;
  const auto& accs = sim.accounts;
  // What is registered and attested among the test's accounts. A state that does not read (a
  // fault) generates nothing: the next block surfaces the fault.
  std::map<Bytes, size_t> index;
  for (size_t i = 0; i < accs.size(); ++i) index.emplace(accs[i].addr, i);
  std::vector<size_t> registered;
  auto st = keeper_.for_each_provider(sim.state, [&](std::string_view owner, const Provider&) {
    auto it = index.find(Bytes(owner));
    if (it != index.end()) registered.push_back(it->second);
    return true;
  });
  if (!st.ok()) return std::nullopt;
  std::vector<SimAudit> audits;
  st = keeper_.for_each_audit(sim.state, [&](const AuditedAttributes& a) {
    auto auditor = crypto::AddressFromBech32(a.auditor());
    if (!auditor.ok()) return true;
    auto it = index.find(*auditor);
    if (it == index.end()) return true;
    SimAudit sa{it->second, a.provider(), {}};
    for (const auto& attr : a.attributes()) sa.keys.push_back(attr.key());
    audits.push_back(std::move(sa));
    return true;
  });
  if (!st.ok()) return std::nullopt;
  auto params = keeper_.params(sim.state);
  if (!params.ok()) return std::nullopt;
  const auto min_amount = Amount::Parse(params->min_collateral());
  const uint64_t min = min_amount.ok() ? min_amount->raw() : kDefaultMinCollateral;

  auto any_account = [&] { return static_cast<size_t>(rng.below(accs.size())); };
  // Mostly a registered owner; otherwise (or when none is) any account.
  auto owner = [&] {
    return !registered.empty() && rng.chance(90) ? registered[rng.below(registered.size())] : any_account();
  };

  const uint64_t kind = rng.below(100);
  if (kind < 30) {  // register
    const size_t who = any_account();
    pv::MsgRegisterProvider m;
    m.set_owner(accs[who].bech32);
    RandomDetails(rng, who, &m);
    const uint64_t c = rng.below(20);
    const uint64_t amount = c == 0   ? 1 + rng.below(min > 1 ? min - 1 : 1)  // below the minimum
                            : c == 1 ? 4'000'000'000 + rng.below(1'000'000)  // more than the balance
                                     : min + rng.below(5'000'000);
    SetCoin(m.mutable_collateral(), c == 2 ? "ucredit" : kBondDenom, amount);
    return SimMsg{who, PackAny(kTypeRegister, m)};
  }
  if (kind < 45) {  // update
    const size_t who = owner();
    pv::MsgUpdateProvider m;
    m.set_owner(accs[who].bech32);
    RandomDetails(rng, who, &m);
    if (rng.chance(40)) SetCoin(m.mutable_collateral_add(), kBondDenom, 1 + rng.below(2'000'000));
    return SimMsg{who, PackAny(kTypeUpdate, m)};
  }
  if (kind < 65) {  // heartbeat
    const size_t who = owner();
    pv::MsgProviderHeartbeat m;
    m.set_owner(accs[who].bech32);
    return SimMsg{who, PackAny(kTypeHeartbeat, m)};
  }
  if (kind < 80) {  // sign attributes
    const size_t auditor = any_account();
    pv::MsgSignProviderAttributes m;
    m.set_auditor(accs[auditor].bech32);
    m.set_provider(accs[owner()].bech32);
    RandomAttributes(rng, m.mutable_attributes(), rng.chance(3) ? 0 : 1);
    return SimMsg{auditor, PackAny(kTypeSign, m)};
  }
  if (kind < 90) {  // delete attributes
    pv::MsgDeleteProviderAttributes m;
    size_t auditor;
    if (!audits.empty() && rng.chance(90)) {
      const auto& a = audits[rng.below(audits.size())];
      auditor = a.auditor;
      m.set_provider(a.provider);
      if (!rng.chance(25))  // otherwise: all keys
        for (const auto& k : a.keys)
          if (rng.chance(50)) m.add_keys(k);
      if (rng.chance(10)) m.add_keys("never-signed");
    } else {
      auditor = any_account();
      m.set_provider(accs[owner()].bech32);
    }
    m.set_auditor(accs[auditor].bech32);
    return SimMsg{auditor, PackAny(kTypeDelete, m)};
  }
  const size_t who = owner();  // deregister
  pv::MsgDeregisterProvider m;
  m.set_owner(accs[who].bech32);
  return SimMsg{who, PackAny(kTypeDeregister, m)};
}

}  // namespace depai::x::provider
