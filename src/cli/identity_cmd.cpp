// `depai tx identity ...`, `depai identity sign-attestation` and `depai query identity ...`:
// x/identity's did:depai identifiers, bonded attesters, device attestations and account links.
// `create-did --key NAME` takes the initial key from the keyring (a robot's own key) and prints
// the DID (did:depai:hex(AddressOf(key)), known before the tx lands). `sign-attestation` is
// off-chain: a manufacturer signs the statement of doc/modules/identity.md with its keyring key
// and prints the signature hex; the device's owner submits it with `tx identity attest-device`.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "depai/identity/v1/identity.pb.h"
#include "x/identity/keeper.h"
#include "x/types/codec.h"

namespace depai::cli {

using nlohmann::json;
namespace v1 = depai::identity::v1;

namespace {
struct IdentityArgs {
  TxArgs tx;
  std::vector<std::string> keys, services, accounts;
  std::string did, new_controller, pubkey, name, bond, device_key_id = "key-1", device_key, model, serial, attester,
                                                       signature, key;
  bool unlink = false;
};

// A public key given as 64 hex digits or a keyring key name (its public key).
Bytes PubKeyOrThrow(const GlobalOptions& g, const std::string& v, const char* what) {
  if (v.size() == 64) {
    if (auto b = HexDecode(v)) return *b;
  }
  auto kr = OpenKeyringOrThrow(g);
  auto info = kr.show(v);
  if (!info.ok())
    throw CommandError{std::string(what) + ": '" + v + "' is neither 64 hex digits nor a key in the keyring (" +
                       info.error().message + ")"};
  return info->pubkey;
}

// --key [id=]NAME_OR_HEX, repeated: the DID's verification methods (key-1, key-2, ... by default).
void FillKeys(const GlobalOptions& g, const std::vector<std::string>& keys,
              google::protobuf::RepeatedPtrField<v1::VerificationMethod>* out) {
  if (keys.empty()) throw CommandError{"--key: a DID needs at least one verification key"};
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string id = "key-" + std::to_string(i + 1), v = keys[i];
    if (auto eq = v.find('='); eq != std::string::npos) {
      id = v.substr(0, eq);
      v = v.substr(eq + 1);
    }
    auto* vm = out->Add();
    vm->set_id(id);
    vm->set_public_key(PubKeyOrThrow(g, v, "--key"));
  }
}

// --service id,type,endpoint, repeated.
void FillServices(const std::vector<std::string>& svcs, google::protobuf::RepeatedPtrField<v1::Service>* out) {
  for (const auto& s : svcs) {
    auto a = s.find(','), b = a == std::string::npos ? a : s.find(',', a + 1);
    if (b == std::string::npos)
      throw CommandError{"--service: expected id,type,endpoint (e.g. compute,DePINProvider,https://h:8443), got '" + s +
                         "'"};
    auto* sv = out->Add();
    sv->set_id(s.substr(0, a));
    sv->set_type(s.substr(a + 1, b - a - 1));
    sv->set_endpoint(s.substr(b + 1));
  }
}

std::string ChainIdOf(const GlobalOptions& g, const std::string& given) {
  return given.empty() ? GetJsonOrThrow(g, "/status").value("chain_id", "") : given;
}

json Send(const GlobalOptions& g, const IdentityArgs& a, const char* type_url, const google::protobuf::Message& m,
          const std::string& summary) {
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, a.tx.from);
  std::string from = SignerAddress(g, key);
  google::protobuf::Any any;
  any.set_type_url(type_url);
  any.set_value(x::DeterministicSerialize(m));
  return SignAndBroadcast(g, a.tx, key, from, {any}, summary);
}

std::string FromAddress(const GlobalOptions& g, const IdentityArgs& a) { return AddressOrKeyOrThrow(g, a.tx.from); }

void PrintDid(const GlobalOptions& g, const json& j) {
  Print(g, j, [](const json& r) {
    const json& d = r["didDocument"];
    const json& m = r["didDocumentMetadata"];
    std::cout << "did:          " << d.value("id", "") << "\ncontroller:   " << d.value("controller", "")
              << "\ncreated:      " << m.value("created", "") << "\nupdated:      " << m.value("updated", "")
              << "\ndeactivated:  " << (m.value("deactivated", false) ? "yes" : "no") << "\n";
    for (const auto& vm : d["verificationMethod"])
      std::cout << "key:          " << vm.value("id", "") << " " << vm["publicKeyJwk"].value("x", "") << "\n";
    for (const auto& s : d["service"])
      std::cout << "service:      " << s.value("id", "") << " " << s.value("type", "") << " "
                << s.value("serviceEndpoint", "") << "\n";
    for (const auto& at : m["attestations"])
      std::cout << "attestation:  " << at.value("device_key_id", "") << " " << at.value("model", "") << " / "
                << at.value("serial", "") << " by " << at.value("attester", "")
                << (at.value("counts", false) ? "" : " (attester not registered now)") << "\n";
  });
}
}  // namespace

void RegisterIdentityCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* it = tx->add_subcommand("identity", "x/identity: did:depai identifiers, device attesters and attestations");
  it->require_subcommand(1);
  auto a = std::make_shared<IdentityArgs>();
  auto from = [&](CLI::App* c, const char* who) {
    c->add_option("--from", a->tx.from, std::string(who) + ": key name (or address) in the keyring")->required();
    AddTxFlags(c, a->tx);
  };

  auto* create = it->add_subcommand("create-did", "Create did:depai:hex(address of the first --key); prints the DID");
  create->add_option("--key", a->keys, "[id=]key name or 64-hex ed25519 public key; repeat; the first names the DID")
      ->required();
  create->add_option("--service", a->services, "id,type,endpoint; repeat");
  create->add_option("--account", a->accounts, "An account (address or key name) allowed to link this DID; repeat");
  from(create, "Controller");
  create->callback([&g, a] {
    v1::MsgCreateDid m;
    m.set_controller(FromAddress(g, *a));
    FillKeys(g, a->keys, m.mutable_keys());
    FillServices(a->services, m.mutable_services());
    for (const auto& acc : a->accounts) m.add_accounts(AddressOrKeyOrThrow(g, acc));
    const std::string did = x::identity::DidOf(crypto::AddressOf(m.keys(0).public_key()));
    json ans = Send(g, *a, "/depai.identity.v1.MsgCreateDid", m, "create " + did + " controlled by " + m.controller());
    if (g.output != "json") std::cout << "did: " << did << "\n";
  });

  auto* update = it->add_subcommand("update-did", "Replace a DID's keys (rotation), services and accounts");
  update->add_option("did", a->did, "did:depai:...")->required();
  update->add_option("--key", a->keys, "[id=]key name or 64-hex public key; repeat (the new key set)")->required();
  update->add_option("--service", a->services, "id,type,endpoint; repeat (the new service set)");
  update->add_option("--account", a->accounts, "An account allowed to link; repeat (the new set)");
  update->add_option("--new-controller", a->new_controller, "Hand the DID to another account");
  from(update, "Controller");
  update->callback([&g, a] {
    v1::MsgUpdateDid m;
    m.set_controller(FromAddress(g, *a));
    m.set_did(a->did);
    FillKeys(g, a->keys, m.mutable_keys());
    FillServices(a->services, m.mutable_services());
    for (const auto& acc : a->accounts) m.add_accounts(AddressOrKeyOrThrow(g, acc));
    if (!a->new_controller.empty()) m.set_new_controller(AddressOrKeyOrThrow(g, a->new_controller));
    Send(g, *a, "/depai.identity.v1.MsgUpdateDid", m, "update " + a->did);
  });

  auto* deact = it->add_subcommand("deactivate-did", "Deactivate a DID (its links and attestations stop counting)");
  deact->add_option("did", a->did, "did:depai:...")->required();
  from(deact, "Controller");
  deact->callback([&g, a] {
    v1::MsgDeactivateDid m;
    m.set_controller(FromAddress(g, *a));
    m.set_did(a->did);
    Send(g, *a, "/depai.identity.v1.MsgDeactivateDid", m, "deactivate " + a->did);
  });

  auto* reg = it->add_subcommand("register-attester", "Register as a device attester (manufacturer), bonded");
  reg->add_option("--name", a->name, "The manufacturer's name")->required();
  reg->add_option("--bond", a->bond, "Bond, e.g. 100000000udpai (>= params.attester_bond)")->required();
  reg->add_option("--pubkey", a->pubkey, "Signing key: key name or 64-hex public key (default: the --from key)");
  from(reg, "Owner");
  reg->callback([&g, a] {
    auto c = ParseCoinsOrThrow(
        a->bond.find_first_not_of("0123456789") == std::string::npos ? a->bond + "udpai" : a->bond, "--bond");
    if (c.list().size() != 1) throw CommandError{"--bond: expected one udpai amount, got '" + a->bond + "'"};
    v1::MsgRegisterAttester m;
    m.set_owner(FromAddress(g, *a));
    m.set_pub_key(PubKeyOrThrow(g, a->pubkey.empty() ? a->tx.from : a->pubkey, "--pubkey"));
    m.set_name(a->name);
    m.mutable_bond()->set_denom(c.list()[0].denom);
    m.mutable_bond()->set_amount(c.list()[0].amount.str());
    Send(g, *a, "/depai.identity.v1.MsgRegisterAttester", m, "register attester '" + a->name + "' bonding " + c.str());
  });

  auto* unreg =
      it->add_subcommand("unregister-attester", "Unregister: attestations stop counting now, bond back later");
  from(unreg, "Owner");
  unreg->callback([&g, a] {
    v1::MsgUnregisterAttester m;
    m.set_owner(FromAddress(g, *a));
    Send(g, *a, "/depai.identity.v1.MsgUnregisterAttester", m, "unregister attester " + m.owner());
  });

  auto* att = it->add_subcommand("attest-device", "Submit an attester's signed device statement (sign-attestation)");
  att->add_option("--did", a->did, "did:depai:...")->required();
  att->add_option("--device-key-id", a->device_key_id, "The DID's verification method the statement binds")
      ->capture_default_str();
  att->add_option("--model", a->model, "Device model")->required();
  att->add_option("--serial", a->serial, "Serial number")->required();
  att->add_option("--attester", a->attester, "The attester's owner (address or key name)")->required();
  att->add_option("--signature", a->signature, "The attester's signature, 128 hex digits")->required();
  from(att, "Sender");
  att->callback([&g, a] {
    auto sig = HexDecode(a->signature);
    if (!sig || sig->size() != 64) throw CommandError{"--signature: expected 128 hex digits (an ed25519 signature)"};
    v1::MsgAttestDevice m;
    m.set_sender(FromAddress(g, *a));
    m.set_did(a->did);
    m.set_device_key_id(a->device_key_id);
    m.set_model(a->model);
    m.set_serial(a->serial);
    m.set_attester(AddressOrKeyOrThrow(g, a->attester));
    m.set_signature(*sig);
    Send(g, *a, "/depai.identity.v1.MsgAttestDevice", m,
         "attest " + a->did + "#" + a->device_key_id + " as " + a->model + " / " + a->serial);
  });

  auto* link = it->add_subcommand("link-did", "Link the --from account to a DID (it must be the controller or listed)");
  link->add_option("--did", a->did, "did:depai:...");
  link->add_flag("--unlink", a->unlink, "Remove the account's link instead");
  from(link, "Account");
  link->callback([&g, a] {
    if (a->did.empty() == !a->unlink) throw CommandError{"give exactly one of --did and --unlink"};
    v1::MsgLinkDid m;
    m.set_account(FromAddress(g, *a));
    m.set_did(a->did);
    Send(g, *a, "/depai.identity.v1.MsgLinkDid", m,
         a->unlink ? "unlink " + m.account() : "link " + m.account() + " to " + a->did);
  });

  // Off-chain: the attester's signature over the statement.
  auto* id = app.add_subcommand("identity", "x/identity off-chain tools");
  id->require_subcommand(1);
  auto* sign =
      id->add_subcommand("sign-attestation", "Sign a device statement with an attester key; prints the signature hex");
  sign->add_option("--key", a->key, "The attester's key name in the keyring")->required();
  sign->add_option("--did", a->did, "did:depai:...")->required();
  sign->add_option("--device-key", a->device_key, "The device's public key: 64 hex digits or a key name")->required();
  sign->add_option("--model", a->model, "Device model")->required();
  sign->add_option("--serial", a->serial, "Serial number")->required();
  sign->add_option("--chain-id", a->tx.chain_id, "Chain id the statement is for (default: asked from the node)");
  sign->callback([&g, a] {
    if (!x::identity::ParseDid(a->did).ok())
      throw CommandError{"--did: '" + a->did + "' is not a did:depai identifier"};
    if (a->model.empty() || a->model.size() > x::identity::kMaxModel || a->serial.empty() ||
        a->serial.size() > x::identity::kMaxSerial)
      throw CommandError{"--model and --serial must be 1-128 bytes"};
    const Bytes device = PubKeyOrThrow(g, a->device_key, "--device-key");
    auto key = LoadKeyOrThrow(g, a->key);
    const std::string chain = ChainIdOf(g, a->tx.chain_id);
    if (chain.empty() || chain.size() > 255) throw CommandError{"--chain-id: a chain id of 1-255 bytes is needed"};
    const Bytes stmt = x::identity::AttestationStatement(chain, a->did, device, a->model, a->serial);
    const std::string sig = HexEncode(crypto::Sign(key, stmt));
    json j{{"signature", sig},
           {"attester_pub_key", HexEncode(key.pubkey)},
           {"chain_id", chain},
           {"statement", HexEncode(stmt)}};
    Print(g, j, [&] { std::cout << sig << "\n"; });
  });

  auto* q = app.get_subcommand("query");
  auto* iq = q->add_subcommand("identity", "x/identity queries");
  iq->require_subcommand(1);
  auto* qd = iq->add_subcommand("did", "Resolve a DID: its W3C DID document and metadata");
  qd->add_option("did", a->did, "did:depai:...")->required();
  qd->callback([&g, a] { PrintDid(g, GetJsonOrThrow(g, "/q/identity/did/" + a->did)); });
  auto* qa = iq->add_subcommand("attesters", "Registered (and unbonding) attesters");
  qa->callback([&g] {
    Print(g, GetJsonOrThrow(g, "/q/identity/attesters"), [](const json& j) {
      for (const auto& at : j["attesters"])
        std::cout << at.value("owner", "") << "  " << at.value("name", "") << "  bond " << at.value("bond", "")
                  << "udpai  " << (at.value("active", false) ? "active" : "unbonding") << "\n";
    });
  });
  auto* ql = iq->add_subcommand("link", "The DID an account has linked (live links only)");
  ql->add_option("account", a->attester, "Address or key name")->required();
  ql->callback([&g, a] {
    Print(g, GetJsonOrThrow(g, "/q/identity/link/" + AddressOrKeyOrThrow(g, a->attester)), [](const json& j) {
      std::cout << "did: " << j.value("did", "") << (j.value("attested", false) ? " (attested)" : "") << "\n";
    });
  });
}

}  // namespace depai::cli
