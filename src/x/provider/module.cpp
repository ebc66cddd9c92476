#include "x/provider/module.h"

#include "x/types/legacy_route.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>

#include "crypto/bech32.h"
#include "x/types/codec.h"

namespace depai::x::provider {

using depai::provider::v1::Attribute;
using depai::provider::v1::GeoLocation;
using depai::provider::v1::MsgDeleteProviderAttributes;
using depai::provider::v1::MsgDeregisterProvider;
using depai::provider::v1::MsgProviderHeartbeat;
using depai::provider::v1::MsgRegisterProvider;
using depai::provider::v1::MsgSignProviderAttributes;
using depai::provider::v1::MsgUpdateProvider;
using depai::provider::v1::Resources;
using nlohmann::json;
using AttrList = google::protobuf::RepeatedPtrField<Attribute>;

namespace {
constexpr const char* kTypeRegister = "/depai.provider.v1.MsgRegisterProvider";
constexpr const char* kTypeUpdate = "/depai.provider.v1.MsgUpdateProvider";
constexpr const char* kTypeDeregister = "/depai.provider.v1.MsgDeregisterProvider";
constexpr const char* kTypeSign = "/depai.provider.v1.MsgSignProviderAttributes";
constexpr const char* kTypeDelete = "/depai.provider.v1.MsgDeleteProviderAttributes";
constexpr const char* kTypeHeartbeat = "/depai.provider.v1.MsgProviderHeartbeat";

Error genesisErr(const std::string& m) { return RootErr(kErrInvalidGenesis, "provider genesis: " + m); }

bool Printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// [a-z0-9] plus the characters in `extra`.
bool LowerName(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != std::string_view::npos;
  });
}

Status ValidName(const std::string& v, const std::string& field, bool required) {
  if (required && v.empty()) return ProviderErr(kErrInvalidResources, field + " must not be empty");
  if (v.size() > kMaxResourceName || !LowerName(v, "_.-"))
    return ProviderErr(kErrInvalidResources,
                       field + " '" + v + "' must match [a-z0-9_.-]{0," + std::to_string(kMaxResourceName) + "}");
  return {};
}

// Collateral coin of a message: udpai, positive. `optional`: an unset coin or a zero amount means none.
Result<Amount> CollateralOf(const depai::tx::v1::Coin& c, const char* field, bool optional) {
  if (optional && c.denom().empty() && (c.amount().empty() || c.amount() == "0")) return Amount();
  if (c.denom() != kBondDenom)
    return ProviderErr(kErrInvalidCollateral,
                       std::string(field) + " denom must be " + kBondDenom + ", got '" + c.denom() + "'");
  auto a = Amount::Parse(c.amount());
  if (!a.ok()) return ProviderErr(kErrInvalidCollateral, std::string(field) + ": " + a.error().message);
  if (a->is_zero() && !optional) return ProviderErr(kErrInvalidCollateral, std::string(field) + " must be positive");
  return a;
}

std::vector<Attribute> Sorted(const AttrList& attrs) {
  std::vector<Attribute> v(attrs.begin(), attrs.end());
  std::sort(v.begin(), v.end(), [](const Attribute& a, const Attribute& b) { return a.key() < b.key(); });
  return v;
}

void SetSorted(const AttrList& attrs, AttrList* out) {
  out->Clear();
  for (auto& a : Sorted(attrs)) *out->Add() = std::move(a);
}

template <typename M>
Status ValidateDetails(const M& m) {
  DEPAI_TRY(ValidateEndpoint(m.endpoint()));
  DEPAI_TRY(ValidateLocation(m.location()));
  DEPAI_TRY(ValidateRegion(m.region()));
  DEPAI_TRY(ValidateAttributes(m.attributes(), "attributes", false));
  DEPAI_TRY(ValidateResources(m.resources()));
  return {};
}

template <typename M>
void CopyDetails(const M& m, Provider* p) {
  p->set_endpoint(m.endpoint());
  *p->mutable_location() = m.location();
  p->set_region(m.region());
  SetSorted(m.attributes(), p->mutable_attributes());
  *p->mutable_resources() = m.resources();
}

Status CheckFunds(const BankKeeper* bank, const store::KVReader& s, std::string_view owner, Amount need) {
  if (!bank || need.is_zero()) return {};
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank->balance(s, owner, kBondDenom));
  if (have < need)
    return RootErr(kErrInsufficientFunds, "insufficient funds: spendable balance " + have.str() + kBondDenom +
                                              " is smaller than collateral " + need.str() + kBondDenom);
  return {};
}

std::string Keys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ",") + k;
  return out;
}

template <typename M>
Result<M> FromJson(const json& j, const std::string& what) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(j.dump(), &m, o);
  if (!st.ok()) return genesisErr(what + ": " + std::string(st.message()));
  return m;
}

Status ValidateStoredAttributes(const AttrList& attrs, const std::string& field) {
  DEPAI_TRY(ValidateAttributes(attrs, field, false));
  for (int i = 1; i < attrs.size(); ++i)
    if (attrs[i - 1].key() >= attrs[i].key())
      return ProviderErr(kErrInvalidAttributes, field + " must be sorted by key");
  return {};
}
}  // namespace

Status ValidateEndpoint(const std::string& e) {
  if (e.size() > kMaxEndpoint)
    return ProviderErr(kErrInvalidEndpoint, "endpoint is longer than " + std::to_string(kMaxEndpoint) + " bytes");
  std::string_view rest;
  if (e.rfind("http://", 0) == 0)
    rest = std::string_view(e).substr(7);
  else if (e.rfind("https://", 0) == 0)
    rest = std::string_view(e).substr(8);
  else
    return ProviderErr(kErrInvalidEndpoint, "endpoint '" + e + "' must start with http:// or https://");
  if (rest.empty() || rest[0] == '/' || rest[0] == ':')
    return ProviderErr(kErrInvalidEndpoint, "endpoint '" + e + "' has no host");
  for (char c : rest)
    if (c <= 0x20 || c > 0x7e) return ProviderErr(kErrInvalidEndpoint, "endpoint contains a space or control byte");
  return {};
}

Status ValidateLocation(const GeoLocation& loc) {
  if (loc.lat_e6() < -kMaxLatE6 || loc.lat_e6() > kMaxLatE6)
    return ProviderErr(kErrInvalidLocation,
                       "location.lat_e6 " + std::to_string(loc.lat_e6()) + " is outside [-90000000, 90000000]");
  if (loc.lon_e6() < -kMaxLonE6 || loc.lon_e6() > kMaxLonE6)
    return ProviderErr(kErrInvalidLocation,
                       "location.lon_e6 " + std::to_string(loc.lon_e6()) + " is outside [-180000000, 180000000]");
  if (loc.cell().size() > kMaxCell || !Printable(loc.cell()) || loc.cell().find(' ') != std::string::npos)
    return ProviderErr(kErrInvalidLocation,
                       "location.cell must be at most " + std::to_string(kMaxCell) + " printable bytes without spaces");
  return {};
}

Status ValidateRegion(const std::string& r) {
  if (r.size() > kMaxRegion || !LowerName(r, "-"))
    return ProviderErr(kErrInvalidRegion, "region '" + r + "' must match [a-z0-9-]{0,32}");
  return {};
}

Status ValidateAttributeKey(const std::string& key, const std::string& field) {
  if (key.empty() || key.size() > kMaxAttributeKey || !LowerName(key, "_.-"))
    return ProviderErr(kErrInvalidAttributes, field + " key '" + key + "' must match [a-z0-9_.-]{1,64}");
  return {};
}

Status ValidateAttributes(const AttrList& attrs, const std::string& field, bool require_some) {
  if (require_some && attrs.empty()) return ProviderErr(kErrInvalidAttributes, field + " must not be empty");
  if (static_cast<size_t>(attrs.size()) > kMaxAttributes)
    return ProviderErr(kErrInvalidAttributes, field + " has " + std::to_string(attrs.size()) + " entries, at most " +
                                                  std::to_string(kMaxAttributes) + " are allowed");
  for (const auto& a : attrs) {
    DEPAI_TRY(ValidateAttributeKey(a.key(), field));
    if (a.value().size() > kMaxAttributeValue || !Printable(a.value()))
      return ProviderErr(kErrInvalidAttributes, field + " value of '" + a.key() + "' must be at most " +
                                                    std::to_string(kMaxAttributeValue) + " printable bytes");
  }
  auto sorted = Sorted(attrs);
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i - 1].key() == sorted[i].key())
      return ProviderErr(kErrInvalidAttributes, field + " key '" + sorted[i].key() + "' appears more than once");
  return {};
}

Status ValidateResources(const Resources& r) {
  if (static_cast<size_t>(r.gpus().size()) > kMaxGpus)
    return ProviderErr(kErrInvalidResources, "resources.gpus has more than " + std::to_string(kMaxGpus) + " entries");
  if (static_cast<size_t>(r.storage().size()) > kMaxStorage)
    return ProviderErr(kErrInvalidResources,
                       "resources.storage has more than " + std::to_string(kMaxStorage) + " entries");
  for (const auto& g : r.gpus()) {
    DEPAI_TRY(ValidName(g.vendor(), "resources.gpus.vendor", true));
    DEPAI_TRY(ValidName(g.model(), "resources.gpus.model", true));
    DEPAI_TRY(ValidName(g.interface(), "resources.gpus.interface", false));
    if (g.count() == 0)
      return ProviderErr(kErrInvalidResources,
                         "resources.gpus.count of " + g.vendor() + ":" + g.model() + " must be > 0");
  }
  for (const auto& s : r.storage()) {
    DEPAI_TRY(ValidName(s.storage_class(), "resources.storage.storage_class", true));
    if (s.size_mib() == 0)
      return ProviderErr(kErrInvalidResources,
                         "resources.storage.size_mib of class '" + s.storage_class() + "' must be > 0");
  }
  return {};
}

std::vector<MsgRoute> Module::routes() {
  const BankKeeper* bank = keeper_.bank();
  LegacyRoute reg = LegacyRouteFor<MsgRegisterProvider>(kTypeRegister);
  reg.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgRegisterProvider&>(pm);
    DEPAI_TRY(ParseAddress(m.owner(), "owner"));
    DEPAI_TRY(ValidateDetails(m));
    DEPAI_TRY(CollateralOf(m.collateral(), "collateral", false));
    return {};
  };
  reg.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgRegisterProvider&>(pm).owner(), "owner");
  };
  reg.check = [this, bank](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgRegisterProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    if (keeper_.get(*ctx.store, owner))
      return ProviderErr(kErrAlreadyRegistered, "provider " + m.owner() + " is already registered; use update");
    DEPAI_ASSIGN_OR_RETURN(auto amount, CollateralOf(m.collateral(), "collateral", false));
    const auto p = keeper_.params(*ctx.store);
    auto min = Amount::Parse(p.min_collateral());
    if (min.ok() && amount < min.value())
      return ProviderErr(kErrCollateralTooLow, "collateral " + amount.str() + kBondDenom + " is below the minimum " +
                                                   min->str() + kBondDenom);
    return CheckFunds(bank, *ctx.store, owner, amount);
  };
  reg.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgRegisterProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    DEPAI_ASSIGN_OR_RETURN(auto amount, CollateralOf(m.collateral(), "collateral", false));
    DEPAI_TRY(keeper_.bond(ctx, owner, amount));
    const int64_t h = ctx.header->height;
    Provider p;
    p.set_owner(crypto::AddressToBech32(owner));
    CopyDetails(m, &p);
    p.set_collateral(amount.str());
    p.set_registered_height(h);
    // Registering is signed by the provider: it counts as the first heartbeat.
    p.set_heartbeat_windows(1);
    p.set_last_heartbeat_height(h);
    keeper_.set(*ctx.store, owner, p);
    if (ctx.events)
      ctx.events->emit("provider.registered", {{"owner", p.owner()},
                                               {"endpoint", p.endpoint(), false},
                                               {"region", p.region()},
                                               {"amount", amount.str() + kBondDenom}});
    return {};
  };

  LegacyRoute upd = LegacyRouteFor<MsgUpdateProvider>(kTypeUpdate);
  upd.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgUpdateProvider&>(pm);
    DEPAI_TRY(ParseAddress(m.owner(), "owner"));
    DEPAI_TRY(ValidateDetails(m));
    DEPAI_TRY(CollateralOf(m.collateral_add(), "collateral_add", true));
    return {};
  };
  upd.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgUpdateProvider&>(pm).owner(), "owner");
  };
  upd.check = [this, bank](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgUpdateProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    if (!keeper_.get(*ctx.store, owner))
      return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    DEPAI_ASSIGN_OR_RETURN(auto add, CollateralOf(m.collateral_add(), "collateral_add", true));
    return CheckFunds(bank, *ctx.store, owner, add);
  };
  upd.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgUpdateProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    auto p = keeper_.get(*ctx.store, owner);
    if (!p) return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    DEPAI_ASSIGN_OR_RETURN(auto add, CollateralOf(m.collateral_add(), "collateral_add", true));
    auto total = Amount::Parse(p->collateral());
    if (!total.ok()) return ProviderErr(kErrBondInvariant, "stored collateral is malformed");
    auto sum = total->add(add);
    if (!sum.ok()) return RootErr(kErrOverflow, "collateral overflows");
    DEPAI_TRY(keeper_.bond(ctx, owner, add));
    CopyDetails(m, &*p);
    p->set_collateral(sum->str());
    keeper_.set(*ctx.store, owner, *p);
    if (ctx.events)
      ctx.events->emit("provider.updated", {{"owner", p->owner()},
                                            {"endpoint", p->endpoint(), false},
                                            {"region", p->region()},
                                            {"amount", add.str() + kBondDenom},
                                            {"collateral", sum->str() + kBondDenom, false}});
    return {};
  };

  LegacyRoute dereg = LegacyRouteFor<MsgDeregisterProvider>(kTypeDeregister);
  dereg.validate_basic = [](const ProtoMsg& pm) -> Status {
    DEPAI_TRY(ParseAddress(static_cast<const MsgDeregisterProvider&>(pm).owner(), "owner"));
    return {};
  };
  dereg.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgDeregisterProvider&>(pm).owner(), "owner");
  };
  dereg.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgDeregisterProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    auto p = keeper_.get(*ctx.store, owner);
    if (!p) return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    if (p->active_leases() > 0)
      return ProviderErr(kErrActiveLeases, "provider " + m.owner() + " has " + std::to_string(p->active_leases()) +
                                               " active lease(s); close them before deregistering");
    return {};
  };
  dereg.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgDeregisterProvider&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    auto p = keeper_.get(*ctx.store, owner);
    if (!p) return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    auto amount = Amount::Parse(p->collateral());
    if (!amount.ok()) return ProviderErr(kErrBondInvariant, "stored collateral is malformed");
    const int64_t completion = ctx.header->height + keeper_.params(*ctx.store).unbonding_blocks();
    keeper_.remove(*ctx.store, owner);
    DEPAI_TRY(keeper_.add_unbonding(*ctx.store, owner, *amount, completion));
    if (ctx.events)
      ctx.events->emit("provider.deregistered", {{"owner", p->owner()},
                                                 {"amount", amount->str() + kBondDenom},
                                                 {"completion_height", std::to_string(completion)}});
    return {};
  };

  LegacyRoute sign = LegacyRouteFor<MsgSignProviderAttributes>(kTypeSign);
  sign.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSignProviderAttributes&>(pm);
    DEPAI_TRY(ParseAddress(m.auditor(), "auditor"));
    DEPAI_TRY(ParseAddress(m.provider(), "provider"));
    DEPAI_TRY(ValidateAttributes(m.attributes(), "attributes", true));
    return {};
  };
  sign.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgSignProviderAttributes&>(pm).auditor(), "auditor");
  };
  // The attestation after merging `m` into the auditor's existing one (new values win).
  auto merged = [this](const store::KVReader& s, const MsgSignProviderAttributes& m, std::string_view provider,
                       std::string_view auditor) {
    std::map<std::string, std::string> kv;
    if (auto old = keeper_.audit(s, provider, auditor))
      for (const auto& a : old->attributes()) kv[a.key()] = a.value();
    for (const auto& a : m.attributes()) kv[a.key()] = a.value();
    return kv;
  };
  sign.check = [this, merged](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSignProviderAttributes&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto auditor, ParseAddress(m.auditor(), "auditor"));
    DEPAI_ASSIGN_OR_RETURN(auto provider, ParseAddress(m.provider(), "provider"));
    if (!keeper_.get(*ctx.store, provider))
      return ProviderErr(kErrNotFound, "provider " + m.provider() + " is not registered");
    auto kv = merged(*ctx.store, m, provider, auditor);
    if (kv.size() > kMaxAttributes)
      return ProviderErr(kErrInvalidAttributes, "the attestation would hold " + std::to_string(kv.size()) +
                                                    " attributes, at most " + std::to_string(kMaxAttributes) +
                                                    " are allowed; delete some first");
    return {};
  };
  sign.apply = [this, merged](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgSignProviderAttributes&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto auditor, ParseAddress(m.auditor(), "auditor"));
    DEPAI_ASSIGN_OR_RETURN(auto provider, ParseAddress(m.provider(), "provider"));
    AuditedAttributes a;
    a.set_provider(crypto::AddressToBech32(provider));
    a.set_auditor(crypto::AddressToBech32(auditor));
    for (const auto& [k, v] : merged(*ctx.store, m, provider, auditor)) {
      auto* attr = a.add_attributes();
      attr->set_key(k);
      attr->set_value(v);
    }
    a.set_height(ctx.header->height);
    keeper_.set_audit(*ctx.store, provider, auditor, a);
    std::vector<std::string> keys;
    for (const auto& attr : Sorted(m.attributes())) keys.push_back(attr.key());
    if (ctx.events)
      ctx.events->emit("provider.attributes_signed",
                       {{"owner", a.provider()}, {"auditor", a.auditor()}, {"keys", Keys(keys), false}});
    return {};
  };

  LegacyRoute del = LegacyRouteFor<MsgDeleteProviderAttributes>(kTypeDelete);
  del.validate_basic = [](const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgDeleteProviderAttributes&>(pm);
    DEPAI_TRY(ParseAddress(m.auditor(), "auditor"));
    DEPAI_TRY(ParseAddress(m.provider(), "provider"));
    if (static_cast<size_t>(m.keys().size()) > kMaxAttributes)
      return ProviderErr(kErrInvalidAttributes, "keys has more than " + std::to_string(kMaxAttributes) + " entries");
    std::vector<std::string> keys(m.keys().begin(), m.keys().end());
    for (const auto& k : keys) DEPAI_TRY(ValidateAttributeKey(k, "keys"));
    std::sort(keys.begin(), keys.end());
    for (size_t i = 1; i < keys.size(); ++i)
      if (keys[i - 1] == keys[i])
        return ProviderErr(kErrInvalidAttributes, "keys: '" + keys[i] + "' appears more than once");
    return {};
  };
  del.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgDeleteProviderAttributes&>(pm).auditor(), "auditor");
  };
  del.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgDeleteProviderAttributes&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto auditor, ParseAddress(m.auditor(), "auditor"));
    DEPAI_ASSIGN_OR_RETURN(auto provider, ParseAddress(m.provider(), "provider"));
    auto a = keeper_.audit(*ctx.store, provider, auditor);
    if (!a)
      return ProviderErr(kErrAuditNotFound,
                         "auditor " + m.auditor() + " has no attestation for provider " + m.provider());
    for (const auto& k : m.keys()) {
      bool found = std::any_of(a->attributes().begin(), a->attributes().end(),
                               [&](const Attribute& attr) { return attr.key() == k; });
      if (!found)
        return ProviderErr(kErrAuditNotFound, "auditor " + m.auditor() + " has not signed attribute '" + k +
                                                  "' for provider " + m.provider());
    }
    return {};
  };
  del.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgDeleteProviderAttributes&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto auditor, ParseAddress(m.auditor(), "auditor"));
    DEPAI_ASSIGN_OR_RETURN(auto provider, ParseAddress(m.provider(), "provider"));
    auto a = keeper_.audit(*ctx.store, provider, auditor);
    if (!a)
      return ProviderErr(kErrAuditNotFound,
                         "auditor " + m.auditor() + " has no attestation for provider " + m.provider());
    std::vector<std::string> removed;
    AuditedAttributes next = *a;
    next.clear_attributes();
    for (const auto& attr : a->attributes()) {
      bool drop = m.keys().empty() || std::find(m.keys().begin(), m.keys().end(), attr.key()) != m.keys().end();
      if (drop)
        removed.push_back(attr.key());
      else
        *next.add_attributes() = attr;
    }
    if (next.attributes().empty()) {
      keeper_.delete_audit(*ctx.store, provider, auditor);
    } else {
      next.set_height(ctx.header->height);
      keeper_.set_audit(*ctx.store, provider, auditor, next);
    }
    if (ctx.events)
      ctx.events->emit("provider.attributes_deleted",
                       {{"owner", a->provider()}, {"auditor", a->auditor()}, {"keys", Keys(removed), false}});
    return {};
  };

  LegacyRoute hb = LegacyRouteFor<MsgProviderHeartbeat>(kTypeHeartbeat);
  hb.validate_basic = [](const ProtoMsg& pm) -> Status {
    DEPAI_TRY(ParseAddress(static_cast<const MsgProviderHeartbeat&>(pm).owner(), "owner"));
    return {};
  };
  hb.signer = [](const ProtoMsg& pm) {
    return ParseAddress(static_cast<const MsgProviderHeartbeat&>(pm).owner(), "owner");
  };
  hb.check = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgProviderHeartbeat&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    auto p = keeper_.get(*ctx.store, owner);
    if (!p) return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    const int64_t w = keeper_.params(*ctx.store).heartbeat_window();
    const int64_t window = ctx.header->height / w;
    if (p->heartbeat_windows() > 0 && p->last_heartbeat_height() / w == window)
      return ProviderErr(kErrHeartbeatWindow, "a heartbeat was already counted in window " + std::to_string(window) +
                                                  " (height " + std::to_string(p->last_heartbeat_height()) +
                                                  "); the next window starts at height " +
                                                  std::to_string((window + 1) * w));
    return {};
  };
  hb.apply = [this](Context& ctx, const ProtoMsg& pm) -> Status {
    const auto& m = static_cast<const MsgProviderHeartbeat&>(pm);
    DEPAI_ASSIGN_OR_RETURN(auto owner, ParseAddress(m.owner(), "owner"));
    auto p = keeper_.get(*ctx.store, owner);
    if (!p) return ProviderErr(kErrNotFound, "provider " + m.owner() + " is not registered");
    const int64_t h = ctx.header->height;
    p->set_heartbeat_windows(p->heartbeat_windows() + 1);
    p->set_last_heartbeat_height(h);
    keeper_.set(*ctx.store, owner, *p);
    if (ctx.events)
      ctx.events->emit(
          "provider.heartbeat",
          {{"owner", p->owner(), false}, {"uptime_bps", std::to_string(keeper_.uptime_bps(*ctx.store, *p, h)), false}});
    return {};
  };
  return {FromLegacy(reg), FromLegacy(upd), FromLegacy(dereg), FromLegacy(sign), FromLegacy(del), FromLegacy(hb)};
}

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
    if (keeper_.get(s, *owner)) return genesisErr("duplicate provider " + p.owner());
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
    if (keeper_.audit(s, *provider, *auditor))
      return genesisErr("duplicate audit of " + a.provider() + " by " + a.auditor());
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
  for (const auto& p : keeper_.providers(state)) providers.push_back(MessageToJson(p));
  for (const auto& a : keeper_.all_audits(state)) audits.push_back(MessageToJson(a));
  for (const auto& e : keeper_.unbonding(state)) unbonding.push_back(MessageToJson(e));
  return json{{"params", MessageToJson(keeper_.params(state))},
              {"providers", providers},
              {"audits", audits},
              {"unbonding", unbonding}};
}

std::optional<Result<json>> Module::query(const store::KVReader& state, std::string_view full_path) const {
  constexpr std::string_view kRoot = "/provider/";
  if (full_path.substr(0, kRoot.size()) != kRoot) return std::nullopt;
  std::string_view path = full_path.substr(0, full_path.find('?'));
  constexpr std::string_view kOne = "/provider/providers/";
  if (path == "/provider/params") return Result<json>(MessageToJson(keeper_.params(state)));
  if (path == "/provider/providers" || path == "/provider/providers/") {
    json list = json::array();
    for (const auto& p : keeper_.providers(state)) list.push_back(MessageToJson(p));
    return Result<json>(json{{"providers", list}});
  }
  if (path.substr(0, kOne.size()) == kOne) {
    std::string who(path.substr(kOne.size()));
    auto addr = crypto::AddressFromBech32(who);
    if (!addr.ok()) return Result<json>(RootErr(kErrInvalidAddress, "provider address: " + addr.error().message));
    auto p = keeper_.get(state, *addr);
    if (!p) return Result<json>(ProviderErr(kErrNotFound, "provider " + who + " is not registered"));
    const int64_t h = committed_height_ ? committed_height_() : p->last_heartbeat_height();
    json audits = json::array();
    for (const auto& a : keeper_.audits(state, *addr)) audits.push_back(MessageToJson(a));
    return Result<json>(json{{"provider", MessageToJson(*p)},
                             {"audits", audits},
                             {"uptime_bps", keeper_.uptime_bps(state, *p, h)},
                             {"height", std::to_string(h)}});
  }
  return Result<json>(RootErr(kErrUnknownRequest, "unknown provider query path: " + std::string(full_path)));
}

}  // namespace depai::x::provider
