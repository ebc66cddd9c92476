// x/identity records, views, params, the attestation statement and the message phases.
#include "x/identity/keeper.h"

#include <algorithm>

#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/identity/keys.h"
#include "x/types/codec.h"

namespace depai::x::identity {

namespace {
Coins Udpai(Amount a) {
  auto c = Coins::From({Coin{kDenom, a}});
  return c.ok() ? c.value() : Coins();
}

Result<DidDocument> DecodeDid(std::string_view v) {
  DEPAI_ASSIGN_OR_RETURN(auto d, DecodeRecord<DidDocument>(v, "DID document"));
  if (!ParseDid(d.id()).ok()) return Fault(kFaultCorruptRecord, "stored DID document has an invalid id");
  if (!crypto::AddressFromBech32(d.controller()).ok())
    return Fault(kFaultCorruptRecord, "stored DID document " + d.id() + " has an invalid controller");
  return d;
}

Result<Attester> DecodeAttester(std::string_view v) {
  DEPAI_ASSIGN_OR_RETURN(auto a, DecodeRecord<Attester>(v, "attester"));
  DEPAI_TRY(DecodeAmountField(a.bond(), "attester bond"));
  if (a.pub_key().size() != 32) return Fault(kFaultCorruptRecord, "stored attester key is not 32 bytes");
  return a;
}

bool HasKey(const DidDocument& d, std::string_view key) {
  for (const auto& vm : d.verification_methods())
    if (vm.public_key() == key) return true;
  return false;
}

bool AllowsAccount(const DidDocument& d, std::string_view bech32) {
  if (d.controller() == bech32) return true;
  for (const auto& a : d.accounts())
    if (a == bech32) return true;
  return false;
}

void FillDoc(DidDocument& d, const DocParsed& p) {
  d.clear_verification_methods();
  d.clear_authentication();
  d.clear_services();
  d.clear_accounts();
  for (const auto& k : p.keys) {
    *d.add_verification_methods() = k;
    d.add_authentication(k.id());
  }
  for (const auto& s : p.services) *d.add_services() = s;
  for (const auto& a : p.accounts) d.add_accounts(crypto::AddressToBech32(a));
}

std::string Bech(std::string_view a) { return crypto::AddressToBech32(a); }
}  // namespace

const Bytes& ModuleAddress() {
  static const Bytes a = crypto::Sha256("module:identity").substr(0, 20);
  return a;
}

Params DefaultParams() {
  Params p;
  p.set_attester_bond("100000000");  // 100 DPAI: see doc/modules/identity.md, "Parameters"
  p.set_attester_unbonding_blocks(1000);
  p.set_max_verification_methods(8);
  p.set_max_services(8);
  p.set_max_accounts(16);
  p.set_max_attestations(8);
  return p;
}

Status ValidateParams(const Params& p) {
  auto b = Amount::Parse(p.attester_bond());
  if (!b.ok() || b->is_zero()) return IdentityErr(kErrInvalidParams, "attester_bond must be a positive udpai amount");
  if (p.attester_unbonding_blocks() < 1)
    return IdentityErr(kErrInvalidParams, "attester_unbonding_blocks must be >= 1");
  if (p.max_verification_methods() < 1 || p.max_verification_methods() > 64)
    return IdentityErr(kErrInvalidParams, "max_verification_methods must be in [1, 64]");
  if (p.max_services() > 64) return IdentityErr(kErrInvalidParams, "max_services must be <= 64");
  if (p.max_accounts() > 256) return IdentityErr(kErrInvalidParams, "max_accounts must be <= 256");
  if (p.max_attestations() < 1 || p.max_attestations() > 64)
    return IdentityErr(kErrInvalidParams, "max_attestations must be in [1, 64]");
  return {};
}

std::string DidOf(std::string_view did20) { return std::string(kDidMethodPrefix) + HexEncode(did20); }

Result<Bytes> ParseDid(std::string_view did) {
  if (did.substr(0, kDidMethodPrefix.size()) != kDidMethodPrefix)
    return IdentityErr(kErrInvalidDid, "'" + std::string(did.substr(0, 80)) + "' is not a did:depai identifier");
  const auto hex = did.substr(kDidMethodPrefix.size());
  bool lower = hex.size() == 40 && std::all_of(hex.begin(), hex.end(),
                                               [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  auto b = lower ? HexDecode(hex) : std::nullopt;
  if (!b)
    return IdentityErr(kErrInvalidDid, "'" + std::string(did.substr(0, 80)) +
                                           "': a did:depai identifier is did:depai: and 40 lowercase hex digits");
  return *b;
}

Bytes AttestationStatement(std::string_view chain_id, std::string_view did, std::string_view device_key,
                           std::string_view model, std::string_view serial) {
  Bytes out(kAttestationDomain);
  out.push_back(static_cast<char>(chain_id.size()));
  out.append(chain_id);
  out.push_back(static_cast<char>(did.size()));
  out.append(did);
  out.append(device_key);
  out.push_back(static_cast<char>((model.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(model.size() & 0xff));
  out.append(model);
  out.push_back(static_cast<char>((serial.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(serial.size() & 0xff));
  out.append(serial);
  return out;
}

// ---- records ----

Result<Params> Keeper::params(const store::KVReader& s) const {
  auto v = s.get(keys::kParams);
  if (!v) return DefaultParams();
  DEPAI_ASSIGN_OR_RETURN(auto p, DecodeRecord<Params>(*v, "identity params"));
  if (!ValidateParams(p).ok()) return Fault(kFaultCorruptRecord, "stored identity params are invalid");
  return p;
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<DidDocument>> Keeper::did(const store::KVReader& s, std::string_view did20) const {
  auto v = s.get(keys::Did(did20));
  if (!v) return std::optional<DidDocument>();
  DEPAI_ASSIGN_OR_RETURN(auto d, DecodeDid(*v));
  return std::optional<DidDocument>(std::move(d));
}
void Keeper::set_did(store::KVStore& s, std::string_view did20, const DidDocument& d) const {
  s.set(keys::Did(did20), DeterministicSerialize(d));
}

Result<std::optional<Attester>> Keeper::attester(const store::KVReader& s, std::string_view owner20) const {
  auto v = s.get(keys::Attester(owner20));
  if (!v) return std::optional<Attester>();
  DEPAI_ASSIGN_OR_RETURN(auto a, DecodeAttester(*v));
  return std::optional<Attester>(std::move(a));
}
void Keeper::set_attester(store::KVStore& s, std::string_view owner20, const Attester& a) const {
  s.set(keys::Attester(owner20), DeterministicSerialize(a));
}

Result<std::optional<Bytes>> Keeper::link(const store::KVReader& s, std::string_view account20) const {
  auto v = s.get(keys::Link(account20));
  if (!v) return std::optional<Bytes>();
  if (v->size() != 20) return Fault(kFaultCorruptRecord, "stored DID link is not 20 bytes");
  return std::optional<Bytes>(*v);
}
void Keeper::set_link(store::KVStore& s, std::string_view account20, std::string_view did20) const {
  s.set(keys::Link(account20), did20);
}

Result<bool> Keeper::counts(const store::KVReader& s, const Attestation& a) const {
  auto owner = crypto::AddressFromBech32(a.attester());
  if (!owner.ok()) return Fault(kFaultCorruptRecord, "stored attestation has an invalid attester");
  DEPAI_ASSIGN_OR_RETURN(auto at, attester(s, *owner));
  return at && at->active() && a.height() >= at->registered_height();
}

Status Keeper::for_each_did(const store::KVReader& s, const DidFn& fn) const {
  return ForEachRecord(s, keys::kDidPrefix, DecodeDid, [&](std::string_view, const DidDocument& d) { return fn(d); });
}
Status Keeper::for_each_attester(const store::KVReader& s, const AttesterFn& fn) const {
  return ForEachRecord(s, keys::kAttesterPrefix, DecodeAttester, [&](std::string_view k, const Attester& a) {
    return fn(k.substr(keys::kAttesterPrefix.size()), a);
  });
}
Status Keeper::for_each_link(const store::KVReader& s, const LinkFn& fn) const {
  Status st;
  s.iterate(keys::kLinkPrefix, store::PrefixEnd(keys::kLinkPrefix), [&](std::string_view k, std::string_view v) {
    if (v.size() != 20 || k.size() != keys::kLinkPrefix.size() + 20) {
      st = Fault(kFaultCorruptRecord, "stored DID link is not 20 bytes");
      return false;
    }
    return fn(k.substr(keys::kLinkPrefix.size()), v);
  });
  return st;
}

// ---- views for other modules ----

Result<std::optional<std::string>> Keeper::linked_did(const store::KVReader& s, std::string_view addr20) const {
  DEPAI_ASSIGN_OR_RETURN(auto l, link(s, addr20));
  if (!l) return std::optional<std::string>();
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, *l));
  if (!d) return Fault(kFaultInvariant, "a DID link points at " + DidOf(*l) + ", which does not exist");
  if (d->deactivated() || !AllowsAccount(*d, Bech(addr20))) return std::optional<std::string>();
  return std::optional<std::string>(d->id());
}

Result<bool> Keeper::attested(const store::KVReader& s, std::string_view addr20) const {
  DEPAI_ASSIGN_OR_RETURN(auto id, linked_did(s, addr20));
  if (!id) return false;
  DEPAI_ASSIGN_OR_RETURN(const Bytes did20, ParseDid(*id));
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, did20));
  if (!d) return false;
  for (const auto& a : d->attestations()) {
    DEPAI_ASSIGN_OR_RETURN(bool c, counts(s, a));
    if (c) return true;
  }
  return false;
}

// ---- DIDs ----

Status Keeper::check_doc(const store::KVReader& s, const DocParsed& d) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  if (d.keys.size() > p.max_verification_methods())
    return IdentityErr(kErrTooMany, std::to_string(d.keys.size()) +
                                        " verification methods: max_verification_methods is " +
                                        std::to_string(p.max_verification_methods()));
  if (d.services.size() > p.max_services())
    return IdentityErr(kErrTooMany, std::to_string(d.services.size()) + " services: max_services is " +
                                        std::to_string(p.max_services()));
  if (d.accounts.size() > p.max_accounts())
    return IdentityErr(kErrTooMany, std::to_string(d.accounts.size()) + " accounts: max_accounts is " +
                                        std::to_string(p.max_accounts()));
  return {};
}

Status Keeper::check_create(const store::KVReader& s, const CreateParsed& m) const {
  DEPAI_TRY(check_doc(s, m.doc));
  DEPAI_ASSIGN_OR_RETURN(auto existing, did(s, m.did20));
  if (existing)
    return IdentityErr(kErrDidExists, DidOf(m.did20) + " already exists (created at height " +
                                          std::to_string(existing->created_height()) + "): its initial key is taken");
  return {};
}

Status Keeper::create_did(Context& ctx, const CreateParsed& m) const {
  DidDocument d;
  d.set_id(DidOf(m.did20));
  d.set_controller(Bech(m.signer));
  FillDoc(d, m.doc);
  d.set_created_height(ctx.header->height);
  d.set_updated_height(ctx.header->height);
  set_did(*ctx.store, m.did20, d);
  if (ctx.events) ctx.events->emit("identity.did_created", {{"did", d.id()}, {"controller", d.controller()}});
  return {};
}

namespace {
Status CheckControlled(const std::optional<DidDocument>& d, std::string_view did20, std::string_view signer) {
  if (!d) return IdentityErr(kErrDidNotFound, DidOf(did20) + " does not exist");
  if (d->controller() != Bech(signer))
    return IdentityErr(kErrNotController,
                       Bech(signer) + " is not the controller of " + d->id() + " (controller " + d->controller() + ")");
  if (d->deactivated()) return IdentityErr(kErrDeactivated, d->id() + " is deactivated");
  return {};
}
}  // namespace

Status Keeper::check_update(const store::KVReader& s, const UpdateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, m.did20));
  DEPAI_TRY(CheckControlled(d, m.did20, m.signer));
  return check_doc(s, m.doc);
}

Status Keeper::update_did(Context& ctx, const UpdateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(*ctx.store, m.did20));
  if (!d) return Fault(kFaultInternal, "DID vanished between check and apply");
  FillDoc(*d, m.doc);
  // An attestation binds a device key: one whose key is no longer among the DID's keys goes.
  std::vector<Attestation> kept;
  for (const auto& a : d->attestations())
    if (HasKey(*d, a.device_key())) kept.push_back(a);
  const size_t dropped = static_cast<size_t>(d->attestations_size()) - kept.size();
  d->clear_attestations();
  for (auto& a : kept) *d->add_attestations() = std::move(a);
  if (!m.new_controller.empty()) d->set_controller(Bech(m.new_controller));
  d->set_updated_height(ctx.header->height);
  set_did(*ctx.store, m.did20, *d);
  if (ctx.events)
    ctx.events->emit(
        "identity.did_updated",
        {{"did", d->id()}, {"controller", d->controller()}, {"attestations_dropped", std::to_string(dropped), false}});
  return {};
}

Status Keeper::check_deactivate(const store::KVReader& s, const DeactivateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, m.did20));
  return CheckControlled(d, m.did20, m.signer);
}

Status Keeper::deactivate_did(Context& ctx, const DeactivateParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(*ctx.store, m.did20));
  if (!d) return Fault(kFaultInternal, "DID vanished between check and apply");
  d->set_deactivated(true);
  d->set_updated_height(ctx.header->height);
  set_did(*ctx.store, m.did20, *d);
  if (ctx.events) ctx.events->emit("identity.did_deactivated", {{"did", d->id()}});
  return {};
}

// ---- attesters ----

Status Keeper::check_register(const store::KVReader& s, const RegisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  const Amount min = Amount::Parse(p.attester_bond()).value();
  if (m.bond < min)
    return IdentityErr(kErrBondTooLow, "bond " + m.bond.str() + "udpai is below attester_bond " + min.str() + "udpai");
  DEPAI_ASSIGN_OR_RETURN(auto existing, attester(s, m.signer));
  if (existing) {
    if (existing->active())
      return IdentityErr(kErrAttesterExists, "attester " + Bech(m.signer) + " is already registered");
    return IdentityErr(kErrAttesterExists, "attester " + Bech(m.signer) + " is unbonding until height " +
                                               std::to_string(existing->unbond_height()));
  }
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, m.signer, kDenom));
  if (have < m.bond)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() + "udpai is smaller than bond " +
                                              m.bond.str() + "udpai");
  return {};
}

Status Keeper::register_attester(Context& ctx, const RegisterParsed& m) const {
  DEPAI_TRY(bank_->send(ctx, m.signer, ModuleAddress(), Udpai(m.bond)));
  Attester a;
  a.set_owner(Bech(m.signer));
  a.set_pub_key(m.pub_key);
  a.set_name(m.name);
  a.set_bond(m.bond.str());
  a.set_registered_height(ctx.header->height);
  a.set_active(true);
  set_attester(*ctx.store, m.signer, a);
  if (ctx.events)
    ctx.events->emit("identity.attester_registered",
                     {{"attester", a.owner()}, {"name", a.name(), false}, {"bond", a.bond(), false}});
  return {};
}

Status Keeper::check_unregister(const store::KVReader& s, const UnregisterParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto a, attester(s, m.signer));
  if (!a || !a->active()) return IdentityErr(kErrAttesterNotFound, "attester " + Bech(m.signer) + " is not registered");
  return {};
}

Status Keeper::unregister_attester(Context& ctx, const UnregisterParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto a, attester(s, m.signer));
  if (!a) return Fault(kFaultInternal, "attester vanished between check and apply");
  const int64_t at = ctx.header->height + p.attester_unbonding_blocks();
  a->set_active(false);
  a->set_unbond_height(at);
  set_attester(s, m.signer, *a);
  s.set(keys::Unbond(at, m.signer), "");
  if (ctx.events)
    ctx.events->emit(
        "identity.attester_unregistered",
        {{"attester", a->owner()}, {"bond", a->bond(), false}, {"unbond_height", std::to_string(at), false}});
  return {};
}

// ---- attestations ----

Status Keeper::check_attest(const store::KVReader& s, const AttestParsed& m, std::string_view chain_id) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, m.did20));
  if (!d) return IdentityErr(kErrDidNotFound, DidOf(m.did20) + " does not exist");
  if (d->deactivated()) return IdentityErr(kErrDeactivated, d->id() + " is deactivated");
  const VerificationMethod* vm = nullptr;
  for (const auto& k : d->verification_methods())
    if (k.id() == m.device_key_id) vm = &k;
  if (!vm)
    return IdentityErr(kErrUnknownDeviceKey,
                       "device key '" + m.device_key_id + "' is not a verification method of " + d->id());
  DEPAI_ASSIGN_OR_RETURN(auto at, attester(s, m.attester));
  if (!at) return IdentityErr(kErrAttesterNotFound, "attester " + Bech(m.attester) + " is not registered");
  if (!at->active())
    return IdentityErr(kErrAttesterNotFound, "attester " + Bech(m.attester) +
                                                 " is unregistered (since its bond unbonds at height " +
                                                 std::to_string(at->unbond_height()) + ")");
  const Bytes stmt = AttestationStatement(chain_id, d->id(), vm->public_key(), m.model, m.serial);
  if (!crypto::Verify(at->pub_key(), stmt, m.signature))
    return IdentityErr(kErrInvalidAttestation,
                       "the attestation signature does not verify under attester " + Bech(m.attester) + "'s key " +
                           HexEncode(at->pub_key()) + " for chain " + std::string(chain_id) + ", " + d->id() + "#" +
                           m.device_key_id + ", model '" + m.model + "', serial '" + m.serial +
                           "' (forged, signed by another key, or for another chain, DID, device key, model or serial)");
  DEPAI_ASSIGN_OR_RETURN(const Params p, params(s));
  for (const auto& a : d->attestations())
    if (a.attester() == at->owner() && a.device_key() == vm->public_key())
      return IdentityErr(kErrAlreadyAttested, "attester " + at->owner() + " already attested " + d->id() + "#" +
                                                  m.device_key_id + " (at height " + std::to_string(a.height()) + ")");
  if (static_cast<uint32_t>(d->attestations_size()) >= p.max_attestations())
    return IdentityErr(kErrTooMany, d->id() + " has " + std::to_string(d->attestations_size()) +
                                        " attestations: max_attestations is " + std::to_string(p.max_attestations()));
  return {};
}

Status Keeper::attest_device(Context& ctx, const AttestParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto d, did(*ctx.store, m.did20));
  if (!d) return Fault(kFaultInternal, "DID vanished between check and apply");
  Attestation a;
  a.set_attester(Bech(m.attester));
  a.set_device_key_id(m.device_key_id);
  for (const auto& k : d->verification_methods())
    if (k.id() == m.device_key_id) a.set_device_key(k.public_key());
  a.set_model(m.model);
  a.set_serial(m.serial);
  a.set_height(ctx.header->height);
  a.set_signature(m.signature);
  *d->add_attestations() = a;
  d->set_updated_height(ctx.header->height);
  set_did(*ctx.store, m.did20, *d);
  if (ctx.events)
    ctx.events->emit("identity.device_attested", {{"did", d->id()},
                                                  {"attester", a.attester()},
                                                  {"device_key_id", a.device_key_id(), false},
                                                  {"model", a.model(), false},
                                                  {"serial", a.serial(), false}});
  return {};
}

// ---- links ----

Status Keeper::check_link(const store::KVReader& s, const LinkParsed& m) const {
  if (m.did20.empty()) {
    DEPAI_ASSIGN_OR_RETURN(auto l, link(s, m.signer));
    if (!l) return IdentityErr(kErrNotLinked, Bech(m.signer) + " has no DID link to remove");
    return {};
  }
  DEPAI_ASSIGN_OR_RETURN(auto d, did(s, m.did20));
  if (!d) return IdentityErr(kErrDidNotFound, DidOf(m.did20) + " does not exist");
  if (d->deactivated()) return IdentityErr(kErrDeactivated, d->id() + " is deactivated");
  if (!AllowsAccount(*d, Bech(m.signer)))
    return IdentityErr(kErrLinkNotAllowed, Bech(m.signer) + " may not link " + d->id() +
                                               ": it is neither its controller nor in its accounts (" +
                                               std::to_string(d->accounts_size()) + " listed)");
  return {};
}

Status Keeper::link_did(Context& ctx, const LinkParsed& m) const {
  if (m.did20.empty()) {
    ctx.store->del(keys::Link(m.signer));
    if (ctx.events) ctx.events->emit("identity.did_unlinked", {{"account", Bech(m.signer)}});
    return {};
  }
  set_link(*ctx.store, m.signer, m.did20);
  if (ctx.events) ctx.events->emit("identity.did_linked", {{"account", Bech(m.signer)}, {"did", DidOf(m.did20)}});
  return {};
}

}  // namespace depai::x::identity
