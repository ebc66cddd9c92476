// x/identity through the real App (TestLedger) and on a bare store: did:depai ids from the initial
// key, W3C DID Core resolution, update with key rotation, deactivation, bonded attesters with
// unbonding, verified device attestations (and every way to cheat one: a forged or tampered
// statement, another chain's, another DID's, an unregistered or unregistered-since attester),
// links, market orders with require_attested, refusals that leave no trace, genesis round trip,
// corrupt stored records (faults, not absences), and the attestation encoding's test vector.
#include <gtest/gtest.h>

#include "client/market_msgs.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "depai/identity/v1/identity.pb.h"
#include "depai/provider/v1/provider.pb.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/bank/keeper.h"
#include "x/identity/keys.h"
#include "x/identity/module.h"
#include "x/market/keeper.h"

namespace depai::test {
namespace {

namespace iv1 = depai::identity::v1;
namespace mv1 = depai::market::v1;
namespace pv1 = depai::provider::v1;
namespace xi = depai::x::identity;
using nlohmann::json;

constexpr uint64_t kFee = 10;
constexpr uint64_t kBond = 1'000'000;
constexpr int64_t kUnbonding = 3;
// doc/modules/identity.md, "Attestation encoding": seeds 32 x 0x01 (attester) and 32 x 0x02 (device).
constexpr const char* kVectorAttesterPub = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
constexpr const char* kVectorDevicePub = "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394";
constexpr const char* kVectorStatement =
    "64657061692d6465766963652d6174746573746174696f6e2d76310e64657061692d6465766e65742d31326469643a646570"
    "61693a366133383033643566303539393032613163366461666263396261343732393231326637636161638139770ea87d17"
    "5f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394000258320003534e31";
constexpr const char* kVectorSignature =
    "04a1cc0a56cc1382ac8bcef57b6d3b4c99acb383405aa7917b8f3959e76fb831b72152c0be5d60f26b6834a0c73ba8eb69c6a041453c53e292"
    "99e2e19ba81101";

crypto::KeyPair Key(const std::string& what) { return *crypto::KeyFromSeed(crypto::Sha256(what)); }

class Identity : public ::testing::Test {
 protected:
  Identity() : L(6, "", false) {
    json g = L.Genesis();
    g["identity"] = {
        {"params",
         {{"attester_bond", std::to_string(kBond)}, {"attester_unbonding_blocks", std::to_string(kUnbonding)}}}};
    auto req = L.InitRequest();
    req.app_state_bytes = g.dump();
    auto r = L.app->InitChain(req);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    L.Block({});
  }

  app::ExecTxResult Tx(size_t who, const google::protobuf::Any& msg) { return L.Block({L.SignAny(who, {msg})}).at(0); }
  const std::string& Addr(size_t i) { return L.accounts.at(i).bech32; }
  json Q(const std::string& p) { return L.Query(p); }
  json State() { return json::parse(L.app->ExportGenesis().value())["app_state"]["identity"]; }
  uint64_t ModuleBalance() { return L.Balance(crypto::AddressToBech32(xi::ModuleAddress())); }

  // A refusal: the code, the log naming the rule, and no trace (identity state, the bond account
  // and the signer's balance but the fee; no identity event).
  void ExpectRefused(size_t who, const google::protobuf::Any& msg, uint32_t code, const std::string& log_part,
                     const std::string& codespace = xi::kCodespace, uint64_t fee = kFee) {
    SCOPED_TRACE(msg.type_url() + " expecting " + log_part);
    const json before = State();
    const uint64_t held = ModuleBalance(), bal = L.Balance(Addr(who));
    auto r = Tx(who, msg);
    EXPECT_EQ(r.code, code) << r.log;
    EXPECT_EQ(r.codespace, codespace) << r.log;
    EXPECT_NE(r.log.find(log_part), std::string::npos) << r.log;
    EXPECT_EQ(State(), before);
    EXPECT_EQ(ModuleBalance(), held);
    EXPECT_EQ(L.Balance(Addr(who)), bal - fee);
    for (const auto& e : r.events) EXPECT_NE(e.type.rfind("identity.", 0), 0u) << e.type;
  }

  static google::protobuf::Any Create(const std::string& controller, const std::vector<Bytes>& keys,
                                      const std::vector<std::string>& accounts = {}) {
    iv1::MsgCreateDid m;
    m.set_controller(controller);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto* k = m.add_keys();
      k->set_id("key-" + std::to_string(i + 1));
      k->set_public_key(keys[i]);
    }
    auto* s = m.add_services();
    s->set_id("telemetry");
    s->set_type("DePINTelemetry");
    s->set_endpoint("https://robot-1.example/telemetry");
    for (const auto& a : accounts) m.add_accounts(a);
    return client::PackAny(m);
  }
  static google::protobuf::Any Register(const std::string& owner, const Bytes& pub, uint64_t bond,
                                        const std::string& denom = "udpai") {
    iv1::MsgRegisterAttester m;
    m.set_owner(owner);
    m.set_pub_key(pub);
    m.set_name("Acme Robotics");
    m.mutable_bond()->set_denom(denom);
    m.mutable_bond()->set_amount(std::to_string(bond));
    return client::PackAny(m);
  }
  static google::protobuf::Any Unregister(const std::string& owner) {
    iv1::MsgUnregisterAttester m;
    m.set_owner(owner);
    return client::PackAny(m);
  }
  static iv1::MsgAttestDevice Attest(const std::string& sender, const std::string& did, const std::string& attester,
                                     const crypto::KeyPair& signer, const Bytes& device_key,
                                     const std::string& chain = TestLedger::kChainId,
                                     const std::string& signed_did = "") {
    iv1::MsgAttestDevice m;
    m.set_sender(sender);
    m.set_did(did);
    m.set_device_key_id("key-1");
    m.set_model("DeliveryDrone X2");
    m.set_serial("SN-000123");
    m.set_attester(attester);
    m.set_signature(crypto::Sign(signer, xi::AttestationStatement(chain, signed_did.empty() ? did : signed_did,
                                                                  device_key, m.model(), m.serial())));
    return m;
  }
  static google::protobuf::Any Link(const std::string& account, const std::string& did) {
    iv1::MsgLinkDid m;
    m.set_account(account);
    m.set_did(did);
    return client::PackAny(m);
  }
  bool Attested(size_t i) { return Q("/identity/link/" + Addr(i)).value("attested", false); }

  TestLedger L;
  crypto::KeyPair robot = Key("robot-1"), maker = Key("maker-1"), forger = Key("forger");
  std::string did = xi::DidOf(crypto::AddressOf(robot.pubkey));
};

TEST(IdentityEncoding, DidsParseOnlyInTheirCanonicalForm) {
  const Bytes a(20, '\x01');
  EXPECT_EQ(xi::DidOf(a), "did:depai:0101010101010101010101010101010101010101");
  EXPECT_EQ(xi::ParseDid(xi::DidOf(a)).value(), a);
  for (const char* bad :
       {"did:depai:0101", "did:depai:0101010101010101010101010101010101010101ff",
        "did:depai:0101010101010101010101010101010101010G01", "did:DEPAI:0101010101010101010101010101010101010101",
        "did:depai:0101010101010101010101010101010101010A01", "did:example:1234", ""}) {
    auto r = xi::ParseDid(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, xi::kErrInvalidDid);
  }
}

// The vector in doc/modules/identity.md ("Attestation encoding").
TEST(IdentityEncoding, AttestationStatementTestVector) {
  auto attester = *crypto::KeyFromSeed(Bytes(32, '\x01'));
  auto device = *crypto::KeyFromSeed(Bytes(32, '\x02'));
  const std::string d = xi::DidOf(crypto::AddressOf(device.pubkey));
  const Bytes stmt = xi::AttestationStatement("depai-devnet-1", d, device.pubkey, "X2", "SN1");
  EXPECT_EQ(d, "did:depai:6a3803d5f059902a1c6dafbc9ba4729212f7caac");
  EXPECT_EQ(stmt.size(), 27u + 1 + 14 + 1 + 50 + 32 + 2 + 2 + 2 + 3);
  const std::string hex = HexEncode(stmt);
  // "depai-device-attestation-v1" || 0e "depai-devnet-1" || 32 (50) did || key || 0002 "X2" || 0003 "SN1"
  EXPECT_EQ(hex.substr(0, 54), HexEncode("depai-device-attestation-v1"));
  EXPECT_EQ(hex.substr(54, 2), "0e");
  EXPECT_EQ(hex.substr(hex.size() - 18), "0002" + HexEncode("X2") + "0003" + HexEncode("SN1"));
  const std::string sig = HexEncode(crypto::Sign(attester, stmt));
  EXPECT_TRUE(crypto::Verify(attester.pubkey, stmt, *HexDecode(sig)));
  EXPECT_EQ(HexEncode(attester.pubkey), kVectorAttesterPub);
  EXPECT_EQ(HexEncode(device.pubkey), kVectorDevicePub);
  EXPECT_EQ(hex, kVectorStatement);
  EXPECT_EQ(sig, kVectorSignature);
}

TEST_F(Identity, CreateResolvesAsW3CDocumentAndTheInitialKeyIsTaken) {
  ASSERT_EQ(Tx(0, Create(Addr(0), {robot.pubkey}, {Addr(1)})).code, 0u);
  json r = Q("/identity/did/" + did);
  const json& doc = r["didDocument"];
  EXPECT_EQ(doc["id"], did);
  EXPECT_EQ(doc["controller"], Addr(0));
  ASSERT_EQ(doc["verificationMethod"].size(), 1u);
  EXPECT_EQ(doc["verificationMethod"][0]["id"], did + "#key-1");
  EXPECT_EQ(doc["verificationMethod"][0]["type"], "JsonWebKey2020");
  EXPECT_EQ(doc["verificationMethod"][0]["publicKeyJwk"]["crv"], "Ed25519");
  std::string x = crypto::Base64Encode(robot.pubkey);
  while (x.back() == '=') x.pop_back();
  for (char& c : x) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  EXPECT_EQ(doc["verificationMethod"][0]["publicKeyJwk"]["x"], x);
  EXPECT_EQ(doc["authentication"], json::array({did + "#key-1"}));
  EXPECT_EQ(doc["service"][0]["serviceEndpoint"], "https://robot-1.example/telemetry");
  EXPECT_EQ(r["didDocumentMetadata"]["deactivated"], false);
  EXPECT_EQ(r["didDocumentMetadata"]["created"], r["didDocumentMetadata"]["updated"]);
  // A second create with the same initial key (by anyone) is refused: the DID exists.
  ExpectRefused(2, Create(Addr(2), {robot.pubkey}), xi::kErrDidExists, did + " already exists");
  // Stateless refusals (before the fee): no key, a short key, a bad service.
  ExpectRefused(2, Create(Addr(2), {}), xi::kErrInvalidKey, "at least one verification key", xi::kCodespace, 0);
  ExpectRefused(2, Create(Addr(2), {Bytes(31, 'k')}), xi::kErrInvalidKey, "32 bytes, got 31", xi::kCodespace, 0);
  // Unknown and malformed DIDs.
  EXPECT_EQ(Q("/identity/did/did:depai:" + std::string(40, '0'))["code"].get<uint32_t>(),
            uint32_t{xi::kErrDidNotFound});
  EXPECT_EQ(Q("/identity/did/did:depai:xyz")["code"].get<uint32_t>(), uint32_t{xi::kErrInvalidDid});
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST_F(Identity, OnlyTheControllerUpdatesAndDeactivatesAndRotationDropsStaleAttestations) {
  ASSERT_EQ(Tx(0, Create(Addr(0), {robot.pubkey})).code, 0u);
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  ASSERT_EQ(Tx(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, robot.pubkey))).code, 0u);
  iv1::MsgUpdateDid u;
  u.set_controller(Addr(1));
  u.set_did(did);
  auto* k = u.add_keys();
  k->set_id("key-2");
  k->set_public_key(Key("robot-1-rotated").pubkey);
  ExpectRefused(1, client::PackAny(u), xi::kErrNotController, "is not the controller of " + did);
  // Rotation by the controller: the attested key-1 goes, and so does its attestation; the id stays.
  u.set_controller(Addr(0));
  ASSERT_EQ(Tx(0, client::PackAny(u)).code, 0u);
  json r = Q("/identity/did/" + did);
  EXPECT_EQ(r["didDocument"]["id"], did);
  EXPECT_EQ(r["didDocument"]["verificationMethod"][0]["id"], did + "#key-2");
  EXPECT_TRUE(r["didDocumentMetadata"]["attestations"].empty());
  EXPECT_NE(r["didDocumentMetadata"]["updated"], r["didDocumentMetadata"]["created"]);
  // A duplicate fragment is refused statelessly.
  *u.add_keys() = u.keys(0);
  ExpectRefused(0, client::PackAny(u), xi::kErrInvalidKey, "'key-2' is repeated", xi::kCodespace, 0);
  // Deactivation: by the controller only, once; afterwards nothing changes it.
  iv1::MsgDeactivateDid dm;
  dm.set_controller(Addr(1));
  dm.set_did(did);
  ExpectRefused(1, client::PackAny(dm), xi::kErrNotController, "is not the controller");
  dm.set_controller(Addr(0));
  ASSERT_EQ(Tx(0, client::PackAny(dm)).code, 0u);
  EXPECT_EQ(Q("/identity/did/" + did)["didDocumentMetadata"]["deactivated"], true);
  ExpectRefused(0, client::PackAny(dm), xi::kErrDeactivated, did + " is deactivated");
  u.mutable_keys()->RemoveLast();
  ExpectRefused(0, client::PackAny(u), xi::kErrDeactivated, "is deactivated");
  ExpectRefused(0, Link(Addr(0), did), xi::kErrDeactivated, "is deactivated");
  // The id stays taken.
  ExpectRefused(4, Create(Addr(4), {robot.pubkey}), xi::kErrDidExists, "already exists");
}

TEST_F(Identity, AttesterBondIsHeldThenReturnedAfterUnbonding) {
  ExpectRefused(3, Register(Addr(3), maker.pubkey, kBond - 1), xi::kErrBondTooLow,
                "bond 999999udpai is below attester_bond 1000000udpai");
  ExpectRefused(3, Register(Addr(3), maker.pubkey, kBond, "ucredit"), xi::kErrInvalidBond, "bond denom must be udpai",
                xi::kCodespace, 0);
  ExpectRefused(3, Register(Addr(3), maker.pubkey, TestLedger::kInitialBalance), x::kErrInsufficientFunds,
                "insufficient funds", "sdk");
  ExpectRefused(3, Unregister(Addr(3)), xi::kErrAttesterNotFound, "is not registered");
  const uint64_t before = L.Balance(Addr(3));
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  EXPECT_EQ(ModuleBalance(), kBond);
  EXPECT_EQ(L.Balance(Addr(3)), before - kBond - kFee);
  ExpectRefused(3, Register(Addr(3), maker.pubkey, kBond), xi::kErrAttesterExists, "is already registered");
  // A user transfer into module:identity is refused (the invariant pins its balance).
  auto send = L.Block({L.Send(1, crypto::AddressToBech32(xi::ModuleAddress()), "5udpai")}).at(0);
  EXPECT_NE(send.code, 0u);
  ASSERT_EQ(Tx(3, Unregister(Addr(3))).code, 0u);
  const int64_t h = L.app->last_height();
  ExpectRefused(3, Register(Addr(3), maker.pubkey, kBond), xi::kErrAttesterExists,
                "is unbonding until height " + std::to_string(h + kUnbonding));
  EXPECT_EQ(Q("/identity/attesters")["attesters"][0]["active"], false);
  while (L.app->last_height() < h + kUnbonding - 1) L.Block({});
  EXPECT_EQ(ModuleBalance(), kBond);  // not yet
  L.Block({});
  EXPECT_EQ(ModuleBalance(), 0u);
  EXPECT_EQ(L.Balance(Addr(3)), before - 4 * kFee);  // the bond is back; the fees of the four txs of account 3 are not
  EXPECT_TRUE(Q("/identity/attesters")["attesters"].empty());
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST_F(Identity, AttestationsVerifyOnlyUnderARegisteredAttestersKeyForThisChainDidAndDevice) {
  ASSERT_EQ(Tx(0, Create(Addr(0), {robot.pubkey, Key("robot-1-b").pubkey})).code, 0u);
  auto other = Key("robot-2");
  const std::string other_did = xi::DidOf(crypto::AddressOf(other.pubkey));
  ASSERT_EQ(Tx(1, Create(Addr(1), {other.pubkey})).code, 0u);
  // An attester that never registered: refused, whatever it signs.
  ExpectRefused(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, robot.pubkey)), xi::kErrAttesterNotFound,
                "attester " + Addr(3) + " is not registered");
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  // A forgery: signed by a key other than the registered one.
  ExpectRefused(0, client::PackAny(Attest(Addr(0), did, Addr(3), forger, robot.pubkey)), xi::kErrInvalidAttestation,
                "does not verify under attester " + Addr(3));
  // Another chain's statement.
  ExpectRefused(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, robot.pubkey, "depai-other-1")),
                xi::kErrInvalidAttestation, "for chain " + std::string(TestLedger::kChainId));
  // A statement for another DID, replayed onto this one.
  ExpectRefused(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, robot.pubkey, TestLedger::kChainId, other_did)),
                xi::kErrInvalidAttestation, "does not verify");
  // A statement for another device key (key-2's key signed, key-1 claimed).
  ExpectRefused(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, Key("robot-1-b").pubkey)),
                xi::kErrInvalidAttestation, "does not verify");
  // Tampered after signing: the serial changed.
  auto tampered = Attest(Addr(0), did, Addr(3), maker, robot.pubkey);
  tampered.set_serial("SN-000124");
  ExpectRefused(0, client::PackAny(tampered), xi::kErrInvalidAttestation, "serial 'SN-000124'");
  // A device key the DID does not have; a DID that does not exist.
  auto unknown = Attest(Addr(0), did, Addr(3), maker, robot.pubkey);
  unknown.set_device_key_id("key-7");
  ExpectRefused(0, client::PackAny(unknown), xi::kErrUnknownDeviceKey, "'key-7' is not a verification method");
  const std::string nobody = xi::DidOf(Bytes(20, '\x07'));
  ExpectRefused(0, client::PackAny(Attest(Addr(0), nobody, Addr(3), maker, robot.pubkey)), xi::kErrDidNotFound,
                "does not exist");
  // The genuine statement: anyone may submit it (here account 5), and it is recorded once.
  auto good = Attest(Addr(5), did, Addr(3), maker, robot.pubkey);
  ASSERT_EQ(Tx(5, client::PackAny(good)).code, 0u);
  ExpectRefused(5, client::PackAny(good), xi::kErrAlreadyAttested, "already attested " + did + "#key-1");
  json atts = Q("/identity/did/" + did)["didDocumentMetadata"]["attestations"];
  ASSERT_EQ(atts.size(), 1u);
  EXPECT_EQ(atts[0]["attester"], Addr(3));
  EXPECT_EQ(atts[0]["model"], "DeliveryDrone X2");
  EXPECT_EQ(atts[0]["device_key"], HexEncode(robot.pubkey));
  EXPECT_EQ(atts[0]["counts"], true);
  // Not linked yet: not attested. Linked by the controller: attested.
  EXPECT_FALSE(Attested(0));
  ASSERT_EQ(Tx(0, Link(Addr(0), did)).code, 0u);
  EXPECT_TRUE(Attested(0));
  // Unregistered: its attestations stop counting at once, and it can attest no more.
  ASSERT_EQ(Tx(3, Unregister(Addr(3))).code, 0u);
  EXPECT_FALSE(Attested(0));
  EXPECT_EQ(Q("/identity/did/" + did)["didDocumentMetadata"]["attestations"][0]["counts"], false);
  auto late = Attest(Addr(1), other_did, Addr(3), maker, other.pubkey);
  ExpectRefused(1, client::PackAny(late), xi::kErrAttesterNotFound, "is unregistered");
  // After unbonding, a new registration of the same owner does not revive the old attestation.
  for (int i = 0; i < kUnbonding; ++i) L.Block({});
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  EXPECT_FALSE(Attested(0));
  ASSERT_EQ(Tx(1, client::PackAny(Attest(Addr(1), other_did, Addr(3), maker, other.pubkey))).code, 0u);
  ASSERT_EQ(Tx(1, Link(Addr(1), other_did)).code, 0u);
  EXPECT_TRUE(Attested(1));
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST_F(Identity, ALinkCountsOnlyForTheControllerOrAListedAccountOfALiveDid) {
  ASSERT_EQ(Tx(0, Create(Addr(0), {robot.pubkey}, {Addr(1)})).code, 0u);
  ExpectRefused(2, Link(Addr(2), did), xi::kErrLinkNotAllowed, Addr(2) + " may not link " + did);
  ExpectRefused(2, Link(Addr(2), ""), xi::kErrNotLinked, "has no DID link");
  ASSERT_EQ(Tx(1, Link(Addr(1), did)).code, 0u);  // the listed account (an agent wallet, say)
  EXPECT_EQ(Q("/identity/link/" + Addr(1))["did"], did);
  // The controller takes the account off the list: the link stops counting.
  iv1::MsgUpdateDid u;
  u.set_controller(Addr(0));
  u.set_did(did);
  auto* k = u.add_keys();
  k->set_id("key-1");
  k->set_public_key(robot.pubkey);
  ASSERT_EQ(Tx(0, client::PackAny(u)).code, 0u);
  EXPECT_EQ(Q("/identity/link/" + Addr(1))["did"], "");
  // Unlink removes the record.
  ASSERT_EQ(Tx(1, Link(Addr(1), "")).code, 0u);
  EXPECT_TRUE(State()["links"].empty());
}

TEST_F(Identity, OrdersThatRequireAttestedDevicesRefuseUnattestedProvidersBidsAndLeases) {
  for (size_t p : {1, 2}) {
    pv1::MsgRegisterProvider m;
    m.set_owner(Addr(p));
    m.set_endpoint("https://p" + std::to_string(p) + ".example:8443");
    m.set_region("eu-west");
    m.mutable_resources()->set_cpu_millicores(16000);
    m.mutable_resources()->set_memory_mib(65536);
    m.mutable_collateral()->set_denom("udpai");
    m.mutable_collateral()->set_amount("1000000");
    ASSERT_EQ(Tx(p, client::PackAny(m)).code, 0u);
  }
  // Both providers have DIDs attested by account 3 and linked.
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  for (size_t p : {1, 2}) {
    auto dev = Key("provider-device-" + std::to_string(p));
    const std::string d = xi::DidOf(crypto::AddressOf(dev.pubkey));
    ASSERT_EQ(Tx(p, Create(Addr(p), {dev.pubkey})).code, 0u);
    if (p == 1) ASSERT_EQ(Tx(p, client::PackAny(Attest(Addr(p), d, Addr(3), maker, dev.pubkey))).code, 0u);
    ASSERT_EQ(Tx(p, Link(Addr(p), d)).code, 0u);
  }
  EXPECT_TRUE(Attested(1));
  EXPECT_FALSE(Attested(2));
  mv1::MsgCreateOrder o;
  o.set_owner(Addr(0));
  auto* g = o.add_groups();
  g->set_name("job");
  g->set_count(1);
  g->mutable_units()->set_cpu_millicores(1000);
  g->mutable_units()->set_memory_mib(1024);
  o.mutable_max_price_per_block()->set_denom("udpai");
  o.mutable_max_price_per_block()->set_amount("100");
  o.mutable_deposit()->set_denom("udpai");
  o.mutable_deposit()->set_amount("100000");
  o.set_bid_window_blocks(50);
  o.set_manifest_hash(crypto::Sha256("manifest"));
  o.set_require_attested(true);
  ASSERT_EQ(Tx(0, client::PackMsgCreateOrder(o)).code, 0u);
  EXPECT_EQ(Q("/market/orders/1")["order"]["require_attested"], true);
  auto r = Tx(2, client::PackMsgCreateBid(Addr(2), 1, Amount::Of(50).value()));
  EXPECT_EQ(r.codespace, "market");
  EXPECT_EQ(r.code, x::market::kErrNotAttested);
  EXPECT_EQ(r.log, "order 1 requires an attested device: provider " + Addr(2) + " has no attested DID");
  ASSERT_EQ(Tx(1, client::PackMsgCreateBid(Addr(1), 1, Amount::Of(60).value())).code, 0u);
  // The attester unregisters before the lease: provider 1 is no longer attested; the lease is refused.
  ASSERT_EQ(Tx(3, Unregister(Addr(3))).code, 0u);
  r = Tx(0, client::PackMsgCreateLease(Addr(0), 1, Addr(1)));
  EXPECT_EQ(r.code, x::market::kErrNotAttested) << r.log;
  EXPECT_NE(r.log.find("provider " + Addr(1) + " has no attested DID"), std::string::npos) << r.log;
  // An order without the flag takes anyone's bid.
  o.set_require_attested(false);
  ASSERT_EQ(Tx(0, client::PackMsgCreateOrder(o)).code, 0u);
  EXPECT_EQ(Tx(2, client::PackMsgCreateBid(Addr(2), 2, Amount::Of(50).value())).code, 0u);
}

TEST_F(Identity, GenesisExportImportRoundTrip) {
  ASSERT_EQ(Tx(0, Create(Addr(0), {robot.pubkey}, {Addr(1)})).code, 0u);
  ASSERT_EQ(Tx(3, Register(Addr(3), maker.pubkey, kBond)).code, 0u);
  ASSERT_EQ(Tx(4, Register(Addr(4), forger.pubkey, kBond)).code, 0u);
  ASSERT_EQ(Tx(0, client::PackAny(Attest(Addr(0), did, Addr(3), maker, robot.pubkey))).code, 0u);
  ASSERT_EQ(Tx(1, Link(Addr(1), did)).code, 0u);
  ASSERT_EQ(Tx(4, Unregister(Addr(4))).code, 0u);  // unbonding across the export
  json exported = json::parse(L.app->ExportGenesis().value());
  TestLedger L2(6, "", false);
  app::RequestInitChain req;
  req.chain_id = TestLedger::kChainId;
  req.initial_height = exported["initial_height"].get<int64_t>();
  req.app_state_bytes = exported["app_state"].dump();
  auto ic = L2.app->InitChain(req);
  ASSERT_TRUE(ic.ok()) << ic.error().message;
  app::RequestFinalizeBlock fb;
  fb.height = req.initial_height;
  ASSERT_TRUE(L2.app->FinalizeBlock(fb).ok());
  ASSERT_TRUE(L2.app->Commit().ok());
  EXPECT_TRUE(L2.app->CheckInvariants().ok());
  EXPECT_EQ(json::parse(L2.app->ExportGenesis().value())["app_state"]["identity"], exported["app_state"]["identity"]);
  EXPECT_TRUE(L2.Query("/identity/link/" + Addr(1))["attested"].get<bool>());
  // A genesis whose bonds are not held by module:identity is refused.
  json bad = exported["app_state"];
  bad["identity"]["attesters"][0]["bond"] = "5";
  TestLedger L3(6, "", false);
  req.app_state_bytes = bad.dump();
  auto ic3 = L3.app->InitChain(req);
  ASSERT_FALSE(ic3.ok());
  EXPECT_NE(ic3.error().message.find("attester bonds sum to"), std::string::npos) << ic3.error().message;
}

// Keeper-level, on a bare store with the real bank keeper: corrupt stored records are faults.
class BankAdapter : public xi::BankKeeper {
 public:
  explicit BankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Status send(x::Context& ctx, std::string_view f, std::string_view t, const Coins& c) const override {
    return k_->send(ctx, f, t, c, false);
  }
  Result<Amount> balance(const store::KVReader& s, std::string_view a, std::string_view d) const override {
    return k_->balance(s, a, d);
  }

 private:
  const x::bank::Keeper* k_;
};

TEST(IdentityKeeper, CorruptStoredRecordsAreFaultsNotAbsences) {
  store::MemStore s;
  x::bank::Keeper bank;
  BankAdapter adapter{&bank};
  xi::Keeper k{&adapter};
  const Bytes did20(20, '\x05'), acct(20, '\x06'), owner(20, '\x07');
  s.set(xi::keys::Did(did20), "\xff\xff garbage");
  auto d = k.did(s, did20);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(x::IsFault(d.error()));
  // A link to it: linked_did and attested (market's view) fault rather than answer "none".
  k.set_link(s, acct, did20);
  auto a = k.attested(s, acct);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(x::IsFault(a.error()));
  // The message checks fault too.
  xi::AttestParsed m;
  m.signer = acct;
  m.did20 = did20;
  m.device_key_id = "key-1";
  m.attester = owner;
  auto st = k.check_attest(s, m, TestLedger::kChainId);
  EXPECT_TRUE(x::IsFault(st));
  xi::LinkParsed lp{acct, did20};
  EXPECT_TRUE(x::IsFault(k.check_link(s, lp)));
  // A corrupt attester record (bad bond) and a link of the wrong size.
  iv1::Attester at;
  at.set_owner(crypto::AddressToBech32(owner));
  at.set_pub_key(Bytes(32, 'k'));
  at.set_bond("not a number");
  s.set(xi::keys::Attester(owner), at.SerializeAsString());
  EXPECT_TRUE(x::IsFault(k.attester(s, owner).error()));
  s.set(xi::keys::Link(acct), "short");
  EXPECT_TRUE(x::IsFault(k.linked_did(s, acct).error()));
  // The full invariant reports a fault, never a module code.
  auto inv = k.check_invariants_full(s);
  ASSERT_FALSE(inv.ok());
  EXPECT_TRUE(x::IsFault(inv.error()));
}

TEST(IdentityKeeper, InvariantCatchesUnbackedBonds) {
  store::MemStore s;
  x::bank::Keeper bank;
  BankAdapter adapter{&bank};
  xi::Keeper k{&adapter};
  iv1::Attester at;
  at.set_owner(crypto::AddressToBech32(Bytes(20, '\x07')));
  at.set_pub_key(Bytes(32, 'k'));
  at.set_bond("1000");
  at.set_active(true);
  k.set_attester(s, Bytes(20, '\x07'), at);
  auto inv = k.check_invariants_full(s);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().code, x::kFaultInvariant);
  EXPECT_NE(inv.error().message.find("holds 0udpai but attester bonds sum to 1000udpai"), std::string::npos);
}

}  // namespace
}  // namespace depai::test
