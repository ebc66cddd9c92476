// x/wallet: agent wallets on the test ledger. The owner creates a wallet with a policy and a
// session key; the session key signs for the wallet (SignerInfo.wallet) and every rule of the
// policy refuses, naming the rule and the numbers, with no trace: over budget (fees included),
// an unlisted counterparty, a price cap, a resource kind, an expired / revoked key, a revoked
// wallet, an owner message signed by the wallet itself, someone else's key. Period arithmetic
// across boundaries, the measured-drop backstop, owner-only administration, drain and fund,
// genesis round trip and a corrupt record.
#include <gtest/gtest.h>

#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "depai/market/v1/market.pb.h"
#include "depai/wallet/v1/wallet.pb.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/types/codec.h"
#include "x/wallet/keeper.h"
#include "x/wallet/module.h"

namespace depai::test {
namespace {

using nlohmann::json;
namespace wv1 = depai::wallet::v1;

google::protobuf::Any Pack(const char* url, const google::protobuf::Message& m) {
  google::protobuf::Any a;
  a.set_type_url(url);
  a.set_value(x::DeterministicSerialize(m));
  return a;
}

wv1::Policy Budget(const std::string& coins, int64_t period) {
  wv1::Policy p;
  x::CoinsToProto(Coins::Parse(coins).value(), p.mutable_budgets());
  p.set_period_blocks(period);
  return p;
}

class WalletTest : public ::testing::Test {
 protected:
  WalletTest()
      : session(*crypto::KeyFromSeed(crypto::Sha256("session-key-1"))),
        stranger(*crypto::KeyFromSeed(crypto::Sha256("not-a-session-key"))) {}

  // Owner 0 creates a wallet (policy, deposit); returns its address.
  std::string Create(const wv1::Policy& p, const std::string& deposit = "100000udpai", size_t owner = 0) {
    wv1::MsgCreateWallet m;
    m.set_owner(L.accounts[owner].bech32);
    *m.mutable_policy() = p;
    if (!deposit.empty()) x::CoinsToProto(Coins::Parse(deposit).value(), m.mutable_deposit());
    m.set_label("robot-7");
    auto r = L.Block({L.SignAny(owner, {Pack(x::wallet::kTypeCreateWallet, m)})});
    EXPECT_EQ(r[0].code, 0u) << r[0].log;
    for (const auto& e : r[0].events)
      if (e.type == "wallet.created")
        for (const auto& a : e.attributes)
          if (a.key == "wallet") return a.value;
    ADD_FAILURE() << "no wallet.created event";
    return "";
  }

  app::ExecTxResult AddKey(const std::string& w, const std::string& pub, const wv1::Policy& p, size_t owner = 0,
                           const std::string& label = "agent") {
    wv1::MsgAddSessionKey m;
    m.set_owner(L.accounts[owner].bech32);
    m.set_wallet(w);
    m.set_pub_key(pub);
    m.set_label(label);
    *m.mutable_policy() = p;
    return L.Block({L.SignAny(owner, {Pack(x::wallet::kTypeAddSessionKey, m)})})[0];
  }

  // A tx for wallet `w` signed with `key`, at the wallet account's sequence.
  Bytes ForWallet(const std::string& w, const crypto::KeyPair& key, const std::vector<google::protobuf::Any>& msgs,
                  const std::string& fee = "10udpai") {
    json acc = L.Query("/auth/account/" + w);
    client::SignerData sd{TestLedger::kChainId, std::stoull(acc["account_number"].get<std::string>()),
                          std::stoull(acc["sequence"].get<std::string>()), crypto::AddressFromBech32(w).value()};
    client::TxOptions o;
    o.fee = Coins::Parse(fee).value();
    return client::BuildSignedTx(key, sd, msgs, o);
  }
  Bytes SendFrom(const std::string& w, const crypto::KeyPair& key, const std::string& to, const std::string& amount,
                 const std::string& fee = "10udpai") {
    return ForWallet(w, key, {client::PackMsgSend(w, to, Coins::Parse(amount).value())}, fee);
  }

  // Runs a block with only `tx`, which must be refused leaving no trace: same app hash, same
  // wallet record and balances. Returns the result.
  app::ExecTxResult Refused(const Bytes& tx, const std::string& w) {
    const Bytes before = L.AppHash();
    const json wbefore = L.Query("/wallet/wallets/" + w);
    const uint64_t bal = L.Balance(w);
    auto r = L.Block({tx})[0];
    EXPECT_NE(r.code, 0u);
    EXPECT_EQ(L.AppHash(), before) << "a refused tx left a trace: " << r.log;
    EXPECT_EQ(L.Balance(w), bal);
    json wafter = L.Query("/wallet/wallets/" + w);
    if (wafter["current"]["period"] == wbefore["current"]["period"])  // (the next block may start a period)
      EXPECT_EQ(wafter["current"]["spent"], wbefore["current"]["spent"]);
    return r;
  }

  TestLedger L;
  crypto::KeyPair session, stranger;
};

TEST_F(WalletTest, SessionKeySpendsWithinTheBudgetAndTheWalletPaysFees) {
  const std::string w = Create(Budget("5000udpai", 10));
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  EXPECT_EQ(L.Balance(w), 100000u);
  const uint64_t to_before = L.Balance(L.accounts[1].bech32);
  auto r = L.Block({SendFrom(w, session, L.accounts[1].bech32, "1000udpai")})[0];
  ASSERT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(w), 100000u - 1000 - 10);
  EXPECT_EQ(L.Balance(L.accounts[1].bech32), to_before + 1000);
  json q = L.Query("/wallet/wallets/" + w);
  EXPECT_EQ(q["current"]["spent"], "1010udpai");
  EXPECT_EQ(q["current"]["remaining"]["udpai"], "3990");
  EXPECT_EQ(q["session_keys"][0]["pub_key"], HexEncode(session.pubkey));
  // The wallet account keeps no public key: only session keys ever sign for it.
  EXPECT_TRUE(L.Query("/auth/account/" + w)["pub_key"].is_null());
}

TEST_F(WalletTest, OverBudgetIsRefusedNamingTheRuleAndTheNumbers) {
  const std::string w = Create(Budget("5000udpai", 10));
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  ASSERT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "4790udpai")})[0].code, 0u);  // spent 4800
  auto r = Refused(SendFrom(w, session, L.accounts[1].bech32, "400udpai"), w);
  EXPECT_EQ(r.codespace, "wallet");
  EXPECT_EQ(r.code, x::wallet::kErrBudget);
  EXPECT_NE(r.log.find("budget 5000udpai/period (wallet policy): spent 4810, this message 400"), std::string::npos)
      << r.log;
  // The fee alone over budget: named as the fee.
  auto f = Refused(SendFrom(w, session, L.accounts[1].bech32, "1udpai", "500udpai"), w);
  EXPECT_NE(f.log.find("spent 4800, this fee 500"), std::string::npos) << f.log;
  // A denom with no budget cannot leave at all.
  auto c = Refused(
      ForWallet(w, session, {client::PackMsgSend(w, L.accounts[1].bech32, Coins::Parse("1ucredit").value())}), w);
  EXPECT_NE(c.log.find("no budget for ucredit"), std::string::npos) << c.log;
}

TEST_F(WalletTest, TheNextPeriodsBudgetIsWholeAgain) {
  const std::string w = Create(Budget("2000udpai", 5));
  const int64_t created = std::stoll(L.Query("/wallet/wallets/" + w)["created_height"].get<std::string>());
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  ASSERT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "1990udpai")})[0].code, 0u);
  json q = L.Query("/wallet/wallets/" + w);
  const int64_t end = std::stoll(q["current"]["end_height"].get<std::string>());
  EXPECT_EQ(end, created + 4);  // period 0 is [created, created + 5)
  // Still in the period: refused (as long as the next block is at or below its end).
  while (L.app->last_height() + 1 <= end) {
    auto r = Refused(SendFrom(w, session, L.accounts[1].bech32, "100udpai"), w);
    EXPECT_EQ(r.code, x::wallet::kErrBudget);
  }
  // The first block of period 1: the budget is whole again.
  EXPECT_EQ(L.app->last_height() + 1, end + 1);
  auto ok = L.Block({SendFrom(w, session, L.accounts[1].bech32, "1990udpai")})[0];
  EXPECT_EQ(ok.code, 0u) << ok.log;
  q = L.Query("/wallet/wallets/" + w);
  EXPECT_EQ(q["current"]["period"], "1");
  EXPECT_EQ(q["current"]["spent"], "2000udpai");
}

TEST_F(WalletTest, SessionKeyBudgetAppliesOnTopOfTheWallets) {
  const std::string w = Create(Budget("50000udpai", 100));
  ASSERT_EQ(AddKey(w, session.pubkey, Budget("600udpai", 100)).code, 0u);
  ASSERT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "500udpai")})[0].code, 0u);
  auto r = Refused(SendFrom(w, session, L.accounts[1].bech32, "100udpai"), w);
  EXPECT_NE(r.log.find("budget 600udpai/period (session key 'agent' policy): spent 520, this message 100"),
            std::string::npos)
      << r.log;
}

TEST_F(WalletTest, CounterpartiesByAddressAreEnforced) {
  wv1::Policy p = Budget("50000udpai", 100);
  p.add_counterparties(L.accounts[1].bech32);
  const std::string w = Create(p);
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  EXPECT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "100udpai")})[0].code, 0u);
  auto r = Refused(SendFrom(w, session, L.accounts[2].bech32, "100udpai"), w);
  EXPECT_EQ(r.code, x::wallet::kErrCounterparty);
  EXPECT_NE(r.log.find(L.accounts[2].bech32 + " is not an allowed counterparty"), std::string::npos) << r.log;
}

TEST_F(WalletTest, PriceCapsResourceKindsAndAutoSelectAreEnforcedOnOrders) {
  wv1::Policy p = Budget("500000udpai", 100);
  x::CoinsToProto(Coins::Parse("50udpai").value(), p.mutable_max_price_per_block());
  p.add_resource_kinds("cpu");
  p.add_resource_kinds("memory");
  p.add_counterparties(L.accounts[1].bech32);
  const std::string w = Create(p, "300000udpai");
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  auto order = [&](const std::string& price, bool gpu, bool auto_select) {
    depai::market::v1::MsgCreateOrder m;
    m.set_owner(w);
    auto* g = m.add_groups();
    g->set_name("web");
    g->set_count(1);
    g->mutable_units()->set_cpu_millicores(500);
    g->mutable_units()->set_memory_mib(256);
    if (gpu) {
      auto* gp = g->mutable_units()->add_gpus();
      gp->set_vendor("nvidia");
      gp->set_model("h100");
      gp->set_count(1);
    }
    m.mutable_max_price_per_block()->set_denom("udpai");
    m.mutable_max_price_per_block()->set_amount(price);
    m.mutable_deposit()->set_denom("udpai");
    m.mutable_deposit()->set_amount("10000");
    m.set_bid_window_blocks(5);
    m.set_manifest_hash(crypto::Sha256("manifest"));
    m.set_auto_select(auto_select);
    return ForWallet(w, session, {Pack("/depai.market.v1.MsgCreateOrder", m)});
  };
  auto cap = Refused(order("60", false, false), w);
  EXPECT_EQ(cap.code, x::wallet::kErrPriceCap);
  EXPECT_NE(cap.log.find("price cap 50udpai/block (wallet policy): this message 60udpai/block"), std::string::npos)
      << cap.log;
  auto kind = Refused(order("40", true, false), w);
  EXPECT_EQ(kind.code, x::wallet::kErrResourceKind);
  EXPECT_NE(kind.log.find("gpu is not allowed"), std::string::npos) << kind.log;
  auto autos = Refused(order("40", false, true), w);
  EXPECT_EQ(autos.code, x::wallet::kErrCounterparty) << autos.log;
  auto ok = L.Block({order("40", false, false)})[0];
  EXPECT_EQ(ok.code, 0u) << ok.log;
  // The escrow deposit counted in the period's spend.
  EXPECT_EQ(L.Query("/wallet/wallets/" + w)["current"]["spent"], "10010udpai");
}

TEST_F(WalletTest, ExpiredRevokedAndForeignKeysAreRefused) {
  const std::string w = Create(Budget("50000udpai", 100));
  wv1::Policy kp;
  kp.set_expires_height(L.app->last_height() + 3);
  ASSERT_EQ(AddKey(w, session.pubkey, kp).code, 0u);  // at last+1; usable through last+3
  EXPECT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "10udpai")})[0].code, 0u);
  L.Block({});
  auto ex = Refused(SendFrom(w, session, L.accounts[1].bech32, "10udpai"), w);
  EXPECT_EQ(ex.code, x::wallet::kErrExpired);
  EXPECT_NE(ex.log.find("expired: session key 'agent' expired at height"), std::string::npos) << ex.log;
  // A key that is not one of the wallet's.
  auto fk = Refused(SendFrom(w, stranger, L.accounts[1].bech32, "10udpai"), w);
  EXPECT_EQ(fk.code, x::wallet::kErrUnknownSessionKey) << fk.log;
  // Revoked key.
  ASSERT_EQ(AddKey(w, stranger.pubkey, wv1::Policy(), 0, "second").code, 0u);
  EXPECT_EQ(L.Block({SendFrom(w, stranger, L.accounts[1].bech32, "10udpai")})[0].code, 0u);
  wv1::MsgRevokeSessionKey rk;
  rk.set_owner(L.accounts[0].bech32);
  rk.set_wallet(w);
  rk.set_pub_key(stranger.pubkey);
  ASSERT_EQ(L.Block({L.SignAny(0, {Pack(x::wallet::kTypeRevokeSessionKey, rk)})})[0].code, 0u);
  auto rv = Refused(SendFrom(w, stranger, L.accounts[1].bech32, "10udpai"), w);
  EXPECT_EQ(rv.code, x::wallet::kErrSessionKeyRevoked);
  EXPECT_NE(rv.log.find("session key 'second' of wallet " + w + " was revoked"), std::string::npos) << rv.log;
  // A revoked key cannot be added back.
  EXPECT_EQ(AddKey(w, stranger.pubkey, wv1::Policy()).code, x::wallet::kErrKeyExists);
}

TEST_F(WalletTest, RevokingTheWalletStopsEveryKeyAndTheOwnerCanStillDrain) {
  const std::string w = Create(Budget("50000udpai", 100));
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  wv1::MsgRevokeWallet rw;
  rw.set_owner(L.accounts[0].bech32);
  rw.set_wallet(w);
  ASSERT_EQ(L.Block({L.SignAny(0, {Pack(x::wallet::kTypeRevokeWallet, rw)})})[0].code, 0u);
  auto r = Refused(SendFrom(w, session, L.accounts[1].bech32, "10udpai"), w);
  EXPECT_EQ(r.code, x::wallet::kErrWalletRevoked);
  const uint64_t owner_before = L.Balance(L.accounts[0].bech32);
  wv1::MsgDrainWallet d;
  d.set_owner(L.accounts[0].bech32);
  d.set_wallet(w);
  ASSERT_EQ(L.Block({L.SignAny(0, {Pack(x::wallet::kTypeDrainWallet, d)})})[0].code, 0u);
  EXPECT_EQ(L.Balance(w), 0u);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), owner_before + 100000 - 10);
}

TEST_F(WalletTest, AWalletCannotSignItsOwnAdministrationOrWidenItsPolicy) {
  const std::string w = Create(Budget("50000udpai", 100));
  ASSERT_EQ(AddKey(w, session.pubkey, wv1::Policy()).code, 0u);
  wv1::MsgAddSessionKey m;
  m.set_owner(w);
  m.set_wallet(w);
  m.set_pub_key(stranger.pubkey);
  auto r = Refused(ForWallet(w, session, {Pack(x::wallet::kTypeAddSessionKey, m)}), w);
  EXPECT_EQ(r.code, x::wallet::kErrMsgNotAllowed);
  EXPECT_NE(r.log.find("cannot be signed by an agent wallet"), std::string::npos) << r.log;
  // allowed_msgs: a type outside the list.
  wv1::Policy only_orders = Budget("50000udpai", 100);
  only_orders.add_allowed_msgs("/depai.market.v1.MsgCreateOrder");
  const std::string w2 = Create(only_orders);
  ASSERT_EQ(AddKey(w2, session.pubkey, wv1::Policy()).code, 0u);
  auto t = Refused(SendFrom(w2, session, L.accounts[1].bech32, "10udpai"), w2);
  EXPECT_NE(t.log.find("/depai.bank.v1.MsgSend is not in allowed_msgs"), std::string::npos) << t.log;
}

TEST_F(WalletTest, OnlyTheOwnerAdministersAndBadPoliciesAreRefused) {
  const std::string w = Create(Budget("50000udpai", 100));
  auto r = AddKey(w, session.pubkey, wv1::Policy(), 1);
  EXPECT_EQ(r.code, x::wallet::kErrNotOwner) << r.log;
  wv1::MsgDrainWallet d;
  d.set_owner(L.accounts[1].bech32);
  d.set_wallet(w);
  EXPECT_EQ(L.Block({L.SignAny(1, {Pack(x::wallet::kTypeDrainWallet, d)})})[0].code, x::wallet::kErrNotOwner);
  // Policies that do not parse: a budget without a period, an unknown kind, a bad counterparty.
  wv1::Policy bad = Budget("100udpai", 0);
  wv1::MsgCreateWallet c;
  c.set_owner(L.accounts[0].bech32);
  *c.mutable_policy() = bad;
  auto b1 = L.Block({L.SignAny(0, {Pack(x::wallet::kTypeCreateWallet, c)})})[0];
  EXPECT_EQ(b1.code, x::wallet::kErrInvalidPolicy);
  EXPECT_NE(b1.log.find("period_blocks must be >= 1"), std::string::npos) << b1.log;
  c.mutable_policy()->set_period_blocks(5);
  c.mutable_policy()->add_resource_kinds("quantum");
  EXPECT_EQ(L.Block({L.SignAny(0, {Pack(x::wallet::kTypeCreateWallet, c)})})[0].code, x::wallet::kErrInvalidPolicy);
  c.mutable_policy()->clear_resource_kinds();
  c.mutable_policy()->add_counterparties("depai1notanaddress");
  EXPECT_EQ(L.Block({L.SignAny(0, {Pack(x::wallet::kTypeCreateWallet, c)})})[0].code, x::wallet::kErrInvalidPolicy);
}

TEST_F(WalletTest, FundingAndAddressDerivation) {
  const std::string w1 = Create(Budget("1udpai", 1), "");
  const std::string w2 = Create(Budget("1udpai", 1), "");
  EXPECT_NE(w1, w2);
  EXPECT_EQ(w1, crypto::AddressToBech32(x::wallet::WalletAddress(L.accounts[0].addr, 0)));
  EXPECT_EQ(w2, crypto::AddressToBech32(x::wallet::WalletAddress(L.accounts[0].addr, 1)));
  wv1::MsgFundWallet f;
  f.set_sender(L.accounts[2].bech32);
  f.set_wallet(w1);
  x::CoinsToProto(Coins::Parse("777udpai").value(), f.mutable_amount());
  ASSERT_EQ(L.Block({L.SignAny(2, {Pack(x::wallet::kTypeFundWallet, f)})})[0].code, 0u);
  EXPECT_EQ(L.Balance(w1), 777u);
  json owned = L.Query("/wallet/owners/" + L.accounts[0].bech32);
  EXPECT_EQ(owned["wallets"].size(), 2u);
}

TEST_F(WalletTest, GenesisExportImportKeepsWalletsKeysAndSpends) {
  const std::string w = Create(Budget("5000udpai", 1000));
  ASSERT_EQ(AddKey(w, session.pubkey, Budget("3000udpai", 1000)).code, 0u);
  ASSERT_EQ(L.Block({SendFrom(w, session, L.accounts[1].bech32, "1000udpai")})[0].code, 0u);
  auto exported = json::parse(L.app->ExportGenesis().value());
  const json ws = exported["app_state"]["wallet"];
  ASSERT_EQ(ws["wallets"].size(), 1u);
  TestLedger L2(4, "", false);
  auto req = L2.InitRequest();
  req.app_state_bytes = exported["app_state"].dump();
  ASSERT_TRUE(L2.app->InitChain(req).ok());
  L2.Block({});
  auto again = json::parse(L2.app->ExportGenesis().value());
  EXPECT_EQ(again["app_state"]["wallet"], ws);
}

// Keeper level: a corrupt stored wallet is a fault, never "no wallet"; the measured drop catches
// an outflow no descriptor declared.
class FakeBank : public x::wallet::BankKeeper {
 public:
  Result<Coins> balances(const store::KVReader&, std::string_view) const override { return bal; }
  Status check_send(const store::KVReader&, std::string_view, std::string_view, const Coins&) const override {
    return {};
  }
  Status send(x::Context&, std::string_view, std::string_view, const Coins&) const override { return {}; }
  bool transferable(const store::KVReader&, std::string_view) const override { return true; }
  Status ensure_account(store::KVStore&, std::string_view) const override { return {}; }
  Coins bal;
};

TEST(WalletKeeper, CorruptWalletRecordIsAFault) {
  store::MemStore s;
  FakeBank bank;
  x::wallet::Keeper k(&bank, nullptr);
  const Bytes w = x::wallet::WalletAddress(Bytes(20, 'o'), 0);
  s.set("wallet/w/" + w, "\xff\xff garbage");
  auto a = k.authorize(s, w, Bytes(32, 'k'), 5);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(x::IsFault(a.error())) << a.error().message;
  EXPECT_TRUE(x::IsFault(k.check_invariants(s)));
}

TEST(WalletKeeper, MeasuredDropPastTheBudgetIsRefused) {
  store::MemStore s;
  FakeBank bank;
  x::wallet::Keeper k(&bank, nullptr);
  const Bytes owner(20, 'o');
  const Bytes w = x::wallet::WalletAddress(owner, 0);
  wv1::Wallet rec;
  rec.set_address(crypto::AddressToBech32(w));
  rec.set_owner(crypto::AddressToBech32(owner));
  *rec.mutable_policy() = Budget("1000udpai", 10);
  k.put_wallet(s, rec, w, owner);
  wv1::SessionKey sk;
  sk.set_pub_key(Bytes(32, 'k'));
  k.put_key(s, w, sk);
  auto a = k.authorize(s, w, Bytes(32, 'k'), 3);
  ASSERT_TRUE(a.ok()) << a.error().message;
  // The messages declared nothing, but the wallet's balance dropped by 1500.
  bank.bal = Coins::Parse("500udpai").value();
  x::GasMeter gas(1'000'000);
  x::EventManager ev;
  x::BlockHeader h{"c", 3, 0, {}, {}};
  x::Context ctx{&s, &gas, &ev, &h, false};
  auto st = k.settle(ctx, a.value(), Coins::Parse("2000udpai").value());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, x::wallet::kErrBudget);
  EXPECT_NE(st.error().message.find("measured by this tx's messages 1500"), std::string::npos) << st.error().message;
  // Within the budget: recorded.
  bank.bal = Coins::Parse("1300udpai").value();
  ASSERT_TRUE(k.settle(ctx, a.value(), Coins::Parse("2000udpai").value()).ok());
  auto sp = k.wallet_spend(s, w).value();
  ASSERT_TRUE(sp.has_value());
  EXPECT_EQ(sp->spent(0).amount(), "700");
}

}  // namespace
}  // namespace depai::test
