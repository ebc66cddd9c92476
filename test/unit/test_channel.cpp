// x/channel on the test ledger: open, top-up, vouchers and tickets redeemed, close, the challenge
// period and settle, with balances exact; the cheating attempts (a stale voucher at close, a
// forged voucher, a voucher from another channel or chain, an over-deposit redeem, a ticket off
// the chain) refused with the rule and the numbers and leaving no trace; a ucredit channel burns
// what it pays; a corrupt stored record is a fault; the encodings against the test vectors of
// doc/modules/channel.md; and the off-chain library (hash chains, receiver state, frames).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "client/channel.h"
#include "client/channel_stream.h"
#include "crypto/hash.h"
#include "ledger_fixture.h"
#include "store/cache_store.h"
#include "x/channel/keys.h"
#include "x/channel/module.h"

namespace depai::test {
namespace {

namespace cv1 = depai::channel::v1;
namespace xc = x::channel;

crypto::KeyPair VoucherKey(const std::string& name = "payer-voucher-key") {
  return *crypto::KeyFromSeed(crypto::Sha256(name));
}

class ChannelTest : public ::testing::Test {
 protected:
  TestLedger L{4};
  crypto::KeyPair vk = VoucherKey();
  const std::string chain = TestLedger::kChainId;
  static constexpr size_t kPayer = 0, kPayee = 1, kOther = 2;

  const xc::Module& Mod() {
    for (const auto* m : L.app->Modules())
      if (m->name() == "channel") return *dynamic_cast<const xc::Module*>(m);
    throw std::runtime_error("no channel module");
  }

  app::ExecTxResult Run(size_t signer, const google::protobuf::Any& msg) {
    auto r = L.Block({L.SignAny(signer, {msg})});
    return r.at(0);
  }

  google::protobuf::Any Open(size_t payer, size_t payee, const std::string& amount, const std::string& denom = "udpai",
                             int64_t challenge = 100, const Bytes& key = {}) {
    cv1::MsgOpenChannel m;
    m.set_payer(L.accounts[payer].bech32);
    m.set_payee(L.accounts[payee].bech32);
    m.mutable_deposit()->set_denom(denom);
    m.mutable_deposit()->set_amount(amount);
    m.set_voucher_key(key.empty() ? vk.pubkey : key);
    m.set_challenge_blocks(challenge);
    return x::PackAny(xc::kTypeOpen, m);
  }

  cv1::Voucher V(uint64_t id, uint64_t amount, uint64_t nonce, const Bytes& root = {}, uint64_t price = 0,
                 uint64_t max_units = 0, const crypto::KeyPair* key = nullptr, std::string chain_id = "") {
    return client::SignVoucher(key ? *key : vk, chain_id.empty() ? chain : chain_id,
                               xc::VoucherFields{id, amount, nonce, root, price, max_units})
        .value();
  }

  google::protobuf::Any Redeem(uint64_t id, const std::optional<cv1::Voucher>& v,
                               std::optional<std::pair<uint64_t, Bytes>> t = std::nullopt, size_t signer = kPayee) {
    cv1::MsgRedeemChannel m;
    m.set_payee(L.accounts[signer].bech32);
    m.set_id(id);
    if (v) *m.mutable_voucher() = *v;
    if (t) {
      m.mutable_ticket()->set_units(t->first);
      m.mutable_ticket()->set_preimage(t->second);
    }
    return x::PackAny(xc::kTypeRedeem, m);
  }

  google::protobuf::Any Close(uint64_t id, size_t sender, const std::optional<cv1::Voucher>& v = std::nullopt) {
    cv1::MsgCloseChannel m;
    m.set_sender(L.accounts[sender].bech32);
    m.set_id(id);
    if (v) *m.mutable_voucher() = *v;
    return x::PackAny(xc::kTypeClose, m);
  }

  google::protobuf::Any Settle(uint64_t id, size_t sender) {
    cv1::MsgSettleChannel m;
    m.set_sender(L.accounts[sender].bech32);
    m.set_id(id);
    return x::PackAny(xc::kTypeSettle, m);
  }

  nlohmann::json Chan(uint64_t id) { return L.Query("/channel/channels/" + std::to_string(id)); }
  uint64_t ModuleBalance(const std::string& denom = "udpai") {
    return L.Balance(crypto::AddressToBech32(xc::ModuleAddress()), denom);
  }
  // Everything a refusal must leave untouched: the channel module's genesis export and the
  // module account's balances.
  std::string Trace() {
    auto g = L.app->ExportGenesis().value();
    auto j = nlohmann::json::parse(g)["app_state"]["channel"];
    return j.dump() + "|" + std::to_string(ModuleBalance()) + "|" + std::to_string(ModuleBalance("ucredit"));
  }
  void ExpectRefused(size_t signer, const google::protobuf::Any& msg, uint32_t code,
                     const std::vector<std::string>& in_log) {
    const std::string before = Trace();
    auto r = Run(signer, msg);
    EXPECT_EQ(r.code, code) << r.log;
    EXPECT_EQ(r.codespace, "channel") << r.log;
    for (const auto& s : in_log) EXPECT_NE(r.log.find(s), std::string::npos) << "'" << s << "' not in: " << r.log;
    EXPECT_EQ(Trace(), before) << "a refusal changed x/channel's state";
  }
};

TEST_F(ChannelTest, VouchersAndTicketsRedeemedCloseSettleBalancesExact) {
  const std::string payer = L.accounts[kPayer].bech32, payee = L.accounts[kPayee].bech32;
  const uint64_t p0 = L.Balance(payer), q0 = L.Balance(payee);
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "100000")).code, 0u);
  EXPECT_EQ(L.Balance(payer), p0 - 100000 - 10);
  EXPECT_EQ(ModuleBalance(), 100000u);
  EXPECT_EQ(Chan(1)["state"], "CHANNEL_STATE_OPEN");

  // A plain voucher: the payee is paid the increase now.
  auto r = Run(kPayee, Redeem(1, V(1, 3000, 1)));
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(payee), q0 + 3000 - 10);
  // A voucher committing to a 100-unit chain at 7 per unit, with 10 units.
  client::HashChain hc(crypto::Sha256("chain-seed"), 100);
  r = Run(kPayee, Redeem(1, V(1, 3000, 2, hc.root(), 7, 100), std::pair<uint64_t, Bytes>{10, hc.at(10)}));
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(payee), q0 + 3070 - 20);
  // A longer ticket alone extends the recorded chain (15 more hashes).
  r = Run(kPayee, Redeem(1, std::nullopt, std::pair<uint64_t, Bytes>{25, hc.at(25)}));
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(payee), q0 + 3175 - 30);
  EXPECT_EQ(Chan(1)["proven"], "3175");
  EXPECT_EQ(Chan(1)["redeemed"], "3175");
  EXPECT_EQ(ModuleBalance(), 100000u - 3175);

  // The payer tops up, then closes; settle waits for the challenge period.
  cv1::MsgTopUpChannel t;
  t.set_payer(payer);
  t.set_id(1);
  t.set_payee(payee);
  t.mutable_amount()->set_denom("udpai");
  t.mutable_amount()->set_amount("5000");
  ASSERT_EQ(Run(kPayer, x::PackAny(xc::kTypeTopUp, t)).code, 0u);
  ASSERT_EQ(Run(kPayer, Close(1, kPayer)).code, 0u);
  const auto c = Chan(1);
  EXPECT_EQ(c["state"], "CHANNEL_STATE_CLOSING");
  const int64_t settle_at = std::stoll(c["settle_height"].get<std::string>());
  EXPECT_EQ(settle_at, L.app->last_height() + 100);
  ExpectRefused(kOther, Settle(1, kOther), xc::kErrChallengePeriod, {"until height " + std::to_string(settle_at)});
  while (L.app->last_height() + 1 < settle_at) L.Block({});
  ASSERT_EQ(Run(kOther, Settle(1, kOther)).code, 0u);
  EXPECT_EQ(Chan(1)["code"], xc::kErrChannelNotFound);
  EXPECT_EQ(ModuleBalance(), 0u);
  EXPECT_EQ(L.Balance(payer), p0 - 3175 - 30);  // open, top-up, close fees
  EXPECT_EQ(L.Balance(payee), q0 + 3175 - 30);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST_F(ChannelTest, StaleVoucherAtCloseIsRefusedAndThePayeeWinsTheDispute) {
  const std::string payer = L.accounts[kPayer].bech32, payee = L.accounts[kPayee].bech32;
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "50000")).code, 0u);
  const uint64_t p0 = L.Balance(payer), q0 = L.Balance(payee);
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 1000, 5))).code, 0u);  // redeemed mid-way: nonce 5
  // The payer closes with an older voucher: refused, both nonces named, nothing changed.
  ExpectRefused(kPayer, Close(1, kPayer, V(1, 400, 3)), xc::kErrStaleVoucher, {"nonce 3", "recorded nonce 5"});
  // It closes with nonce 6 (1200), though the payee holds nonce 9 (4000): accepted, period starts.
  auto r = Run(kPayer, Close(1, kPayer, V(1, 1200, 6)));
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(Chan(1)["state"], "CHANNEL_STATE_CLOSING");
  // A second close without a proof is refused; the payee presents the higher voucher.
  ExpectRefused(kPayee, Close(1, kPayee), xc::kErrWrongState, {"already closing"});
  EXPECT_EQ(L.Balance(payee), q0 + 1200 - 10 - 10);  // the payer's close paid its own voucher's increase
  EXPECT_EQ(Chan(1)["nonce"], "5");                  // but the payee's recorded voucher stays
  r = Run(kPayee, Redeem(1, V(1, 4000, 9)));
  ASSERT_EQ(r.code, 0u) << r.log;
  // The payer cannot roll it back with its own older voucher either.
  ExpectRefused(kPayer, Close(1, kPayer, V(1, 1300, 7)), xc::kErrStaleVoucher, {"nonce 7", "recorded nonce 9"});
  for (int i = 0; i < 100; ++i) L.Block({});
  ASSERT_EQ(Run(kPayee, Settle(1, kPayee)).code, 0u);
  EXPECT_EQ(L.Balance(payee), q0 + 4000 - 10 - 10 - 10 - 10);  // redeem, close try, redeem, settle fees
  EXPECT_EQ(L.Balance(payer), p0 + 50000 - 4000 - 10 - 10 - 10);
  EXPECT_EQ(ModuleBalance(), 0u);
}

// The payer signs a voucher with a huge nonce (conceding one unit more) and closes with it: the
// payee's vouchers of lower nonces still win, since a payer's proof is never recorded.
TEST_F(ChannelTest, PayerCannotPreemptThePayeeWithAHugeNonce) {
  const std::string payee = L.accounts[kPayee].bech32;
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "50000")).code, 0u);
  const uint64_t q0 = L.Balance(payee);
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 1000, 2))).code, 0u);
  ASSERT_EQ(Run(kPayer, Close(1, kPayer, V(1, 1001, 1ull << 62))).code, 0u);
  auto r = Run(kPayee, Redeem(1, V(1, 7000, 3)));
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(payee), q0 + 7000 - 20);
  EXPECT_EQ(Chan(1)["proven"], "7000");
}

TEST_F(ChannelTest, ForgedOtherChannelOtherChainAndOverDepositVouchersAreRefused) {
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "10000")).code, 0u);
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "90000")).code, 0u);  // channel 2, same voucher key
  auto stranger = VoucherKey("stranger");
  ExpectRefused(kPayee, Redeem(1, V(1, 100, 1, {}, 0, 0, &stranger)), xc::kErrBadSignature,
                {"does not verify", "channel 1"});
  auto forged = V(1, 100, 1);
  forged.set_amount(9000);  // signed for 100
  ExpectRefused(kPayee, Redeem(1, forged), xc::kErrBadSignature, {"forged"});
  // A voucher signed for channel 2, presented on channel 1 (or naming 1 after signing for 2).
  ExpectRefused(kPayee, Redeem(1, V(2, 5000, 1)), xc::kErrBadSignature, {"another channel", "names channel 2"});
  auto moved = V(2, 5000, 1);
  moved.set_channel_id(1);
  ExpectRefused(kPayee, Redeem(1, moved), xc::kErrBadSignature, {"another channel or chain"});
  ExpectRefused(kPayee, Redeem(1, V(1, 100, 1, {}, 0, 0, nullptr, "other-chain-9")), xc::kErrBadSignature,
                {"on chain depai-test-1"});
  // Over the deposit: the numbers.
  ExpectRefused(kPayee, Redeem(1, V(1, 10001, 1)), xc::kErrOverDeposit, {"10001udpai", "deposit 10000udpai"});
  client::HashChain hc(crypto::Sha256("s"), 50);
  ExpectRefused(kPayee, Redeem(1, V(1, 9000, 1, hc.root(), 100, 50), std::pair<uint64_t, Bytes>{11, hc.at(11)}),
                xc::kErrOverDeposit, {"10100udpai", "11 units x 100", "deposit 10000udpai"});
  // Only the payee redeems; only the parties close.
  ExpectRefused(kOther, Redeem(1, V(1, 100, 1), std::nullopt, kOther), xc::kErrNotParty, {"payee"});
  ExpectRefused(kOther, Close(1, kOther), xc::kErrNotParty, {"payer", "payee"});
  // The honest voucher still works after all of that.
  EXPECT_EQ(Run(kPayee, Redeem(1, V(1, 100, 1))).code, 0u);
}

TEST_F(ChannelTest, TicketsOffTheChainNotLongerOrTooLongAreRefused) {
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "100000")).code, 0u);
  client::HashChain hc(crypto::Sha256("t"), 20);
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 0, 1, hc.root(), 3, 20), std::pair<uint64_t, Bytes>{5, hc.at(5)})).code, 0u);
  Bytes bad = hc.at(8);
  bad[0] ^= 1;
  ExpectRefused(kPayee, Redeem(1, std::nullopt, std::pair<uint64_t, Bytes>{8, bad}), xc::kErrInvalidTicket,
                {"does not hash to the chain", "3 SHA-256 steps", "unit 5"});
  ExpectRefused(kPayee, Redeem(1, std::nullopt, std::pair<uint64_t, Bytes>{5, hc.at(5)}), xc::kErrInvalidTicket,
                {"not longer", "5 units"});
  ExpectRefused(kPayee, Redeem(1, std::nullopt, std::pair<uint64_t, Bytes>{21, hc.at(20)}), xc::kErrInvalidTicket,
                {"max_units 20"});
  // A voucher without a chain, then a ticket for it.
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 100, 2))).code, 0u);
  ExpectRefused(kPayee, Redeem(1, std::nullopt, std::pair<uint64_t, Bytes>{1, hc.at(1)}), xc::kErrInvalidTicket,
                {"no hash chain"});
  // A voucher whose total is below what was already paid (100).
  ExpectRefused(kPayee, Redeem(1, V(1, 50, 3)), xc::kErrBelowRedeemed, {"50udpai", "100udpai already redeemed"});
}

TEST_F(ChannelTest, MalformedMessagesAndWrongStatesAreRefused) {
  ExpectRefused(kPayer, Open(kPayer, kPayee, "1000", "udpai", 5), xc::kErrInvalidMsg, {"challenge_blocks 5", "[100,"});
  ExpectRefused(kPayer, Open(kPayer, kPayer, "1000"), xc::kErrInvalidMsg, {"must differ"});
  ExpectRefused(kPayer, Open(kPayer, kPayee, "1000", "uatom"), xc::kErrInvalidMsg, {"udpai or ucredit"});
  ExpectRefused(kPayer, Open(kPayer, kPayee, "1000", "udpai", 100, "short"), xc::kErrInvalidMsg, {"32-byte"});
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "1000")).code, 0u);
  cv1::MsgTopUpChannel t;
  t.set_payer(L.accounts[kPayer].bech32);
  t.set_id(1);
  t.set_payee(L.accounts[kOther].bech32);
  t.mutable_amount()->set_denom("udpai");
  t.mutable_amount()->set_amount("10");
  ExpectRefused(kPayer, x::PackAny(xc::kTypeTopUp, t), xc::kErrInvalidMsg, {"names payee"});
  ExpectRefused(kOther, Settle(1, kOther), xc::kErrWrongState, {"is open"});
  ExpectRefused(kOther, Settle(7, kOther), xc::kErrChannelNotFound, {"channel 7 not found"});
  auto v = V(1, 10, 1);
  v.set_signature("short");
  ExpectRefused(kPayee, Redeem(1, v), xc::kErrInvalidVoucher, {"64 bytes"});
  ASSERT_EQ(Run(kPayee, Close(1, kPayee)).code, 0u);
  t.set_payee(L.accounts[kPayee].bech32);
  ExpectRefused(kPayer, x::PackAny(xc::kTypeTopUp, t), xc::kErrWrongState, {"closing"});
}

TEST_F(ChannelTest, CreditChannelBurnsWhatItPaysAndReturnsTheRest) {
  const std::string payer = L.accounts[kPayer].bech32, payee = L.accounts[kPayee].bech32;
  auto supply = [&] {
    auto j = L.Query("/bank/supply");
    for (const auto& c : j["supply"])
      if (c["denom"] == "ucredit") return std::stoull(c["amount"].get<std::string>());
    return 0ull;
  };
  const uint64_t s0 = supply(), pc0 = L.Balance(payer, "ucredit"), qc0 = L.Balance(payee, "ucredit");
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "300", "ucredit")).code, 0u);
  EXPECT_EQ(L.Balance(payer, "ucredit"), pc0 - 300);
  EXPECT_EQ(ModuleBalance("ucredit"), 300u);
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 120, 1))).code, 0u);
  EXPECT_EQ(L.Balance(payee, "ucredit"), qc0);  // credits never reach the payee
  EXPECT_EQ(supply(), s0 - 120);                // they are burned
  ASSERT_EQ(Run(kPayer, Close(1, kPayer)).code, 0u);
  for (int i = 0; i < 100; ++i) L.Block({});
  ASSERT_EQ(Run(kPayer, Settle(1, kPayer)).code, 0u);
  EXPECT_EQ(L.Balance(payer, "ucredit"), pc0 - 120);
  EXPECT_EQ(ModuleBalance("ucredit"), 0u);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST_F(ChannelTest, CorruptStoredChannelIsAFaultNotAbsent) {
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "1000")).code, 0u);
  const auto& k = Mod().keeper();
  store::CacheStore s(&L.app->committed_state());
  ASSERT_TRUE(k.channel(s, 1).value().has_value());
  auto fault = [](const Status& st) {
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().codespace, x::kFaultCodespace) << st.error().message;
    EXPECT_EQ(st.error().code, x::kFaultCorruptRecord) << st.error().message;
  };
  s.set(xc::keys::Channel(1), "\xff\xff garbage");
  fault(k.channel(s, 1).status());
  fault(k.for_each_channel(s, [](const xc::ChannelRec&) { return true; }));
  fault(k.check_invariants(s));
  fault(Mod().query(s, "/channel/channels/1")->status());
  // A record that decodes but whose amount does not parse, or redeemed above the deposit.
  cv1::Channel c = k.channel(L.app->committed_state(), 1).value()->pb;
  c.set_redeemed("12x");
  s.set(xc::keys::Channel(1), c.SerializeAsString());
  fault(k.channel(s, 1).status());
  c.set_redeemed("5000");
  s.set(xc::keys::Channel(1), c.SerializeAsString());
  fault(k.channel(s, 1).status());
  // Funds moved out of module:channel behind the keeper's back: the invariant names both sums.
  store::CacheStore s2(&L.app->committed_state());
  cv1::Channel c2 = k.channel(s2, 1).value()->pb;
  c2.set_deposit("999");
  s2.set(xc::keys::Channel(1), c2.SerializeAsString());
  auto inv = k.check_invariants(s2);
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.error().code, x::kFaultInvariant);
  EXPECT_NE(inv.error().message.find("holds 1000udpai"), std::string::npos) << inv.error().message;
}

TEST_F(ChannelTest, GenesisExportImportRoundTrips) {
  ASSERT_EQ(Run(kPayer, Open(kPayer, kPayee, "1000")).code, 0u);
  client::HashChain hc(crypto::Sha256("g"), 8);
  ASSERT_EQ(Run(kPayee, Redeem(1, V(1, 10, 1, hc.root(), 2, 8), std::pair<uint64_t, Bytes>{3, hc.at(3)})).code, 0u);
  auto exported = nlohmann::json::parse(L.app->ExportGenesis().value());
  TestLedger L2(4, "", false);
  app::RequestInitChain req = L2.InitRequest();
  auto st = exported["app_state"];
  req.app_state_bytes = st.dump();
  ASSERT_TRUE(L2.app->InitChain(req).ok());
  L2.Block({});
  auto again = nlohmann::json::parse(L2.app->ExportGenesis().value());
  EXPECT_EQ(again["app_state"]["channel"], exported["app_state"]["channel"]);
  EXPECT_EQ(L2.Query("/channel/channels/1")["ticket_units"], "3");
}

// ---- encodings: the test vectors of doc/modules/channel.md ----

// Computed independently (Python's `cryptography` package) from the spec of the encoding.
TEST(ChannelEncoding, VoucherSignBytesAndSignatureMatchTheTestVectors) {
  crypto::InitCrypto();
  const auto key = *crypto::KeyFromSeed(Bytes(32, '\x01'));
  EXPECT_EQ(HexEncode(key.pubkey), "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c");
  const xc::VoucherFields f{7, 1500, 3, {}, 0, 0};
  EXPECT_EQ(HexEncode(xc::VoucherSignBytes("depai-1", f).value()),
            "64657061692d766f75636865722d76310764657061692d31000000000000000700000000000005dc000000000000000300");
  EXPECT_EQ(HexEncode(client::SignVoucher(key, "depai-1", f).value().signature()),
            "d0bfaba2c89b3ef9b6bbf853a68ac08eae55a92baa7a2c3d549edd78bb5fc007"
            "3fd224ea698537066085ff6027e72000b5ece7c399f16d41d7d2be8745b2df06");
  const xc::VoucherFields t{7, 1500, 4, Bytes(32, '\xab'), 25, 1000};
  EXPECT_EQ(HexEncode(xc::VoucherSignBytes("depai-1", t).value()),
            "64657061692d766f75636865722d76310764657061692d31000000000000000700000000000005dc0000000000000004"
            "01abababababababababababababababababababababababababababababababab000000000000001900000000000003e8");
  auto v = client::SignVoucher(key, "depai-1", t).value();
  EXPECT_EQ(HexEncode(v.signature()),
            "642731d89c252cd6b9b1e9a00561ad37ebf486ad4003e31294bac5054457f333"
            "2273cbb817c967080fb9b7259cb4993f4deb5773073da962215cab4518cb4105");
  EXPECT_TRUE(client::VerifyVoucher(key.pubkey, "depai-1", 7, v).ok());
  EXPECT_EQ(client::VerifyVoucher(key.pubkey, "depai-2", 7, v).error().code, xc::kErrBadSignature);
  EXPECT_EQ(client::VerifyVoucher(key.pubkey, "depai-1", 8, v).error().code, xc::kErrBadSignature);
  EXPECT_FALSE(xc::VoucherSignBytes(std::string(256, 'c'), f).ok());
}

TEST(ChannelEncoding, HashChainMatchesTheTestVectorAndDerivesEveryValue) {
  const Bytes seed = crypto::Sha256("depai-payword-test");
  client::HashChain c(seed, 3);
  EXPECT_EQ(HexEncode(c.root()), "7e92b025b2b61c78ea86218abf919de61e973e84132955cbc60d410b5914ea78");
  EXPECT_EQ(HexEncode(c.at(1)), "e3c49c29ea2db3db1cdd628bef02e73c3deddda230d779e08a666987e041b18c");
  EXPECT_EQ(HexEncode(c.at(2)), "345eb4bd12fe23b58059743e32ae62a13ed47ad5daf2d404c7c907a52082be71");
  EXPECT_EQ(HexEncode(c.at(3)), "0b0b3627254c6ff2443cf2e86d7ea323f6a28e4b3ff728d66452090a8788de44");
  EXPECT_TRUE(c.at(4).empty());
  EXPECT_TRUE(client::VerifyTicketStep(c.at(2), c.at(1)));
  EXPECT_FALSE(client::VerifyTicketStep(c.at(1), c.at(2)));
  EXPECT_TRUE(xc::ChainReaches(c.at(3), 3, c.root()));
  // Any stride, any order: h_k = SHA-256^(N-k)(seed).
  for (uint64_t n : {1ull, 2ull, 10ull, 37ull, 100ull}) {
    for (uint64_t stride : {0ull, 1ull, 3ull, 64ull}) {
      client::HashChain h(seed, n, stride);
      for (uint64_t k : std::vector<uint64_t>{n, 0, n / 2, 1, n, n > 2 ? n - 2 : 0})
        EXPECT_EQ(h.at(k), crypto::Sha256Iter(seed, n - k)) << n << " " << stride << " " << k;
      for (uint64_t k = 1; k <= n; ++k) EXPECT_TRUE(client::VerifyTicketStep(h.at(k), h.at(k - 1)));
    }
  }
}

TEST(ChannelEncoding, ProvenTotalOverflowIsAnError) {
  EXPECT_EQ(xc::ProvenTotal(10, 3, 7).value(), 31u);
  EXPECT_FALSE(xc::ProvenTotal(1, 1ull << 62, 4).ok());
}

// ---- the off-chain library ----

TEST(ChannelReceiver, AcceptsVouchersAndTicketsRefusesCheatsWithoutTraceAndPersists) {
  crypto::InitCrypto();
  const auto key = VoucherKey();
  client::ReceiverState st(3, "c-1", key.pubkey, 1000);
  auto sign = [&](uint64_t amount, uint64_t nonce, const Bytes& root = {}, uint64_t price = 0, uint64_t n = 0) {
    return client::SignVoucher(key, "c-1", xc::VoucherFields{3, amount, nonce, root, price, n}).value();
  };
  EXPECT_EQ(st.accept_voucher(sign(10, 1)).value(), 10u);
  EXPECT_EQ(st.accept_voucher(sign(25, 2)).value(), 15u);
  const auto before = st.to_json();
  EXPECT_EQ(st.accept_voucher(sign(30, 2)).error().code, xc::kErrStaleVoucher);
  EXPECT_EQ(st.accept_voucher(sign(20, 3)).error().code, xc::kErrBelowRedeemed);
  EXPECT_EQ(st.accept_voucher(sign(1001, 3)).error().code, xc::kErrOverDeposit);
  auto other = client::SignVoucher(key, "c-1", xc::VoucherFields{4, 30, 3, {}, 0, 0}).value();
  EXPECT_EQ(st.accept_voucher(other).error().code, xc::kErrBadSignature);
  EXPECT_EQ(st.to_json(), before);
  client::HashChain hc(client::HashChain::SeedFor(key, 3, 4), 10);
  EXPECT_EQ(st.accept_voucher(sign(25, 4, hc.root(), 5, 10)).value(), 0u);
  EXPECT_EQ(st.accept_ticket(1, hc.at(1)).value(), 5u);
  EXPECT_EQ(st.accept_ticket(3, hc.at(3)).error().code, xc::kErrInvalidTicket);  // skips unit 2
  EXPECT_EQ(st.accept_ticket(2, hc.at(3)).error().code, xc::kErrInvalidTicket);  // wrong preimage
  EXPECT_EQ(st.accept_ticket(2, hc.at(2)).value(), 5u);
  EXPECT_EQ(st.proven(), 35u);
  const auto path =
      (std::filesystem::temp_directory_path() / ("depai-channel-state-" + std::to_string(::getpid()))).string();
  ASSERT_TRUE(st.save(path).ok());
  auto back = client::ReceiverState::Load(path).value();
  EXPECT_EQ(back.to_json(), st.to_json());
  EXPECT_EQ(back.accept_ticket(3, hc.at(3)).value(), 5u);
  // A state file whose ticket head is off the chain does not load.
  auto j = st.to_json();
  j["ticket_head"] = HexEncode(hc.at(5));
  EXPECT_FALSE(client::ReceiverState::FromJson(j).ok());
  std::filesystem::remove(path);
}

// When PayOverStream returns, the receiver's state file already holds the last payment: the
// receiver persists on the payer's close frame before answering it. 300 tickets is not a multiple
// of the periodic write (256), so only that last write can hold unit 300.
TEST(ChannelReceiver, StateFileHoldsEveryPaymentWhenThePayerReturns) {
  crypto::InitCrypto();
  const auto key = VoucherKey();
  const auto path =
      (std::filesystem::temp_directory_path() / ("depai-channel-close-" + std::to_string(::getpid()))).string();
  for (int round = 1; round <= 5; ++round) {
    std::filesystem::remove(path);
    client::ReceiverOptions ro;
    ro.state_path = path;
    ro.unit_price = 2;
    client::ChannelReceiver recv(client::ReceiverState(7, "c-close", key.pubkey, 1000000), ro);
    ASSERT_TRUE(recv.Start().ok());
    client::PayOptions po;
    po.url = "ws://127.0.0.1:" + std::to_string(recv.port()) + "/channel/7/stream";
    po.channel_id = 7;
    po.chain_id = "c-close";
    po.units = 300;
    po.tickets = true;
    po.unit_price = 2;
    auto sum = client::PayOverStream(key, po);
    ASSERT_TRUE(sum.ok()) << sum.error().message;
    EXPECT_EQ(sum->units, 300u);
    auto saved = client::ReceiverState::Load(path);
    ASSERT_TRUE(saved.ok()) << "round " << round << ": " << saved.error().message;
    EXPECT_EQ(saved->ticket_units(), 300u) << "round " << round;
    EXPECT_EQ(saved->proven(), 600u) << "round " << round;
    recv.Stop();
  }
  std::filesystem::remove(path);
}

TEST(ChannelReceiver, FramesRoundTripAndGarbageIsRefused) {
  const auto key = VoucherKey();
  auto v = client::SignVoucher(key, "c", xc::VoucherFields{1, 2, 3, {}, 0, 0}).value();
  auto f = client::DecodePaymentFrame(client::EncodeVoucherFrame(v)).value();
  EXPECT_EQ(f.kind, client::FrameKind::kVoucher);
  EXPECT_EQ(f.voucher.SerializeAsString(), v.SerializeAsString());
  auto t = client::DecodePaymentFrame(client::EncodeTicketFrame(9, Bytes(32, 'x'))).value();
  EXPECT_EQ(t.kind, client::FrameKind::kTicket);
  EXPECT_EQ(t.units, 9u);
  for (std::string bad : {std::string(), std::string("short"), std::string(""), std::string("ÿÿ")})
    EXPECT_FALSE(client::DecodePaymentFrame(bad).ok());
  auto vj = client::VoucherToJson(v);
  EXPECT_EQ(client::VoucherFromJson(vj).value().SerializeAsString(), v.SerializeAsString());
  vj["signature"] = "zz";
  EXPECT_FALSE(client::VoucherFromJson(vj).ok());
}

}  // namespace
}  // namespace depai::test
