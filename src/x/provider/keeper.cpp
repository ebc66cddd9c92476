#include "x/provider/keeper.h"

#include <algorithm>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/types/codec.h"

namespace depai::x::provider {

namespace {
constexpr std::string_view kProviderPrefix = "provider/p/";
constexpr std::string_view kAuditPrefix = "provider/audit/";
constexpr std::string_view kUnbondPrefix = "provider/unbond/";
constexpr std::string_view kParamsKey = "provider/params";

std::string ProviderKey(std::string_view addr) { return std::string(kProviderPrefix) + std::string(addr); }
std::string AuditKey(std::string_view provider, std::string_view auditor) {
  return std::string(kAuditPrefix) + std::string(provider) + std::string(auditor);
}
std::string UnbondKey(int64_t completion_height, std::string_view owner) {
  std::string k(kUnbondPrefix);
  PutU64BE(k, static_cast<uint64_t>(completion_height));
  k.append(owner);
  return k;
}

template <typename M>
std::optional<M> ParseValue(const std::optional<Bytes>& v) {
  if (!v) return std::nullopt;
  M m;
  if (!m.ParseFromString(*v)) return std::nullopt;
  return m;
}

// Amounts in state were validated when written; a malformed one reads as zero (and then fails
// the bond invariant).
Amount AmountOr0(const std::string& s) {
  auto a = Amount::Parse(s);
  return a.ok() ? a.value() : Amount();
}

Coins BondCoins(Amount a) {
  auto c = Coins::From({Coin{kBondDenom, a}});
  return c.ok() ? c.value() : Coins();
}
}  // namespace

const Bytes& BondAddress() {
  static const Bytes addr = crypto::Sha256("module:provider_bond").substr(0, 20);
  return addr;
}

Params DefaultParams() {
  Params p;
  p.set_min_collateral(std::to_string(kDefaultMinCollateral));
  p.set_unbonding_blocks(kDefaultUnbondingBlocks);
  p.set_heartbeat_window(kDefaultHeartbeatWindow);
  return p;
}

Status ValidateParams(const Params& p) {
  auto a = Amount::Parse(p.min_collateral());
  if (!a.ok() || a->is_zero())
    return ProviderErr(kErrInvalidParams, "min_collateral must be a positive amount, got '" + p.min_collateral() + "'");
  if (p.unbonding_blocks() < 0)
    return ProviderErr(kErrInvalidParams, "unbonding_blocks must be >= 0, got " + std::to_string(p.unbonding_blocks()));
  if (p.heartbeat_window() < 1)
    return ProviderErr(kErrInvalidParams, "heartbeat_window must be >= 1, got " + std::to_string(p.heartbeat_window()));
  return {};
}

Params Keeper::params(const store::KVReader& s) const {
  auto p = ParseValue<Params>(s.get(kParamsKey));
  return p ? *p : DefaultParams();
}

void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(kParamsKey, DeterministicSerialize(p)); }

std::optional<Provider> Keeper::get(const store::KVReader& s, std::string_view addr) const {
  return ParseValue<Provider>(s.get(ProviderKey(addr)));
}

void Keeper::set(store::KVStore& s, std::string_view addr, const Provider& p) const {
  s.set(ProviderKey(addr), DeterministicSerialize(p));
}

void Keeper::remove(store::KVStore& s, std::string_view addr) const { s.del(ProviderKey(addr)); }

std::vector<Provider> Keeper::providers(const store::KVReader& s) const {
  std::vector<Provider> out;
  s.iterate(kProviderPrefix, store::PrefixEnd(kProviderPrefix), [&](std::string_view, std::string_view v) {
    Provider p;
    if (p.ParseFromArray(v.data(), static_cast<int>(v.size()))) out.push_back(std::move(p));
    return true;
  });
  return out;
}

std::vector<AuditedAttributes> Keeper::audits(const store::KVReader& s, std::string_view provider) const {
  std::string prefix = std::string(kAuditPrefix) + std::string(provider);
  std::vector<AuditedAttributes> out;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
    AuditedAttributes a;
    if (a.ParseFromArray(v.data(), static_cast<int>(v.size()))) out.push_back(std::move(a));
    return true;
  });
  return out;
}

std::vector<AuditedAttributes> Keeper::all_audits(const store::KVReader& s) const {
  std::vector<AuditedAttributes> out;
  s.iterate(kAuditPrefix, store::PrefixEnd(kAuditPrefix), [&](std::string_view, std::string_view v) {
    AuditedAttributes a;
    if (a.ParseFromArray(v.data(), static_cast<int>(v.size()))) out.push_back(std::move(a));
    return true;
  });
  return out;
}

std::optional<AuditedAttributes> Keeper::audit(const store::KVReader& s, std::string_view provider,
                                               std::string_view auditor) const {
  return ParseValue<AuditedAttributes>(s.get(AuditKey(provider, auditor)));
}

void Keeper::set_audit(store::KVStore& s, std::string_view provider, std::string_view auditor,
                       const AuditedAttributes& a) const {
  s.set(AuditKey(provider, auditor), DeterministicSerialize(a));
}

void Keeper::delete_audit(store::KVStore& s, std::string_view provider, std::string_view auditor) const {
  s.del(AuditKey(provider, auditor));
}

uint32_t Keeper::UptimeBps(const Provider& p, int64_t height, int64_t heartbeat_window) {
  if (heartbeat_window < 1 || height < p.registered_height()) return 0;
  const int64_t windows = height / heartbeat_window - p.registered_height() / heartbeat_window + 1;
  if (windows <= 0) return 0;
  // heartbeat_windows <= windows in any reachable state; 128 bits keep a corrupt value harmless.
  unsigned __int128 bps =
      static_cast<unsigned __int128>(p.heartbeat_windows()) * kMaxUptimeBps / static_cast<uint64_t>(windows);
  return bps >= kMaxUptimeBps ? kMaxUptimeBps : static_cast<uint32_t>(bps);
}

uint32_t Keeper::uptime_bps(const store::KVReader& s, const Provider& p, int64_t height) const {
  return UptimeBps(p, height, params(s).heartbeat_window());
}

void Keeper::add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const {
  auto p = get(s, addr);
  if (!p) return;
  const uint64_t cur = p->active_leases();
  uint64_t next;
  if (delta >= 0) {
    const uint64_t d = static_cast<uint64_t>(delta);
    next = cur > UINT64_MAX - d ? UINT64_MAX : cur + d;
  } else {
    const uint64_t d = static_cast<uint64_t>(-(delta + 1)) + 1;  // |delta| without overflow
    next = cur > d ? cur - d : 0;
  }
  p->set_active_leases(next);
  set(s, addr, *p);
}

Status Keeper::bond(Context& ctx, std::string_view owner, Amount amount) const {
  if (amount.is_zero()) return {};
  if (!bank_) return ProviderErr(kErrBondInvariant, "provider keeper has no bank");
  return bank_->send(ctx, owner, BondAddress(), BondCoins(amount));
}

Status Keeper::add_unbonding(store::KVStore& s, std::string_view owner, Amount amount,
                             int64_t completion_height) const {
  const std::string key = UnbondKey(completion_height, owner);
  UnbondingEntry e;
  if (auto old = ParseValue<UnbondingEntry>(s.get(key))) {
    auto sum = AmountOr0(old->amount()).add(amount);
    if (!sum.ok()) return RootErr(kErrOverflow, "unbonding amount overflows");
    amount = sum.value();
  }
  e.set_owner(crypto::AddressToBech32(owner));
  e.set_amount(amount.str());
  e.set_completion_height(completion_height);
  s.set(key, DeterministicSerialize(e));
  return {};
}

std::vector<UnbondingEntry> Keeper::unbonding(const store::KVReader& s) const {
  std::vector<UnbondingEntry> out;
  s.iterate(kUnbondPrefix, store::PrefixEnd(kUnbondPrefix), [&](std::string_view, std::string_view v) {
    UnbondingEntry e;
    if (e.ParseFromArray(v.data(), static_cast<int>(v.size()))) out.push_back(std::move(e));
    return true;
  });
  return out;
}

Status Keeper::end_block(Context& ctx) const {
  const int64_t h = ctx.header->height;
  if (h < 0 || !bank_) return {};
  // Due entries are exactly the keys in [prefix, prefix + BE(h + 1)): the scan stops at the first
  // entry that is not due, so the cost is the number of due entries (plus one).
  std::vector<std::pair<std::string, UnbondingEntry>> due;
  ctx.store->iterate(kUnbondPrefix, UnbondKey(h + 1, ""), [&](std::string_view k, std::string_view v) {
    UnbondingEntry e;
    e.ParseFromArray(v.data(), static_cast<int>(v.size()));
    due.emplace_back(std::string(k), std::move(e));
    return true;
  });
  for (const auto& [key, e] : due) {
    std::string_view owner = std::string_view(key).substr(kUnbondPrefix.size() + 8);
    Amount amount = AmountOr0(e.amount());
    auto st = bank_->send(ctx, BondAddress(), owner, BondCoins(amount));
    if (!st.ok()) return Fault(kFaultInvariant, "provider unbonding payout failed: " + st.error().message);
    ctx.store->del(key);
    if (ctx.events)
      ctx.events->emit("provider.unbonded", {{"owner", e.owner()}, {"amount", amount.str() + kBondDenom}});
  }
  return {};
}

Status Keeper::check_bond_full(const store::KVReader& s) const {
  unsigned __int128 sum = 0;
  s.iterate(kProviderPrefix, store::PrefixEnd(kProviderPrefix), [&](std::string_view, std::string_view v) {
    Provider p;
    p.ParseFromArray(v.data(), static_cast<int>(v.size()));
    sum += AmountOr0(p.collateral()).raw();
    return true;
  });
  s.iterate(kUnbondPrefix, store::PrefixEnd(kUnbondPrefix), [&](std::string_view, std::string_view v) {
    UnbondingEntry e;
    e.ParseFromArray(v.data(), static_cast<int>(v.size()));
    sum += AmountOr0(e.amount()).raw();
    return true;
  });
  uint64_t bal = 0;
  if (bank_) {
    DEPAI_ASSIGN_OR_RETURN(const Amount b, bank_->balance(s, BondAddress(), kBondDenom));
    bal = b.raw();
  }
  if (sum != bal)
    return ProviderErr(kErrBondInvariant, "bond invariant broken: module:provider_bond holds " + std::to_string(bal) +
                                              kBondDenom + " but collateral + unbonding sum to a different amount");
  return {};
}

Status Keeper::check_bond_block(const store::CacheStore& block, const store::KVReader& committed) const {
  __int128 delta = 0;
  const bool use_originals = block.parent() == &committed;
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
    std::string_view key(k);
    const bool is_provider = key.substr(0, kProviderPrefix.size()) == kProviderPrefix;
    const bool is_unbond = key.substr(0, kUnbondPrefix.size()) == kUnbondPrefix;
    if (!is_provider && !is_unbond) return;
    auto old = use_originals && orig ? *orig : committed.get(k);
    auto amount_of = [&](const std::optional<Bytes>& b) -> __int128 {
      if (!b) return 0;
      if (is_provider) {
        Provider p;
        p.ParseFromString(*b);
        return AmountOr0(p.collateral()).raw();
      }
      UnbondingEntry e;
      e.ParseFromString(*b);
      return AmountOr0(e.amount()).raw();
    };
    delta += amount_of(v) - amount_of(old);
  });
  if (!bank_) return {};
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_block, bank_->balance(block, BondAddress(), kBondDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount bond_committed, bank_->balance(committed, BondAddress(), kBondDenom));
  const __int128 bal_delta = static_cast<__int128>(bond_block.raw()) - static_cast<__int128>(bond_committed.raw());
  if (bal_delta != delta)
    return ProviderErr(kErrBondInvariant,
                       "bond invariant broken in block: module:provider_bond balance changed by a different amount "
                       "than collateral + unbonding");
  return {};
}

}  // namespace depai::x::provider
