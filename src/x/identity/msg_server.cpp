// x/identity messages on the skeleton (x/types/module.h): create, update and deactivate a DID,
// register and unregister an attester, attest a device, link an account. validate parses
// addresses, keys and fields once into the Parsed structs (keeper.h); check and apply call the
// keeper. Every message an agent may sign has a spend descriptor with no money effect ({});
// attester registration moves a bond and is never an agent's (null: x/wallet refuses it).
#include <set>

#include "crypto/ed25519.h"
#include "x/identity/module.h"

namespace depai::x::identity {

namespace v1 = depai::identity::v1;

namespace {
bool Fragment(std::string_view f) {
  if (f.empty() || f.size() > kMaxFragment) return false;
  for (char c : f)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.'))
      return false;
  return true;
}

// A printable field of 1..max bytes (no control bytes).
Status TextField(std::string_view v, size_t max, const char* what) {
  if (v.empty()) return IdentityErr(kErrInvalidField, std::string(what) + " must not be empty");
  if (v.size() > max)
    return IdentityErr(kErrInvalidField,
                       std::string(what) + " is " + std::to_string(v.size()) + " bytes, max " + std::to_string(max));
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return IdentityErr(kErrInvalidField, std::string(what) + " contains a control byte");
  return {};
}

template <typename Keys, typename Services, typename Accounts>
Result<DocParsed> ValidateDoc(const Keys& keys, const Services& services, const Accounts& accounts) {
  DocParsed d;
  if (keys.empty()) return IdentityErr(kErrInvalidKey, "a DID needs at least one verification key");
  std::set<std::string> ids;
  for (const auto& k : keys) {
    if (!Fragment(k.id()))
      return IdentityErr(kErrInvalidKey,
                         "verification method id '" + k.id().substr(0, 80) + "' must be 1-64 of [A-Za-z0-9._-]");
    if (k.public_key().size() != 32)
      return IdentityErr(kErrInvalidKey, "verification method '" + k.id() + "': an ed25519 key is 32 bytes, got " +
                                             std::to_string(k.public_key().size()));
    if (!ids.insert(k.id()).second)
      return IdentityErr(kErrInvalidKey, "verification method id '" + k.id() + "' is repeated");
    d.keys.push_back(k);
  }
  std::set<std::string> sids;
  for (const auto& s : services) {
    if (!Fragment(s.id()))
      return IdentityErr(kErrInvalidService,
                         "service id '" + s.id().substr(0, 80) + "' must be 1-64 of [A-Za-z0-9._-]");
    if (!sids.insert(s.id()).second) return IdentityErr(kErrInvalidService, "service id '" + s.id() + "' is repeated");
    if (auto st = TextField(s.type(), kMaxServiceType, "service type"); !st.ok())
      return IdentityErr(kErrInvalidService, "service '" + s.id() + "': " + st.error().message);
    if (auto st = TextField(s.endpoint(), kMaxEndpoint, "service endpoint"); !st.ok())
      return IdentityErr(kErrInvalidService, "service '" + s.id() + "': " + st.error().message);
    if (s.endpoint().find(':') == std::string::npos || s.endpoint().find(' ') != std::string::npos)
      return IdentityErr(kErrInvalidService, "service '" + s.id() + "': endpoint '" + s.endpoint() + "' is not a URI");
    d.services.push_back(s);
  }
  std::set<Bytes> accs;
  for (const auto& a : accounts) {
    DEPAI_ASSIGN_OR_RETURN(Bytes b, ParseAddress(a, "accounts"));
    if (!accs.insert(b).second) return IdentityErr(kErrInvalidField, "account " + a + " is repeated");
    d.accounts.push_back(b);
  }
  return d;
}

Result<CreateParsed> ValidateCreate(const v1::MsgCreateDid& m) {
  CreateParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.controller(), "controller"));
  DEPAI_ASSIGN_OR_RETURN(p.doc, ValidateDoc(m.keys(), m.services(), m.accounts()));
  p.did20 = crypto::AddressOf(p.doc.keys.front().public_key());
  return p;
}

Result<UpdateParsed> ValidateUpdate(const v1::MsgUpdateDid& m) {
  UpdateParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.controller(), "controller"));
  DEPAI_ASSIGN_OR_RETURN(p.did20, ParseDid(m.did()));
  DEPAI_ASSIGN_OR_RETURN(p.doc, ValidateDoc(m.keys(), m.services(), m.accounts()));
  if (!m.new_controller().empty()) {
    DEPAI_ASSIGN_OR_RETURN(p.new_controller, ParseAddress(m.new_controller(), "new_controller"));
  }
  return p;
}

Result<DeactivateParsed> ValidateDeactivate(const v1::MsgDeactivateDid& m) {
  DeactivateParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.controller(), "controller"));
  DEPAI_ASSIGN_OR_RETURN(p.did20, ParseDid(m.did()));
  return p;
}

Result<RegisterParsed> ValidateRegister(const v1::MsgRegisterAttester& m) {
  RegisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  if (m.pub_key().size() != 32)
    return IdentityErr(kErrInvalidKey,
                       "pub_key: an ed25519 key is 32 bytes, got " + std::to_string(m.pub_key().size()));
  p.pub_key = m.pub_key();
  DEPAI_TRY(TextField(m.name(), kMaxName, "name"));
  p.name = m.name();
  if (m.bond().denom() != kDenom)
    return IdentityErr(kErrInvalidBond,
                       std::string("bond denom must be ") + kDenom + ", got '" + m.bond().denom() + "'");
  auto a = Amount::Parse(m.bond().amount());
  if (!a.ok()) return IdentityErr(kErrInvalidBond, "bond: " + a.error().message);
  if (a->is_zero()) return IdentityErr(kErrInvalidBond, "bond must be positive");
  p.bond = *a;
  return p;
}

Result<UnregisterParsed> ValidateUnregister(const v1::MsgUnregisterAttester& m) {
  UnregisterParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.owner(), "owner"));
  return p;
}

Result<AttestParsed> ValidateAttest(const v1::MsgAttestDevice& m) {
  AttestParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.sender(), "sender"));
  DEPAI_ASSIGN_OR_RETURN(p.did20, ParseDid(m.did()));
  if (!Fragment(m.device_key_id()))
    return IdentityErr(kErrUnknownDeviceKey,
                       "device_key_id must be a verification method fragment (1-64 of [A-Za-z0-9._-])");
  p.device_key_id = m.device_key_id();
  DEPAI_TRY(TextField(m.model(), kMaxModel, "model"));
  DEPAI_TRY(TextField(m.serial(), kMaxSerial, "serial"));
  p.model = m.model();
  p.serial = m.serial();
  DEPAI_ASSIGN_OR_RETURN(p.attester, ParseAddress(m.attester(), "attester"));
  if (m.signature().size() != 64)
    return IdentityErr(kErrInvalidAttestation,
                       "an ed25519 signature is 64 bytes, got " + std::to_string(m.signature().size()));
  p.signature = m.signature();
  return p;
}

Result<LinkParsed> ValidateLink(const v1::MsgLinkDid& m) {
  LinkParsed p;
  DEPAI_ASSIGN_OR_RETURN(p.signer, ParseAddress(m.account(), "account"));
  if (!m.did().empty()) {
    DEPAI_ASSIGN_OR_RETURN(p.did20, ParseDid(m.did()));
  }
  return p;
}

template <typename P>
MsgSpend NoSpend(const P&) {
  return {};
}
}  // namespace

std::vector<MsgRoute> Module::routes() {
  const Keeper& k = keeper_;
  return {
      MakeRoute(TypedRoute<v1::MsgCreateDid, CreateParsed>{
          kTypeCreateDid, &ValidateCreate,
          [&k](const View& v, const CreateParsed& p) { return k.check_create(v.state, p); },
          [&k](Context& c, const CreateParsed& p) { return k.create_did(c, p); }, &ProtoToJson,
          &NoSpend<CreateParsed>}),
      MakeRoute(TypedRoute<v1::MsgUpdateDid, UpdateParsed>{
          kTypeUpdateDid, &ValidateUpdate,
          [&k](const View& v, const UpdateParsed& p) { return k.check_update(v.state, p); },
          [&k](Context& c, const UpdateParsed& p) { return k.update_did(c, p); }, &ProtoToJson,
          &NoSpend<UpdateParsed>}),
      MakeRoute(TypedRoute<v1::MsgDeactivateDid, DeactivateParsed>{
          kTypeDeactivateDid, &ValidateDeactivate,
          [&k](const View& v, const DeactivateParsed& p) { return k.check_deactivate(v.state, p); },
          [&k](Context& c, const DeactivateParsed& p) { return k.deactivate_did(c, p); }, &ProtoToJson,
          &NoSpend<DeactivateParsed>}),
      // Moves a bond and names a manufacturer: never an agent wallet's message (spend null).
      MakeRoute(TypedRoute<v1::MsgRegisterAttester, RegisterParsed>{
          kTypeRegisterAttester, &ValidateRegister,
          [&k](const View& v, const RegisterParsed& p) { return k.check_register(v.state, p); },
          [&k](Context& c, const RegisterParsed& p) { return k.register_attester(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgUnregisterAttester, UnregisterParsed>{
          kTypeUnregisterAttester, &ValidateUnregister,
          [&k](const View& v, const UnregisterParsed& p) { return k.check_unregister(v.state, p); },
          [&k](Context& c, const UnregisterParsed& p) { return k.unregister_attester(c, p); }, &ProtoToJson}),
      MakeRoute(TypedRoute<v1::MsgAttestDevice, AttestParsed>{
          kTypeAttestDevice, &ValidateAttest,
          [&k](const View& v, const AttestParsed& p) { return k.check_attest(v.state, p, v.header.chain_id); },
          [&k](Context& c, const AttestParsed& p) { return k.attest_device(c, p); }, &ProtoToJson,
          &NoSpend<AttestParsed>}),
      MakeRoute(TypedRoute<v1::MsgLinkDid, LinkParsed>{
          kTypeLinkDid, &ValidateLink, [&k](const View& v, const LinkParsed& p) { return k.check_link(v.state, p); },
          [&k](Context& c, const LinkParsed& p) { return k.link_did(c, p); }, &ProtoToJson, &NoSpend<LinkParsed>}),
  };
}

}  // namespace depai::x::identity
