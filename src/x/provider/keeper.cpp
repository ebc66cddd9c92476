#include "x/provider/keeper.h"

#include <algorithm>
#include <map>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/provider/keys.h"
#include "x/types/codec.h"

namespace depai::x::provider {

namespace {
using keys::kAuditPrefix;
using keys::kProviderPrefix;
using keys::kUnbondPrefix;

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

// The attestation after merging `attrs` into `old` (new values win), in key order.
std::map<std::string, std::string> Merged(const std::optional<AuditedAttributes>& old,
                                          const std::vector<Attribute>& attrs) {
  std::map<std::string, std::string> kv;
  if (old)
    for (const auto& a : old->attributes()) kv[a.key()] = a.value();
  for (const auto& a : attrs) kv[a.key()] = a.value();
  return kv;
}

// The detail fields of a message (as validated into a Provider) onto a provider record.
void CopyDetails(const Provider& details, Provider* p) {
  p->set_endpoint(details.endpoint());
  *p->mutable_location() = details.location();
  p->set_region(details.region());
  *p->mutable_attributes() = details.attributes();
  *p->mutable_resources() = details.resources();
}

Error NotRegistered(const std::string& who) {
  return ProviderErr(kErrNotFound, "provider " + who + " is not registered");
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

// ---- record decoding ------------------------------------------------------------------------

Result<Provider> Keeper::DecodeProvider(std::string_view bytes) {
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<Provider>(bytes, "provider"));
  DEPAI_TRY(DecodeAmountField(p.collateral(), "provider collateral"));
  return p;
}

Result<UnbondingEntry> Keeper::DecodeUnbonding(std::string_view bytes) {
  DEPAI_ASSIGN_OR_RETURN(auto e, DecodeRecord<UnbondingEntry>(bytes, "unbonding entry"));
  DEPAI_TRY(DecodeAmountField(e.amount(), "unbonding amount"));
  return e;
}

Coins Keeper::BondCoins(Amount a) {
  auto c = Coins::From({Coin{kBondDenom, a}});
  return c.ok() ? c.value() : Coins();
}

// ---- views ----------------------------------------------------------------------------------

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<Params>(*v, "provider params"));
  if (auto st = ValidateParams(p); !st.ok())
    return Fault(kFaultCorruptRecord, "stored provider params are out of range: " + st.error().message);
  return p;
}

void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<Provider>> Keeper::get(const store::KVReader& s, std::string_view addr) const {
  auto v = s.get(keys::Provider(addr));
  if (!v) return std::optional<Provider>();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeProvider(*v));
  return std::optional<Provider>(std::move(p));
}

Result<Provider> Keeper::must_get(const store::KVReader& s, std::string_view addr) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(s, addr));
  if (!p)
    return Fault(kFaultInternal, "provider " + crypto::AddressToBech32(addr) + " vanished between check and apply");
  return std::move(*p);
}

void Keeper::set(store::KVStore& s, std::string_view addr, const Provider& p) const {
  s.set(keys::Provider(addr), DeterministicSerialize(p));
}

Status Keeper::for_each_provider(const store::KVReader& s, const ProviderFn& fn) const {
  Status st;
  s.iterate(kProviderPrefix, store::PrefixEnd(kProviderPrefix), [&](std::string_view k, std::string_view v) {
    auto p = DecodeProvider(v);
    if (!p.ok()) {
      st = p.error();
      return false;
    }
    return fn(k.substr(kProviderPrefix.size()), p.value());
  });
  return st;
}

namespace {
Status ForEachAudit(const store::KVReader& s, const std::string& prefix, const Keeper::AuditFn& fn) {
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
    auto a = DecodeRecord<AuditedAttributes>(v, "attestation");
    if (!a.ok()) {
      st = a.error();
      return false;
    }
    return fn(a.value());
  });
  return st;
}
}  // namespace

Status Keeper::for_each_audit(const store::KVReader& s, const AuditFn& fn) const {
  return ForEachAudit(s, std::string(kAuditPrefix), fn);
}

Status Keeper::for_each_audit_of(const store::KVReader& s, std::string_view provider, const AuditFn& fn) const {
  return ForEachAudit(s, keys::AuditsOf(provider), fn);
}

Result<std::vector<AuditedAttributes>> Keeper::audits(const store::KVReader& s, std::string_view provider) const {
  std::vector<AuditedAttributes> out;
  DEPAI_TRY(for_each_audit_of(s, provider, [&](const AuditedAttributes& a) {
    out.push_back(a);
    return true;
  }));
  return out;
}

Result<std::optional<AuditedAttributes>> Keeper::audit(const store::KVReader& s, std::string_view provider,
                                                       std::string_view auditor) const {
  auto v = s.get(keys::Audit(provider, auditor));
  if (!v) return std::optional<AuditedAttributes>();
  DEPAI_ASSIGN_OR_RETURN(auto a, DecodeRecord<AuditedAttributes>(*v, "attestation"));
  return std::optional<AuditedAttributes>(std::move(a));
}

void Keeper::set_audit(store::KVStore& s, std::string_view provider, std::string_view auditor,
                       const AuditedAttributes& a) const {
  s.set(keys::Audit(provider, auditor), DeterministicSerialize(a));
}

Status Keeper::for_each_unbonding(const store::KVReader& s, const UnbondingFn& fn) const {
  Status st;
  s.iterate(kUnbondPrefix, store::PrefixEnd(kUnbondPrefix), [&](std::string_view k, std::string_view v) {
    if (k.size() != kUnbondPrefix.size() + 8 + 20) {
      st = Fault(kFaultCorruptRecord, "unbonding key of the wrong length");
      return false;
    }
    auto e = DecodeUnbonding(v);
    if (!e.ok()) {
      st = e.error();
      return false;
    }
    return fn(k.substr(kUnbondPrefix.size() + 8), e.value());
  });
  return st;
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

Result<uint32_t> Keeper::uptime_bps(const store::KVReader& s, const Provider& p, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(auto params, this->params(s));
  return UptimeBps(p, height, params.heartbeat_window());
}

// ---- checks ---------------------------------------------------------------------------------

Status Keeper::check_funds(const store::KVReader& s, std::string_view owner, Amount need) const {
  if (!bank_ || need.is_zero()) return {};
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, owner, kBondDenom));
  if (have < need)
    return RootErr(kErrInsufficientFunds, "insufficient funds: spendable balance " + have.str() + kBondDenom +
                                              " is smaller than collateral " + need.str() + kBondDenom);
  return {};
}

Status Keeper::check_register(const store::KVReader& s, const RegisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto existing, get(s, m.signer));
  if (existing) return ProviderErr(kErrAlreadyRegistered, "provider " + m.owner + " is already registered; use update");
  DEPAI_ASSIGN_OR_RETURN(auto p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto min, DecodeAmountField(p.min_collateral(), "min_collateral"));
  if (m.collateral < min)
    return ProviderErr(kErrCollateralTooLow, "collateral " + m.collateral.str() + kBondDenom +
                                                 " is below the minimum " + min.str() + kBondDenom);
  return check_funds(s, m.signer, m.collateral);
}

Status Keeper::check_update(const store::KVReader& s, const UpdateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto existing, get(s, m.signer));
  if (!existing) return NotRegistered(m.owner);
  return check_funds(s, m.signer, m.collateral_add);
}

Status Keeper::check_deregister(const store::KVReader& s, const DeregisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(s, m.signer));
  if (!p) return NotRegistered(m.owner);
  if (p->active_leases() > 0)
    return ProviderErr(kErrActiveLeases, "provider " + m.owner + " has " + std::to_string(p->active_leases()) +
                                             " active lease(s); close them before deregistering");
  return {};
}

Status Keeper::check_sign_attributes(const store::KVReader& s, const SignParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(s, m.provider));
  if (!p) return NotRegistered(m.provider_bech32);
  DEPAI_ASSIGN_OR_RETURN(auto old, audit(s, m.provider, m.signer));
  const auto kv = Merged(old, m.attributes);
  if (kv.size() > kMaxAttributes)
    return ProviderErr(kErrInvalidAttributes, "the attestation would hold " + std::to_string(kv.size()) +
                                                  " attributes, at most " + std::to_string(kMaxAttributes) +
                                                  " are allowed; delete some first");
  return {};
}

Status Keeper::check_delete_attributes(const store::KVReader& s, const DeleteParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto a, audit(s, m.provider, m.signer));
  if (!a)
    return ProviderErr(kErrAuditNotFound,
                       "auditor " + m.auditor_bech32 + " has no attestation for provider " + m.provider_bech32);
  for (const auto& k : m.keys) {
    bool found = std::any_of(a->attributes().begin(), a->attributes().end(),
                             [&](const Attribute& attr) { return attr.key() == k; });
    if (!found)
      return ProviderErr(kErrAuditNotFound, "auditor " + m.auditor_bech32 + " has not signed attribute '" + k +
                                                "' for provider " + m.provider_bech32);
  }
  return {};
}

Status Keeper::check_heartbeat(const store::KVReader& s, const HeartbeatParsed& m, int64_t height) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(s, m.signer));
  if (!p) return NotRegistered(m.owner);
  DEPAI_ASSIGN_OR_RETURN(auto params, this->params(s));
  const int64_t w = params.heartbeat_window();
  const int64_t window = height / w;
  if (p->heartbeat_windows() > 0 && p->last_heartbeat_height() / w == window)
    return ProviderErr(kErrHeartbeatWindow, "a heartbeat was already counted in window " + std::to_string(window) +
                                                " (height " + std::to_string(p->last_heartbeat_height()) +
                                                "); the next window starts at height " +
                                                std::to_string((window + 1) * w));
  return {};
}

// ---- message writes -------------------------------------------------------------------------

Status Keeper::bond(Context& ctx, std::string_view owner, Amount amount) const {
  if (amount.is_zero()) return {};
  if (!bank_) return Fault(kFaultInternal, "provider keeper has no bank");
  return bank_->send(ctx, owner, BondAddress(), BondCoins(amount));
}

Status Keeper::register_provider(Context& ctx, const RegisterParsed& m) const {
  DEPAI_TRY(bond(ctx, m.signer, m.collateral));
  const int64_t h = ctx.header->height;
  Provider p;
  p.set_owner(crypto::AddressToBech32(m.signer));
  CopyDetails(m.details, &p);
  p.set_collateral(m.collateral.str());
  p.set_registered_height(h);
  // Registering is signed by the provider: it counts as the first heartbeat.
  p.set_heartbeat_windows(1);
  p.set_last_heartbeat_height(h);
  set(*ctx.store, m.signer, p);
  if (ctx.events)
    ctx.events->emit("provider.registered", {{"owner", p.owner()},
                                             {"endpoint", p.endpoint(), false},
                                             {"region", p.region()},
                                             {"amount", m.collateral.str() + kBondDenom}});
  return {};
}

Status Keeper::update_provider(Context& ctx, const UpdateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, must_get(*ctx.store, m.signer));
  DEPAI_ASSIGN_OR_RETURN(auto total, DecodeAmountField(p.collateral(), "provider collateral"));
  auto sum = total.add(m.collateral_add);
  if (!sum.ok()) return RootErr(kErrOverflow, "collateral overflows");
  DEPAI_TRY(bond(ctx, m.signer, m.collateral_add));
  CopyDetails(m.details, &p);
  p.set_collateral(sum->str());
  set(*ctx.store, m.signer, p);
  if (ctx.events)
    ctx.events->emit("provider.updated", {{"owner", p.owner()},
                                          {"endpoint", p.endpoint(), false},
                                          {"region", p.region()},
                                          {"amount", m.collateral_add.str() + kBondDenom},
                                          {"collateral", sum->str() + kBondDenom, false}});
  return {};
}

Status Keeper::deregister_provider(Context& ctx, const DeregisterParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(auto p, must_get(s, m.signer));
  DEPAI_ASSIGN_OR_RETURN(auto amount, DecodeAmountField(p.collateral(), "provider collateral"));
  DEPAI_ASSIGN_OR_RETURN(auto params, this->params(s));
  const int64_t completion = ctx.header->height + params.unbonding_blocks();
  s.del(keys::Provider(m.signer));
  DEPAI_TRY(add_unbonding(s, m.signer, amount, completion));
  if (ctx.events)
    ctx.events->emit("provider.deregistered", {{"owner", p.owner()},
                                               {"amount", amount.str() + kBondDenom},
                                               {"completion_height", std::to_string(completion)}});
  return {};
}

Status Keeper::sign_attributes(Context& ctx, const SignParsed& m) const {
  AuditedAttributes a;
  a.set_provider(crypto::AddressToBech32(m.provider));
  a.set_auditor(crypto::AddressToBech32(m.signer));
  DEPAI_ASSIGN_OR_RETURN(auto old, audit(*ctx.store, m.provider, m.signer));
  for (const auto& [k, v] : Merged(old, m.attributes)) {
    auto* attr = a.add_attributes();
    attr->set_key(k);
    attr->set_value(v);
  }
  a.set_height(ctx.header->height);
  set_audit(*ctx.store, m.provider, m.signer, a);
  std::vector<std::string> keys;
  for (const auto& attr : m.attributes) keys.push_back(attr.key());
  if (ctx.events)
    ctx.events->emit("provider.attributes_signed",
                     {{"owner", a.provider()}, {"auditor", a.auditor()}, {"keys", JoinKeys(keys), false}});
  return {};
}

Status Keeper::delete_attributes(Context& ctx, const DeleteParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto a, audit(*ctx.store, m.provider, m.signer));
  if (!a) return Fault(kFaultInternal, "attestation vanished between check and apply");
  std::vector<std::string> removed;
  AuditedAttributes next = *a;
  next.clear_attributes();
  for (const auto& attr : a->attributes()) {
    bool drop = m.keys.empty() || std::find(m.keys.begin(), m.keys.end(), attr.key()) != m.keys.end();
    if (drop)
      removed.push_back(attr.key());
    else
      *next.add_attributes() = attr;
  }
  if (next.attributes().empty()) {
    ctx.store->del(keys::Audit(m.provider, m.signer));
  } else {
    next.set_height(ctx.header->height);
    set_audit(*ctx.store, m.provider, m.signer, next);
  }
  if (ctx.events)
    ctx.events->emit("provider.attributes_deleted",
                     {{"owner", a->provider()}, {"auditor", a->auditor()}, {"keys", JoinKeys(removed), false}});
  return {};
}

Status Keeper::heartbeat(Context& ctx, const HeartbeatParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, must_get(*ctx.store, m.signer));
  const int64_t h = ctx.header->height;
  p.set_heartbeat_windows(p.heartbeat_windows() + 1);
  p.set_last_heartbeat_height(h);
  set(*ctx.store, m.signer, p);
  DEPAI_ASSIGN_OR_RETURN(uint32_t uptime, uptime_bps(*ctx.store, p, h));
  if (ctx.events)
    ctx.events->emit("provider.heartbeat",
                     {{"owner", p.owner(), false}, {"uptime_bps", std::to_string(uptime), false}});
  return {};
}

// ---- other writes ---------------------------------------------------------------------------

Status Keeper::add_active_lease(store::KVStore& s, std::string_view addr, int64_t delta) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(s, addr));
  if (!p) return {};
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
  return {};
}

Result<Amount> Keeper::slash(Context& ctx, std::string_view addr, Amount amount, std::string_view to) const {
  DEPAI_ASSIGN_OR_RETURN(auto p, get(*ctx.store, addr));
  if (!p || amount.is_zero()) return Amount();
  DEPAI_ASSIGN_OR_RETURN(Amount have, DecodeAmountField(p->collateral(), "provider collateral"));
  const Amount take = std::min(have, amount);
  if (take.is_zero()) return Amount();
  if (!bank_) return Fault(kFaultInternal, "provider keeper has no bank");
  DEPAI_TRY(bank_->send(ctx, BondAddress(), to, BondCoins(take)));
  p->set_collateral(have.sub(take).value().str());
  set(*ctx.store, addr, *p);
  if (ctx.events)
    ctx.events->emit(
        "provider.slashed",
        {{"owner", p->owner()}, {"amount", take.str() + kBondDenom}, {"collateral", p->collateral() + kBondDenom}});
  return take;
}

Status Keeper::restore(Context& ctx, std::string_view addr, Amount amount, std::string_view from) const {
  if (amount.is_zero()) return {};
  if (!bank_) return Fault(kFaultInternal, "provider keeper has no bank");
  DEPAI_ASSIGN_OR_RETURN(auto p, get(*ctx.store, addr));
  if (!p) {
    // Deregistered since: the collateral goes back to the owner directly.
    return bank_->send(ctx, from, addr, BondCoins(amount));
  }
  DEPAI_ASSIGN_OR_RETURN(Amount have, DecodeAmountField(p->collateral(), "provider collateral"));
  DEPAI_ASSIGN_OR_RETURN(Amount next, have.add(amount));
  DEPAI_TRY(bank_->send(ctx, from, BondAddress(), BondCoins(amount)));
  p->set_collateral(next.str());
  set(*ctx.store, addr, *p);
  if (ctx.events)
    ctx.events->emit("provider.collateral_restored", {{"owner", p->owner()}, {"amount", amount.str() + kBondDenom}});
  return {};
}

Status Keeper::add_unbonding(store::KVStore& s, std::string_view owner, Amount amount,
                             int64_t completion_height) const {
  const std::string key = keys::Unbond(completion_height, owner);
  if (auto v = s.get(key)) {
    DEPAI_ASSIGN_OR_RETURN(auto old, DecodeUnbonding(*v));
    DEPAI_ASSIGN_OR_RETURN(auto old_amount, DecodeAmountField(old.amount(), "unbonding amount"));
    auto sum = old_amount.add(amount);
    if (!sum.ok()) return RootErr(kErrOverflow, "unbonding amount overflows");
    amount = sum.value();
  }
  UnbondingEntry e;
  e.set_owner(crypto::AddressToBech32(owner));
  e.set_amount(amount.str());
  e.set_completion_height(completion_height);
  s.set(key, DeterministicSerialize(e));
  return {};
}

}  // namespace depai::x::provider
