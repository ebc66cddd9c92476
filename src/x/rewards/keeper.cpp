#include "x/rewards/keeper.h"

#include <vector>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/rewards/keys.h"
#include "x/types/codec.h"

namespace depai::x::rewards {

namespace {
using U128 = unsigned __int128;
constexpr const char* kUdpai = "udpai";
constexpr const char* kUcredit = "ucredit";

const Bytes& ModuleAddr(const char* name, Bytes* slot) {
  if (slot->empty()) *slot = crypto::Sha256(std::string("module:") + name).substr(0, 20);
  return *slot;
}

Result<Amount> Field(const std::string& v, const char* what) {
  if (v.empty()) return Amount();
  return DecodeAmountField(v, what);
}

Result<Amount> Sum(Amount a, Amount b, const char* what) {
  auto r = a.add(b);
  if (!r.ok()) return Fault(kFaultInternal, std::string("rewards: ") + what + " overflows");
  return r;
}

Amount Sub0(Amount a, Amount b) { return b < a ? a.sub(b).value() : Amount(); }

std::string Signed(Amount end, Amount start) {
  return end >= start ? end.sub(start).value().str() : "-" + start.sub(end).value().str();
}
}  // namespace

const Bytes& PendingAddress() {
  static Bytes a;
  return ModuleAddr("rewards_pending", &a);
}
const Bytes& ValidatorPoolAddress() {
  static Bytes a;
  return ModuleAddr("validator_pool", &a);
}
const Bytes& CheckerPoolAddress() {
  static Bytes a;
  return ModuleAddr("checker_pool", &a);
}
const Bytes& TreasuryAddress() {
  static Bytes a;
  return ModuleAddr("treasury", &a);
}

Params DefaultParams() {
  Params p;
  // 600 one-second blocks: a 10-minute epoch, the cadence of x/verify's default epochs x 5.
  p.set_epoch_blocks(600);
  p.set_work_bps(5000);
  p.set_availability_bps(2500);
  p.set_checkers_bps(1000);
  p.set_validators_bps(1000);
  p.set_treasury_bps(500);
  return p;
}

Status ValidateParams(const Params& p) {
  auto bad = [](const std::string& m) { return RootErr(kErrInvalidGenesis, "rewards params: " + m); };
  if (p.epoch_blocks() <= 0) return bad("epoch_blocks must be > 0");
  const uint64_t sum =
      uint64_t{p.work_bps()} + p.availability_bps() + p.checkers_bps() + p.validators_bps() + p.treasury_bps();
  if (sum != 10000) return bad("the five shares must sum to 10000 bps, not " + std::to_string(sum));
  return {};
}

Amount ProRata(Amount pool, U128 w, U128 total) {
  if (total == 0 || w == 0) return Amount();
  while (total >> 64) {
    total >>= 1;
    w >>= 1;
  }
  if (total == 0) return Amount();
  const U128 r = static_cast<U128>(pool.raw()) * w / total;  // pool < 2^63, w <= total < 2^64
  return Amount::Of(static_cast<uint64_t>(r)).value();
}

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  return DecodeRecord<Params>(*v, "rewards params");
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<EpochState>> Keeper::state(const store::KVReader& s) const {
  auto v = s.get(keys::kState);
  if (!v) return std::optional<EpochState>();
  DEPAI_ASSIGN_OR_RETURN(auto st, DecodeRecord<EpochState>(*v, "rewards epoch state"));
  return std::optional<EpochState>(std::move(st));
}
void Keeper::set_state(store::KVStore& s, const EpochState& st) const {
  s.set(keys::kState, DeterministicSerialize(st));
}

Result<std::optional<EpochRecord>> Keeper::epoch(const store::KVReader& s, uint64_t e) const {
  auto v = s.get(keys::Epoch(e));
  if (!v) return std::optional<EpochRecord>();
  DEPAI_ASSIGN_OR_RETURN(auto r, DecodeRecord<EpochRecord>(*v, "epoch record"));
  return std::optional<EpochRecord>(std::move(r));
}

Status Keeper::for_each_epoch(const store::KVReader& s, const EpochFn& fn) const {
  return ForEachRecord(
      s, keys::kEpochPrefix, [](std::string_view v) { return DecodeRecord<EpochRecord>(v, "epoch record"); },
      [&](std::string_view, const EpochRecord& r) { return fn(r); });
}

Result<std::optional<ProviderRewards>> Keeper::provider_rewards(const store::KVReader& s, std::string_view p20) const {
  auto v = s.get(keys::Prov(p20));
  if (!v) return std::optional<ProviderRewards>();
  DEPAI_ASSIGN_OR_RETURN(auto r, DecodeRecord<ProviderRewards>(*v, "provider rewards"));
  return std::optional<ProviderRewards>(std::move(r));
}

Status Keeper::for_each_provider_rewards(const store::KVReader& s, const ProviderRewardsFn& fn) const {
  return ForEachRecord(
      s, keys::kProvPrefix, [](std::string_view v) { return DecodeRecord<ProviderRewards>(v, "provider rewards"); },
      [&](std::string_view, const ProviderRewards& r) { return fn(r); });
}

Result<Amount> Keeper::work(const store::KVReader& s, std::string_view p20) const {
  auto v = s.get(keys::Work(p20));
  if (!v) return Amount();
  DEPAI_ASSIGN_OR_RETURN(uint64_t raw, DecodeU64Record(*v, "provider work"));
  auto a = Amount::Of(raw);
  if (!a.ok()) return Fault(kFaultCorruptRecord, "stored provider work exceeds the maximum amount");
  return a;
}

Status Keeper::for_each_work(const store::KVReader& s, const WorkFn& fn) const {
  Status st;
  const std::string end = store::PrefixEnd(keys::kWorkPrefix);
  s.iterate(keys::kWorkPrefix, end, [&](std::string_view k, std::string_view v) {
    if (k.size() != keys::kWorkPrefix.size() + 20) {
      st = Fault(kFaultCorruptRecord, "malformed rewards work key");
      return false;
    }
    auto raw = DecodeU64Record(v, "provider work");
    if (!raw.ok()) {
      st = raw.error();
      return false;
    }
    auto a = Amount::Of(*raw);
    if (!a.ok()) {
      st = Fault(kFaultCorruptRecord, "stored provider work exceeds the maximum amount");
      return false;
    }
    return fn(k.substr(keys::kWorkPrefix.size()), *a);
  });
  return st;
}

Status Keeper::for_each_buyer(const store::KVReader& s, const std::function<bool(std::string_view)>& fn) const {
  const std::string end = store::PrefixEnd(keys::kBuyerPrefix);
  s.iterate(keys::kBuyerPrefix, end,
            [&](std::string_view k, std::string_view) { return fn(k.substr(keys::kBuyerPrefix.size())); });
  return {};
}

Status Keeper::start(Context& ctx, uint64_t epoch, int64_t height) const {
  auto& s = *ctx.store;
  EpochState st;
  st.set_epoch(epoch);
  st.set_start_height(height);
  DEPAI_ASSIGN_OR_RETURN(Amount mm, k_.mint->minted_total(s));
  DEPAI_ASSIGN_OR_RETURN(Amount um, k_.bank->minted_total(s, kUdpai));
  DEPAI_ASSIGN_OR_RETURN(Amount ub, k_.bank->burned_total(s, kUdpai));
  DEPAI_ASSIGN_OR_RETURN(Amount cm, k_.bank->minted_total(s, kUcredit));
  DEPAI_ASSIGN_OR_RETURN(Amount cb, k_.bank->burned_total(s, kUcredit));
  DEPAI_ASSIGN_OR_RETURN(Amount sup, k_.bank->supply(s, kUdpai));
  st.set_mint_minted_at_start(mm.str());
  st.set_udpai_minted_at_start(um.str());
  st.set_udpai_burned_at_start(ub.str());
  st.set_ucredit_minted_at_start(cm.str());
  st.set_ucredit_burned_at_start(cb.str());
  st.set_udpai_supply_at_start(sup.str());
  st.set_revenue_udpai("0");
  st.set_revenue_ucredit("0");
  st.set_revenue_uusd("0");
  set_state(s, st);
  return {};
}

Result<x::PriceInfo> Keeper::price_now(const Context& ctx) const {
  if (!k_.oracle) return x::PriceInfo{};
  return k_.oracle->price_info(*ctx.store, ctx.header->height, ctx.header->time_unix_ms);
}

Status Keeper::on_paid(Context& ctx, std::string_view buyer20, std::string_view provider20, uint64_t lease_id,
                       const Coin& to_provider, const Coin& take, bool burned) const {
  auto& s = *ctx.store;
  if (to_provider.denom != take.denom && !take.amount.is_zero() && !to_provider.amount.is_zero())
    return Fault(kFaultInternal, "rewards: a lease payment in two denoms");
  const std::string& denom = to_provider.amount.is_zero() ? take.denom : to_provider.denom;
  DEPAI_ASSIGN_OR_RETURN(Amount paid, Sum(to_provider.amount, take.amount, "lease payment"));
  if (paid.is_zero()) return {};
  DEPAI_ASSIGN_OR_RETURN(auto cur, state(s));
  if (!cur) return Fault(kFaultInternal, "rewards: no running epoch");
  EpochState& st = *cur;
  Amount uusd;
  if (denom == kUcredit) {
    uusd = paid;
    DEPAI_ASSIGN_OR_RETURN(Amount r, Field(st.revenue_ucredit(), "revenue_ucredit"));
    DEPAI_ASSIGN_OR_RETURN(Amount n, Sum(r, paid, "revenue_ucredit"));
    st.set_revenue_ucredit(n.str());
  } else if (denom == kUdpai) {
    DEPAI_ASSIGN_OR_RETURN(x::PriceInfo price, price_now(ctx));
    auto v = x::UsdValue(paid, price.price_e9);
    uusd = v.ok() ? *v : Amount::Of(Amount::kMax).value();
    DEPAI_ASSIGN_OR_RETURN(Amount r, Field(st.revenue_udpai(), "revenue_udpai"));
    DEPAI_ASSIGN_OR_RETURN(Amount n, Sum(r, paid, "revenue_udpai"));
    st.set_revenue_udpai(n.str());
  } else {
    return Fault(kFaultInternal, "rewards: a lease paid in unknown denom " + denom);
  }
  DEPAI_ASSIGN_OR_RETURN(Amount ru, Field(st.revenue_uusd(), "revenue_uusd"));
  DEPAI_ASSIGN_OR_RETURN(Amount nru, Sum(ru, uusd, "revenue_uusd"));
  st.set_revenue_uusd(nru.str());
  DEPAI_ASSIGN_OR_RETURN(Amount w, work(s, provider20));
  DEPAI_ASSIGN_OR_RETURN(Amount nw, Sum(w, uusd, "provider work"));
  s.set(keys::Work(provider20), U64BE(nw.raw()));
  if (!s.get(keys::Buyer(buyer20))) {
    s.set(keys::Buyer(buyer20), "");
    st.set_paying_buyers(st.paying_buyers() + 1);
  }
  set_state(s, st);
  if (ctx.events)
    ctx.events->emit("rewards.work_recorded", {{"provider", crypto::AddressToBech32(provider20)},
                                               {"lease_id", std::to_string(lease_id)},
                                               {"paid", paid.str() + denom},
                                               {"uusd", uusd.str()},
                                               {"burned", burned ? "true" : "false"}});
  return {};
}

Status Keeper::end_block(Context& ctx) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto cur, state(s));
  if (!cur) return Fault(kFaultInternal, "rewards: no running epoch");
  const int64_t h = ctx.header->height;
  if (h - cur->start_height() + 1 < p.epoch_blocks()) return {};
  DEPAI_TRY(distribute(ctx, p, *cur));
  return start(ctx, cur->epoch() + 1, h + 1);
}

Status Keeper::distribute(Context& ctx, const Params& p, EpochState& st) const {
  auto& s = *ctx.store;
  const int64_t from = st.start_height(), to = ctx.header->height;
  EpochRecord rec;
  rec.set_epoch(st.epoch());
  rec.set_start_height(from);
  rec.set_end_height(to);
  rec.set_end_time_ms(ctx.header->time_unix_ms);

  // The pool: everything in rewards_pending (this epoch's emissions + what earlier epochs carried).
  DEPAI_ASSIGN_OR_RETURN(Amount pool, k_.bank->balance(s, PendingAddress(), kUdpai));
  DEPAI_ASSIGN_OR_RETURN(Amount minted_now, k_.mint->minted_total(s));
  DEPAI_ASSIGN_OR_RETURN(Amount minted_start, Field(st.mint_minted_at_start(), "mint_minted_at_start"));
  const Amount emissions = Sub0(minted_now, minted_start);
  rec.set_emissions(emissions.str());
  rec.set_carried_in(Sub0(pool, emissions).str());
  rec.set_pool(pool.str());
  auto share = [&](uint32_t bps) { return pool.mul_div(bps, 10000).value(); };
  const Amount work_pool = share(p.work_bps()), avail_pool = share(p.availability_bps());
  const Amount checkers = share(p.checkers_bps()), validators = share(p.validators_bps());
  const Amount treasury = share(p.treasury_bps());

  // One walk over the registered providers (address order), merged with the work entries
  // (also address order); x/verify's standing is looked up once per provider.
  struct Row {
    Bytes provider;
    Amount work_uusd;
    U128 capacity = 0;
    Amount work_paid, avail_paid;
  };
  std::vector<Row> rows;  // providers with work or verified capacity, in address order
  uint64_t failed = 0;
  // Work: every provider with billed work this epoch.
  std::vector<std::pair<Bytes, Amount>> works;
  DEPAI_TRY(for_each_work(s, [&](std::string_view p20, Amount uusd) {
    works.emplace_back(Bytes(p20), uusd);
    return true;
  }));
  // Availability and utilization: every registered provider.
  U128 work_total = 0, cap_total = 0;
  U128 ver_cpu = 0, ver_mem = 0, ver_gpu = 0, leased_cpu = 0, leased_mem = 0, leased_gpu = 0;
  size_t wi = 0;
  Status walk;
  DEPAI_TRY(k_.providers->for_each(s, [&](std::string_view addr, const depai::provider::v1::Provider& pr) {
    auto sd = k_.verify->standing(s, addr, from, to);
    if (!sd.ok()) {
      walk = sd.error();
      return false;
    }
    Row r;
    r.provider = Bytes(addr);
    while (wi < works.size() && works[wi].first < r.provider) ++wi;  // work of unregistered providers: none
    if (wi < works.size() && works[wi].first == r.provider) r.work_uusd = works[wi].second;
    if (sd->failed) {
      if (!r.work_uusd.is_zero() || sd->verified_ops_per_ms > 0) ++failed;
      return true;
    }
    if (sd->verified_ops_per_ms > 0) {
      const uint32_t up = sd->liveness_probes == 0 ? 0 : sd->liveness_passes * 10000u / sd->liveness_probes;
      r.capacity = static_cast<U128>(sd->verified_ops_per_ms) * up;
      const auto& res = pr.resources();
      ver_cpu += res.cpu_millicores();
      ver_mem += res.memory_mib();
      for (const auto& g : res.gpus()) ver_gpu += g.count();
      if (pr.active_leases() > 0) {
        auto l = k_.market->leased(s, addr);
        if (!l.ok()) {
          walk = l.error();
          return false;
        }
        leased_cpu += l->cpu_millicores;
        leased_mem += l->memory_mib;
        leased_gpu += l->gpus;
      }
    }
    if (r.work_uusd.is_zero() && r.capacity == 0) return true;
    work_total += r.work_uusd.raw();
    cap_total += r.capacity;
    rows.push_back(std::move(r));
    return true;
  }));
  DEPAI_TRY(walk);

  Amount paid_work, paid_avail;
  uint64_t rewarded = 0;
  for (auto& r : rows) {
    r.work_paid = ProRata(work_pool, r.work_uusd.raw(), work_total);
    r.avail_paid = ProRata(avail_pool, r.capacity, cap_total);
    DEPAI_ASSIGN_OR_RETURN(Amount both, Sum(r.work_paid, r.avail_paid, "provider reward"));
    if (both.is_zero()) continue;
    DEPAI_ASSIGN_OR_RETURN(Coins c, Coins::From({Coin{kUdpai, both}}));
    DEPAI_TRY(k_.bank->send(ctx, PendingAddress(), r.provider, c));
    DEPAI_ASSIGN_OR_RETURN(paid_work, Sum(paid_work, r.work_paid, "work rewards"));
    DEPAI_ASSIGN_OR_RETURN(paid_avail, Sum(paid_avail, r.avail_paid, "availability rewards"));
    ++rewarded;
    DEPAI_ASSIGN_OR_RETURN(auto prev, provider_rewards(s, r.provider));
    ProviderRewards pr;
    pr.set_provider(crypto::AddressToBech32(r.provider));
    pr.set_epoch(st.epoch());
    pr.set_work_uusd(r.work_uusd.str());
    pr.set_work(r.work_paid.str());
    pr.set_availability(r.avail_paid.str());
    pr.set_capacity_weight(static_cast<uint64_t>(r.capacity));
    DEPAI_ASSIGN_OR_RETURN(Amount total, Field(prev ? prev->total() : "", "provider rewards total"));
    DEPAI_ASSIGN_OR_RETURN(Amount nt, Sum(total, both, "provider rewards total"));
    pr.set_total(nt.str());
    s.set(keys::Prov(r.provider), DeterministicSerialize(pr));
    if (ctx.events)
      ctx.events->emit("rewards.paid", {{"provider", pr.provider()},
                                        {"epoch", std::to_string(st.epoch())},
                                        {"work", r.work_paid.str()},
                                        {"availability", r.avail_paid.str()}});
  }
  auto pay = [&](const Bytes& to, Amount a) -> Status {
    if (a.is_zero()) return {};
    DEPAI_ASSIGN_OR_RETURN(Coins c, Coins::From({Coin{kUdpai, a}}));
    return k_.bank->send(ctx, PendingAddress(), to, c);
  };
  DEPAI_TRY(pay(CheckerPoolAddress(), checkers));
  DEPAI_TRY(pay(ValidatorPoolAddress(), validators));
  DEPAI_TRY(pay(TreasuryAddress(), treasury));
  rec.set_work_rewards(paid_work.str());
  rec.set_availability_rewards(paid_avail.str());
  rec.set_checker_rewards(checkers.str());
  rec.set_validator_rewards(validators.str());
  rec.set_treasury_rewards(treasury.str());
  DEPAI_ASSIGN_OR_RETURN(Amount left, k_.bank->balance(s, PendingAddress(), kUdpai));
  rec.set_carried_out(left.str());

  // Revenue quality.
  DEPAI_ASSIGN_OR_RETURN(x::PriceInfo price, price_now(ctx));
  rec.set_price_e9(price.price_e9);
  rec.set_price_available(price.available);
  rec.set_revenue_udpai(st.revenue_udpai().empty() ? "0" : st.revenue_udpai());
  rec.set_revenue_ucredit(st.revenue_ucredit().empty() ? "0" : st.revenue_ucredit());
  rec.set_revenue_uusd(st.revenue_uusd().empty() ? "0" : st.revenue_uusd());
  auto subsidy = x::UsdValue(emissions, price.price_e9);
  const Amount subsidy_uusd = subsidy.ok() ? *subsidy : Amount::Of(Amount::kMax).value();
  rec.set_subsidy_uusd(subsidy_uusd.str());
  DEPAI_ASSIGN_OR_RETURN(Amount rev_uusd, Field(rec.revenue_uusd(), "revenue_uusd"));
  if (!subsidy_uusd.is_zero()) {
    const U128 ratio = static_cast<U128>(rev_uusd.raw()) * x::kPriceScale / subsidy_uusd.raw();
    rec.set_revenue_to_subsidy_e9(ratio > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(ratio));
  }
  auto util = [&](const char* kind, U128 leased, U128 verified) {
    auto* u = rec.add_utilization();
    u->set_kind(kind);
    u->set_leased(std::to_string(static_cast<uint64_t>(leased)));
    u->set_verified(std::to_string(static_cast<uint64_t>(verified)));
    u->set_bps(verified == 0 ? 0 : static_cast<uint32_t>(leased >= verified ? 10000 : leased * 10000 / verified));
  };
  util("cpu_millicores", leased_cpu, ver_cpu);
  util("memory_mib", leased_mem, ver_mem);
  util("gpus", leased_gpu, ver_gpu);
  DEPAI_ASSIGN_OR_RETURN(Amount um, k_.bank->minted_total(s, kUdpai));
  DEPAI_ASSIGN_OR_RETURN(Amount ub, k_.bank->burned_total(s, kUdpai));
  DEPAI_ASSIGN_OR_RETURN(Amount cm, k_.bank->minted_total(s, kUcredit));
  DEPAI_ASSIGN_OR_RETURN(Amount cb, k_.bank->burned_total(s, kUcredit));
  DEPAI_ASSIGN_OR_RETURN(Amount um0, Field(st.udpai_minted_at_start(), "udpai_minted_at_start"));
  DEPAI_ASSIGN_OR_RETURN(Amount ub0, Field(st.udpai_burned_at_start(), "udpai_burned_at_start"));
  DEPAI_ASSIGN_OR_RETURN(Amount cm0, Field(st.ucredit_minted_at_start(), "ucredit_minted_at_start"));
  DEPAI_ASSIGN_OR_RETURN(Amount cb0, Field(st.ucredit_burned_at_start(), "ucredit_burned_at_start"));
  rec.set_minted_udpai(Sub0(um, um0).str());
  rec.set_burned_udpai(Sub0(ub, ub0).str());
  rec.set_minted_ucredit(Sub0(cm, cm0).str());
  rec.set_burned_ucredit(Sub0(cb, cb0).str());
  DEPAI_ASSIGN_OR_RETURN(Amount sup0, Field(st.udpai_supply_at_start(), "udpai_supply_at_start"));
  DEPAI_ASSIGN_OR_RETURN(Amount sup1, k_.bank->supply(s, kUdpai));
  rec.set_supply_udpai_start(sup0.str());
  rec.set_supply_udpai_end(sup1.str());
  rec.set_net_supply_change(Signed(sup1, sup0));
  rec.set_paying_buyers(st.paying_buyers());
  rec.set_rewarded_providers(rewarded);
  rec.set_providers_failed(failed);
  s.set(keys::Epoch(st.epoch()), DeterministicSerialize(rec));

  // Clear the epoch's accumulators.
  std::vector<std::string> dead;
  for (const auto& [p20, w] : works) dead.push_back(keys::Work(p20));
  DEPAI_TRY(for_each_buyer(s, [&](std::string_view b) {
    dead.push_back(keys::Buyer(b));
    return true;
  }));
  for (const auto& k : dead) s.del(k);
  if (ctx.events)
    ctx.events->emit("rewards.epoch", {{"epoch", std::to_string(st.epoch())},
                                       {"pool", pool.str()},
                                       {"work", paid_work.str()},
                                       {"availability", paid_avail.str()},
                                       {"carried_out", left.str()},
                                       {"revenue_uusd", rec.revenue_uusd()},
                                       {"subsidy_uusd", rec.subsidy_uusd()}});
  return {};
}

Status Keeper::check_invariants(const store::KVReader& s) const {
  DEPAI_ASSIGN_OR_RETURN(Params p, params(s));
  if (auto st = ValidateParams(p); !st.ok()) return Fault(kFaultInvariant, "stored " + st.error().message);
  DEPAI_ASSIGN_OR_RETURN(auto st, state(s));
  if (st) {
    for (const std::string* f : {&st->revenue_udpai(), &st->revenue_ucredit(), &st->revenue_uusd()})
      DEPAI_TRY(Field(*f, "rewards epoch state amount").status());
  }
  return {};
}

}  // namespace depai::x::rewards
