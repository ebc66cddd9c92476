// x/bank keeper on a bare store: checked arithmetic, no change on error, and both forms of the
// supply invariant catching a corrupted state.
#include <gtest/gtest.h>

#include "crypto/bech32.h"
#include "ledger_fixture.h"
#include "store/cache_store.h"
#include "store/mem_store.h"
#include "x/bank/keeper.h"
#include "x/market/keeper.h"
#include "x/provider/keeper.h"
#include "x/types/errors.h"

using namespace depai;
using depai::x::BlockHeader;
using depai::x::Context;
using depai::x::EventManager;
using depai::x::GasMeter;
namespace xbank = depai::x::bank;
using depai::x::kErrInsufficientFunds;
using depai::x::kErrOutOfGas;

namespace {
struct BankFixture : ::testing::Test {
  store::MemStore base;
  xbank::Keeper k;
  GasMeter gas = GasMeter::Infinite();
  EventManager events;
  BlockHeader header;
  Bytes alice = Bytes(20, 'a'), bob = Bytes(20, 'b');

  void SetUp() override {
    xbank::DenomMetadata m;
    m.set_denom("udpai");
    m.set_transferable(true);
    m.set_max_supply("1000");
    k.set_denom(base, m);
    xbank::DenomMetadata c;
    c.set_denom("ucredit");
    c.set_transferable(false);
    c.set_max_supply("9223372036854775807");
    k.set_denom(base, c);
  }
  Context Ctx(store::KVStore& s) { return Context{&s, &gas, &events, &header, false}; }
  Coins C(const char* s) { return Coins::Parse(s).value(); }
};
}  // namespace

TEST_F(BankFixture, MintRespectsMaxSupply) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("600udpai")).ok());
  auto r = k.mint(ctx, bob, C("401udpai"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, xbank::kErrMaxSupply);
  EXPECT_EQ(k.supply(base, "udpai").value().raw(), 600u);
  EXPECT_TRUE(k.balances(base, bob).value().empty());
  EXPECT_TRUE(k.check_supply_full(base).ok());
}

TEST_F(BankFixture, SendFailureLeavesStoreUnchanged) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai,50ucredit")).ok());
  store::CacheStore br(&base);
  auto bctx = Ctx(br);
  // Two denoms, the second one short: nothing at all may move.
  auto r = k.send(bctx, alice, bob, C("10udpai,60ucredit"), false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrInsufficientFunds);
  EXPECT_EQ(br.pending_writes(), 0u);
  // A user transfer of a non-transferable denom is refused.
  r = k.send(bctx, alice, bob, C("5ucredit"), true);
  EXPECT_EQ(r.error().code, xbank::kErrNotTransferable);
  r = k.send(bctx, alice, bob, C("5ufoo"), true);
  EXPECT_EQ(r.error().code, xbank::kErrUnknownDenom);
  EXPECT_EQ(br.pending_writes(), 0u);
}

TEST_F(BankFixture, SendToSelfKeepsBalance) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai")).ok());
  ASSERT_TRUE(k.send(ctx, alice, alice, C("40udpai"), true).ok());
  EXPECT_EQ(k.balance(base, alice, "udpai").value().raw(), 100u);
}

TEST_F(BankFixture, BurnReducesSupply) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai")).ok());
  ASSERT_TRUE(k.burn(ctx, alice, C("30udpai")).ok());
  EXPECT_EQ(k.supply(base, "udpai").value().raw(), 70u);
  EXPECT_FALSE(k.burn(ctx, alice, C("71udpai")).ok());
  EXPECT_TRUE(k.check_supply_full(base).ok());
}

TEST_F(BankFixture, FullInvariantCatchesCorruption) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai")).ok());
  k.set_balance(base, bob, "udpai", Amount::Of(1).value());  // coins from nowhere
  auto r = k.check_supply_full(base);
  ASSERT_FALSE(r.ok());
  // An invariant break is a fault (it halts the node), never a tx result.
  EXPECT_EQ(r.error().codespace, x::kFaultCodespace);
  EXPECT_EQ(r.error().code, x::kFaultInvariant);
}

TEST_F(BankFixture, CorruptStoredBalanceIsAFaultNotZero) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai")).ok());
  base.set(std::string("bank/bal/") + alice + "udpai", "\x01\x02");  // 2 bytes, not a u64
  auto b = k.balance(base, alice, "udpai");
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(x::IsFault(b.error()));
  EXPECT_EQ(b.error().code, x::kFaultCorruptRecord);
  auto sent = k.send(ctx, alice, bob, C("1udpai"), true);
  ASSERT_FALSE(sent.ok());
  EXPECT_TRUE(x::IsFault(sent.error()));
  EXPECT_FALSE(k.check_supply_full(base).ok());
}

TEST_F(BankFixture, BlockInvariantCatchesCorruption) {
  auto ctx = Ctx(base);
  ASSERT_TRUE(k.mint(ctx, alice, C("100udpai")).ok());
  {
    store::CacheStore block(&base);
    auto bctx = Ctx(block);
    ASSERT_TRUE(k.send(bctx, alice, bob, C("10udpai"), true).ok());
    ASSERT_TRUE(k.mint(bctx, bob, C("5udpai")).ok());
    EXPECT_TRUE(k.check_supply_block(block, base).ok());
  }
  {
    store::CacheStore block(&base);
    k.set_balance(block, bob, "udpai", Amount::Of(7).value());  // minted without supply
    EXPECT_FALSE(k.check_supply_block(block, base).ok());
  }
  {
    store::CacheStore block(&base);
    k.set_supply(block, "udpai", Amount::Of(1000).value());  // supply without balances
    EXPECT_FALSE(k.check_supply_block(block, base).ok());
  }
}

TEST_F(BankFixture, BalanceOverflowIsAnError) {
  auto ctx = Ctx(base);
  k.set_balance(base, bob, "ucredit", Amount::Of(Amount::kMax).value());
  k.set_supply(base, "ucredit", Amount::Of(Amount::kMax).value());
  k.set_mint_burn(base, "ucredit", Amount::Of(Amount::kMax).value(), Amount(), Amount());  // as a genesis import would
  ASSERT_TRUE(k.check_supply_full(base).ok());
  auto r = k.mint(ctx, alice, C("1ucredit"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, depai::x::kErrOverflow);
}

TEST(GasMeter, OutOfGas) {
  GasMeter g(100);
  EXPECT_TRUE(g.consume(60, "a").ok());
  auto r = g.consume(41, "b");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrOutOfGas);
  EXPECT_TRUE(g.exhausted());
  EXPECT_EQ(g.consumed(), 100u);
  GasMeter inf = GasMeter::Infinite();
  EXPECT_TRUE(inf.consume(UINT64_MAX - 1, "x").ok());
}

// Module accounts pinned by another module's invariant refuse user transfers, in CheckTx and in
// a block, for send and multi-send; nothing moves. (Otherwise 1udpai sent to the provider bond
// account would break x/provider's invariant and halt the chain.)
TEST(BankBlockedAddress, UserTransfersToModuleAccountsAreRefused) {
  test::TestLedger L;
  std::string bond = crypto::AddressToBech32(x::provider::BondAddress());
  uint64_t a0 = L.Balance(L.accounts[0].bech32), b0 = L.Balance(bond);
  Bytes tx = L.Send(0, bond, "1udpai");
  auto ck = L.app->CheckTx({tx, app::CheckTxType::kNew});
  EXPECT_EQ(ck.codespace, "bank");
  EXPECT_EQ(ck.code, xbank::kErrBlockedAddress);
  EXPECT_NE(ck.log.find("module account"), std::string::npos) << ck.log;
  auto res = L.Block({tx});
  EXPECT_EQ(res[0].code, xbank::kErrBlockedAddress);
  depai::bank::v1::MsgMultiSend ms;
  ms.set_from_address(L.accounts[0].bech32);
  for (const auto& to : {L.accounts[1].bech32, bond}) {
    auto* o = ms.add_outputs();
    o->set_address(to);
    auto* c = o->add_coins();
    c->set_denom("udpai");
    c->set_amount("5");
  }
  google::protobuf::Any any;
  any.set_type_url("/depai.bank.v1.MsgMultiSend");
  any.set_value(ms.SerializeAsString());
  Bytes multi = L.SignAny(0, {any});
  EXPECT_EQ(L.app->CheckTx({multi, app::CheckTxType::kNew}).code, xbank::kErrBlockedAddress);
  EXPECT_EQ(L.Block({multi})[0].code, xbank::kErrBlockedAddress);
  EXPECT_EQ(L.Balance(bond), b0);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), a0 - 20);  // only the two fees
  EXPECT_TRUE(L.app->CheckInvariants().ok());
  std::string escrow = crypto::AddressToBech32(x::market::EscrowModuleAddress());
  EXPECT_EQ(L.app->CheckTx({L.Send(1, escrow, "1udpai"), app::CheckTxType::kNew}).code, xbank::kErrBlockedAddress);
}
