// The transaction pipeline through the real App: every rejection has a stable code and changes
// nothing; fees move to the fee collector; the supply invariant holds.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "depai/bank/v1/bank.pb.h"
#include "ledger_fixture.h"
#include "x/bank/keeper.h"
#include "x/types/codec.h"
#include "x/types/errors.h"

using namespace depai;
using depai::test::TestLedger;

namespace {
constexpr uint64_t kStart = TestLedger::kInitialBalance;

// A rejected tx must leave balances and sequences exactly as they were.
void ExpectRejected(TestLedger& L, const Bytes& tx, uint32_t code, const std::string& codespace = "sdk") {
  app::RequestCheckTx req;
  req.tx = tx;
  auto before_hash = L.AppHash();
  auto ck = L.app->CheckTx(req);
  EXPECT_EQ(ck.code, code) << ck.log;
  EXPECT_EQ(ck.codespace, codespace) << ck.log;
  EXPECT_FALSE(ck.log.empty());
  auto res = L.Block({tx});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].code, code) << res[0].log;
  EXPECT_EQ(L.AppHash(), before_hash) << "a rejected tx changed state: " << res[0].log;
}
}  // namespace

TEST(Ante, ValidSendMovesFundsAndPaysFee) {
  TestLedger L;
  auto tx = L.Send(0, L.accounts[1].bech32, "1000udpai", "10udpai");
  app::RequestCheckTx ck{tx};
  EXPECT_EQ(L.app->CheckTx(ck).code, 0u);
  auto res = L.Block({tx});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  EXPECT_GT(res[0].gas_used, 0);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), kStart - 1010);
  EXPECT_EQ(L.Balance(L.accounts[1].bech32), kStart + 1000);
  EXPECT_EQ(L.Balance(crypto::AddressToBech32(x::bank::FeeCollectorAddress())), 10u);
  EXPECT_EQ(L.accounts[0].sequence, 1u);
  bool transfer = false;
  for (const auto& e : res[0].events) transfer |= e.type == "transfer";
  EXPECT_TRUE(transfer);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Ante, BadSignatureRejected) {
  TestLedger L;
  auto tx = L.Send(0, L.accounts[1].bech32, "1udpai");
  tx[tx.size() - 1] ^= 0x01;  // last byte is inside the signature
  ExpectRejected(L, tx, x::kErrUnauthorized);
}

TEST(Ante, WrongChainIdRejected) {
  TestLedger L;
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", "10udpai", "other-chain"), x::kErrUnauthorized);
}

TEST(Ante, ReplayedSequenceRejected) {
  TestLedger L;
  auto tx = L.Send(0, L.accounts[1].bech32, "1udpai");
  ASSERT_EQ(L.Block({tx})[0].code, 0u);
  ExpectRejected(L, tx, x::kErrInvalidSequence);  // exact replay
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "2udpai", "10udpai", TestLedger::kChainId, 0),
                 x::kErrInvalidSequence);  // old sequence, new tx
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "2udpai", "10udpai", TestLedger::kChainId, 5),
                 x::kErrInvalidSequence);  // future sequence
}

TEST(Ante, InsufficientFundsRejectedByCheckTx) {
  TestLedger L;
  // The balance covers the fee but not fee + amount: CheckTx rejects it, nothing changes.
  auto r = L.app->CheckTx({L.Send(0, L.accounts[1].bech32, std::to_string(kStart) + "udpai", "10udpai")});
  EXPECT_EQ(r.code, x::kErrInsufficientFunds) << r.log;
  // The check state is untouched: the same sequence still works for an affordable tx.
  EXPECT_EQ(L.app->CheckTx({L.Send(0, L.accounts[1].bech32, "5udpai")}).code, 0u);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), kStart);
}

TEST(Ante, InsufficientFundsForMessageChargesFeeOnly) {
  TestLedger L;
  auto tx = L.Send(0, L.accounts[1].bech32, std::to_string(kStart) + "udpai", "10udpai");
  // A proposer may still include it (CheckTx is not consensus); executed in a block, the
  // message fails and only the fee is charged.
  auto res = L.Block({tx});
  EXPECT_EQ(res[0].code, x::kErrInsufficientFunds) << res[0].log;
  // The message failed: funds stay, but the fee is paid and the sequence used (as in Cosmos).
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), kStart - 10);
  EXPECT_EQ(L.Balance(L.accounts[1].bech32), kStart);
  EXPECT_EQ(L.accounts[0].sequence, 1u);
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Ante, InsufficientFundsForFeeRejected) {
  TestLedger L;
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", std::to_string(kStart + 1) + "udpai"),
                 x::kErrInsufficientFunds);
}

TEST(Ante, FeeBelowMinimumRejected) {
  TestLedger L;
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", "9udpai"), x::kErrInsufficientFee);
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", ""), x::kErrInsufficientFee);
}

TEST(Ante, UnknownDenomRejected) {
  TestLedger L;
  auto res = L.Block({L.Send(0, L.accounts[1].bech32, "5ufoo")});
  EXPECT_EQ(res[0].code, x::bank::kErrUnknownDenom);
  EXPECT_EQ(res[0].codespace, "bank");
  EXPECT_EQ(L.Balance(L.accounts[1].bech32), kStart);
}

TEST(Ante, NonTransferableDenomRejected) {
  TestLedger L;
  app::RequestCheckTx ck{L.Send(0, L.accounts[1].bech32, "5ucredit")};
  auto r = L.app->CheckTx(ck);
  EXPECT_EQ(r.code, x::bank::kErrNotTransferable) << r.log;
  EXPECT_EQ(L.Balance(L.accounts[1].bech32, "ucredit"), 500u);
}

TEST(Ante, OverflowingAmountRejectedStatelessly) {
  TestLedger L;
  // Build a MsgSend whose amount does not fit an Amount: rejected before touching state.
  depai::bank::v1::MsgSend m;
  m.set_from_address(L.accounts[0].bech32);
  m.set_to_address(L.accounts[1].bech32);
  auto* c = m.add_amount();
  c->set_denom("udpai");
  c->set_amount("99999999999999999999");
  google::protobuf::Any any;
  any.set_type_url("/depai.bank.v1.MsgSend");
  any.set_value(x::DeterministicSerialize(m));
  ExpectRejected(L, L.SignAny(0, {any}), x::kErrOverflow);
}

TEST(Ante, MalformedBytesRejected) {
  TestLedger L;
  ExpectRejected(L, Bytes("\x0a\xff\xff\xff", 4), x::kErrTxDecode);
  ExpectRejected(L, Bytes(""), x::kErrTxDecode);
  auto tx = L.Send(0, L.accounts[1].bech32, "1udpai");
  ExpectRejected(L, tx.substr(0, tx.size() / 2), x::kErrTxDecode);
  ExpectRejected(L, tx + "\x78\x01", x::kErrTxDecode);  // trailing unknown field: non-canonical
}

TEST(Ante, WrongSignerRejected) {
  TestLedger L;
  // account 0 signs a message that spends account 1's funds
  auto any = client::PackMsgSend(L.accounts[1].bech32, L.accounts[0].bech32, Coins::Parse("1udpai").value());
  ExpectRejected(L, L.SignAny(0, {any}), x::kErrWrongSigner);
}

TEST(Ante, MalformedRecipientRejected) {
  TestLedger L;
  ExpectRejected(L, L.Send(0, "depai1notanaddress", "1udpai"), x::kErrInvalidAddress);
  ExpectRejected(L, L.Send(0, "cosmos1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnrql8a", "1udpai"), x::kErrInvalidAddress);
}

TEST(Ante, GasLimitsEnforced) {
  TestLedger L;
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", "10udpai", TestLedger::kChainId, std::nullopt, 0),
                 x::kErrInvalidGasLimit);
  ExpectRejected(
      L, L.Send(0, L.accounts[1].bech32, "1udpai", "10000udpai", TestLedger::kChainId, std::nullopt, 100'000'000),
      x::kErrInvalidGasLimit);
  // Enough fee, too little gas: out of gas in the ante.
  ExpectRejected(L, L.Send(0, L.accounts[1].bech32, "1udpai", "10udpai", TestLedger::kChainId, std::nullopt, 2000),
                 x::kErrOutOfGas);
}

TEST(Ante, SequentialTxsInOneBlock) {
  TestLedger L;
  std::vector<Bytes> txs;
  for (uint64_t s = 0; s < 5; ++s)
    txs.push_back(L.Send(0, L.accounts[2].bech32, "7udpai", "10udpai", TestLedger::kChainId, s));
  // CheckTx accepts them in order because the check state tracks sequences.
  for (const auto& tx : txs) EXPECT_EQ(L.app->CheckTx({tx}).code, 0u);
  auto res = L.Block(txs);
  for (const auto& r : res) EXPECT_EQ(r.code, 0u) << r.log;
  EXPECT_EQ(L.Balance(L.accounts[2].bech32), kStart + 35);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), kStart - 85);
}

TEST(Ante, NewRecipientGetsAnAccountAndCanSpend) {
  TestLedger L;
  auto fresh = *crypto::KeyFromSeed(crypto::Sha256("fresh"));
  auto fresh_b32 = crypto::AddressToBech32(crypto::AddressOf(fresh.pubkey));
  ASSERT_EQ(L.Block({L.Send(0, fresh_b32, "1000udpai")})[0].code, 0u);
  auto acc = L.Query("/auth/account/" + fresh_b32);
  ASSERT_TRUE(acc.contains("account_number")) << acc.dump();
  client::SignerData sd{TestLedger::kChainId, std::stoull(acc["account_number"].get<std::string>()), 0};
  client::TxOptions o;
  o.fee = Coins::Parse("10udpai").value();
  auto tx = client::BuildSignedTx(
      fresh, sd, {client::PackMsgSend(fresh_b32, L.accounts[0].bech32, Coins::Parse("5udpai").value())}, o);
  auto res = L.Block({tx});
  EXPECT_EQ(res[0].code, 0u) << res[0].log;
  EXPECT_EQ(L.Balance(fresh_b32), 1000u - 15);
}

TEST(Bank, MultiSendAndSupplyInvariant) {
  TestLedger L;
  depai::bank::v1::MsgMultiSend m;
  m.set_from_address(L.accounts[0].bech32);
  for (int i = 1; i <= 3; ++i) {
    auto* o = m.add_outputs();
    o->set_address(L.accounts[i].bech32);
    auto* c = o->add_coins();
    c->set_denom("udpai");
    c->set_amount("100");
  }
  google::protobuf::Any any;
  any.set_type_url("/depai.bank.v1.MsgMultiSend");
  any.set_value(x::DeterministicSerialize(m));
  auto res = L.Block({L.SignAny(0, {any})});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), kStart - 310);
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(L.Balance(L.accounts[i].bech32), kStart + 100);
  auto supply = L.Query("/bank/supply");
  EXPECT_EQ(supply["supply"][1]["amount"], std::to_string(kStart * 4));
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Bank, GenesisExportImportRoundTrip) {
  TestLedger L;
  L.Block({L.Send(0, L.accounts[1].bech32, "1234udpai"), L.Send(2, L.accounts[3].bech32, "1udpai")});
  auto exported = nlohmann::json::parse(L.app->ExportGenesis().value());
  TestLedger M(0, "", false);
  app::RequestInitChain req;
  req.chain_id = TestLedger::kChainId;
  req.app_state_bytes = exported["app_state"].dump();
  auto ic = M.app->InitChain(req);
  ASSERT_TRUE(ic.ok()) << ic.error().message;
  EXPECT_EQ(ic->app_hash, L.AppHash()) << "re-imported genesis must reproduce the exact state";
  auto again = nlohmann::json::parse(L.app->ExportGenesis().value());
  EXPECT_EQ(again["app_state"], exported["app_state"]);
}

TEST(Bank, InvalidGenesisRejected) {
  TestLedger M(0, "", false);
  app::RequestInitChain req;
  req.chain_id = "x";
  req.app_state_bytes = "{not json";
  EXPECT_FALSE(M.app->InitChain(req).ok());
  TestLedger N(1, "", false);
  auto g = N.Genesis();
  g["bank"]["supply"] = {{{"denom", "udpai"}, {"amount", "1"}}};
  req.app_state_bytes = g.dump();
  auto r = N.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("supply"), std::string::npos);
  EXPECT_EQ(N.app->last_height(), 0);
}

TEST(App, QueryErrors) {
  TestLedger L;
  auto r = L.Query("/bank/balances/nope");
  EXPECT_EQ(r["code"], x::kErrInvalidAddress);
  r = L.Query("/no/such/path");
  EXPECT_EQ(r["code"], x::kErrUnknownRequest);
  auto fresh = crypto::AddressToBech32(Bytes(20, '\x07'));
  r = L.Query("/auth/account/" + fresh);
  EXPECT_EQ(r["code"], x::kErrUnknownAddress);
}

TEST(App, RestartKeepsHeightHashAndBalances) {
  auto dir = std::filesystem::temp_directory_path() / ("depai-app-restart-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Bytes hash;
  {
    TestLedger L(4, dir.string());
    L.Block({L.Send(0, L.accounts[1].bech32, "77udpai")});
    L.Block({});
    hash = L.AppHash();
    EXPECT_EQ(L.app->last_height(), 3);
  }
  {
    TestLedger L(4, dir.string());
    EXPECT_EQ(L.app->last_height(), 3);
    EXPECT_EQ(L.AppHash(), hash);
    EXPECT_EQ(L.Balance(L.accounts[1].bech32), kStart + 77);
    // FinalizeBlock without Commit persists nothing
    app::RequestFinalizeBlock req;
    req.height = 4;
    req.txs = {L.Send(0, L.accounts[1].bech32, "5udpai")};
    ASSERT_TRUE(L.app->FinalizeBlock(req).ok());
  }
  {
    TestLedger L(4, dir.string());
    EXPECT_EQ(L.app->last_height(), 3);
    EXPECT_EQ(L.AppHash(), hash);
  }
  std::filesystem::remove_all(dir);
}

TEST(Ante, RejectedCheckTxLeavesCheckStateUntouched) {
  TestLedger L;
  // A tx whose message fails its stateful check (unknown denom) is rejected by CheckTx...
  auto bad = L.Send(0, L.accounts[1].bech32, "5ufoo");
  EXPECT_EQ(L.app->CheckTx({bad}).code, x::bank::kErrUnknownDenom);
  // ...and must not consume the sequence: the next tx with the same sequence is accepted.
  auto good = L.Send(0, L.accounts[1].bech32, "5udpai");
  auto r = L.app->CheckTx({good});
  EXPECT_EQ(r.code, 0u) << r.log;
}
