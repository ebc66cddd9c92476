// x/market escrow arithmetic: lazy settlement equals paying block by block.
#include <gtest/gtest.h>

#include <random>

#include "x/market/escrow.h"

namespace depai::x::market {
namespace {

Amount A(uint64_t v) { return Amount::Of(v).value(); }

// Block-by-block reference, written independently of escrow.cpp.
struct Reference {
  uint64_t rate, take;  // per block
  uint64_t balance = 0, debt = 0, withdrawable = 0, paid_provider = 0, paid_take = 0, treasury = 0;
  int64_t height = 0;
  void tick_to(int64_t h) {
    for (; height < h; ++height) {
      if (balance >= rate) {
        balance -= rate;
        withdrawable += rate - take;
        paid_provider += rate - take;
        paid_take += take;
        treasury += take;
      } else {
        debt += rate;
      }
    }
  }
  void add(uint64_t amount) {
    balance += amount;
    uint64_t pay = debt < balance ? debt : balance;
    uint64_t t = static_cast<uint64_t>(static_cast<unsigned __int128>(pay) * take / rate);
    balance -= pay;
    debt -= pay;
    withdrawable += pay - t;
    paid_provider += pay - t;
    paid_take += t;
    treasury += t;
  }
};

void ExpectSame(const EscrowAccount& e, const Reference& r, const std::string& where) {
  EXPECT_EQ(e.balance.raw(), r.balance) << where;
  EXPECT_EQ(e.debt.raw(), r.debt) << where;
  EXPECT_EQ(e.withdrawable.raw(), r.withdrawable) << where;
  EXPECT_EQ(e.paid_to_provider.raw(), r.paid_provider) << where;
  EXPECT_EQ(e.paid_take_fee.raw(), r.paid_take) << where;
}

TEST(MarketEscrow, TakePerBlockFloors) {
  EXPECT_EQ(TakePerBlock(A(100), 200).value().raw(), 2u);
  EXPECT_EQ(TakePerBlock(A(49), 200).value().raw(), 0u);  // 0.98 floors to 0
  EXPECT_EQ(TakePerBlock(A(51), 200).value().raw(), 1u);
  EXPECT_EQ(TakePerBlock(A(7), 10000).value().raw(), 7u);
}

TEST(MarketEscrow, SettleSimpleAndFundedUntil) {
  EscrowAccount e;
  e.balance = A(1000);
  e.settled_height = 10;
  EXPECT_EQ(FundedUntil(e, A(100)), 20);
  auto p = Settle(e, A(100), 200, 15).value();
  EXPECT_EQ(p.blocks_paid, 5u);
  EXPECT_EQ(p.take.raw(), 10u);
  EXPECT_EQ(p.to_provider.raw(), 490u);
  EXPECT_EQ(e.balance.raw(), 500u);
  EXPECT_EQ(e.withdrawable.raw(), 490u);
  EXPECT_EQ(FundedUntil(e, A(100)), 20);   // settlement does not move funded_until
  p = Settle(e, A(100), 200, 25).value();  // 5 paid, 5 unpaid
  EXPECT_EQ(p.blocks_paid, 5u);
  EXPECT_EQ(p.blocks_unpaid, 5u);
  EXPECT_EQ(e.balance.raw(), 0u);
  EXPECT_EQ(e.debt.raw(), 500u);
  // Top-up of 700 pays the 500 debt (take 10) and leaves 200 = 2 blocks.
  p = AddFunds(e, A(700), A(100), 200).value();
  EXPECT_EQ(p.take.raw(), 10u);
  EXPECT_EQ(p.to_provider.raw(), 490u);
  EXPECT_EQ(e.debt.raw(), 0u);
  EXPECT_EQ(e.balance.raw(), 200u);
  EXPECT_EQ(FundedUntil(e, A(100)), 27);
  // Settling backwards is a no-op.
  EXPECT_EQ(Settle(e, A(100), 200, 3).value().blocks_paid, 0u);
  EXPECT_EQ(e.settled_height, 25);
}

TEST(MarketEscrow, OverflowIsAnErrorAndChangesNothing) {
  EscrowAccount e;
  e.balance = A(0);
  e.settled_height = 0;
  const Amount huge = A(Amount::kMax / 2);
  auto r = Settle(e, huge, 200, 5);  // debt 5 * kMax/2 overflows
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(e.debt.raw(), 0u);
  EXPECT_EQ(e.settled_height, 0);
  e.balance = A(Amount::kMax);
  EXPECT_FALSE(AddFunds(e, A(1), A(10), 0).ok());
  EXPECT_EQ(e.balance.raw(), Amount::kMax);
  EXPECT_FALSE(Settle(e, Amount(), 0, 5).ok());  // rate 0 rejected
}

// Many seeded random histories of deposits, withdrawals, idle stretches and a final close:
// settling only at those events must equal the block-by-block reference exactly, and money is
// conserved (deposits = balance + paid to provider + take).
TEST(MarketEscrow, LazySettlementEqualsBlockByBlock) {
  int histories = 0;
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t lo, uint64_t hi) { return lo + rng() % (hi - lo + 1); };
    const uint64_t rate = pick(1, 5000);
    const uint32_t bps = static_cast<uint32_t>(pick(0, 3) == 0 ? 0 : pick(1, 2500));
    const uint64_t take = static_cast<uint64_t>(static_cast<unsigned __int128>(rate) * bps / 10000);
    const int64_t start = static_cast<int64_t>(pick(1, 1000));
    EscrowAccount e;
    e.balance = A(rate * pick(0, 40) + pick(0, rate));
    e.settled_height = start;
    Reference ref{rate, take};
    ref.balance = e.balance.raw();
    ref.height = start;
    uint64_t deposited = e.balance.raw(), withdrawn = 0, treasury = 0;
    int64_t h = start;
    const int steps = static_cast<int>(pick(1, 60));
    for (int s = 0; s < steps; ++s) {
      h += static_cast<int64_t>(pick(0, 30));
      ref.tick_to(h);
      const std::string where = "seed " + std::to_string(seed) + " step " + std::to_string(s);
      switch (pick(0, 3)) {
        case 0: {  // deposit (a top-up settles first)
          const uint64_t amt = pick(1, rate * 20);
          auto p = Settle(e, A(rate), bps, h);
          ASSERT_TRUE(p.ok());
          treasury += p->take.raw();
          auto q = AddFunds(e, A(amt), A(rate), bps);
          ASSERT_TRUE(q.ok());
          treasury += q->take.raw();
          ref.add(amt);
          deposited += amt;
          break;
        }
        case 1: {  // provider withdraws
          auto p = Settle(e, A(rate), bps, h);
          ASSERT_TRUE(p.ok());
          treasury += p->take.raw();
          withdrawn += e.withdrawable.raw();
          EXPECT_EQ(e.withdrawable.raw(), ref.withdrawable) << where;
          e.withdrawable = Amount();
          ref.withdrawable = 0;
          break;
        }
        default:  // nothing happens: no settlement at all
          break;
      }
      if (pick(0, 1)) {  // a scheduled event settles
        auto p = Settle(e, A(rate), bps, h);
        ASSERT_TRUE(p.ok());
        treasury += p->take.raw();
      }
      // After any settlement at h both views agree.
      EscrowAccount probe = e;
      auto p = Settle(probe, A(rate), bps, h);
      ASSERT_TRUE(p.ok());
      ExpectSame(probe, ref, where);
    }
    // Close: settle at the final height.
    h += static_cast<int64_t>(pick(0, 50));
    ref.tick_to(h);
    auto p = Settle(e, A(rate), bps, h);
    ASSERT_TRUE(p.ok());
    treasury += p->take.raw();
    ExpectSame(e, ref, "close seed " + std::to_string(seed));
    EXPECT_EQ(treasury, ref.treasury);  // the takes sent at each settlement sum to the reference
    // Conservation: every udpai deposited is in the balance, with the provider, or in the treasury.
    EXPECT_EQ(deposited, e.balance.raw() + e.paid_to_provider.raw() + e.paid_take_fee.raw());
    EXPECT_EQ(e.paid_to_provider.raw(), withdrawn + e.withdrawable.raw());
    ++histories;
  }
  EXPECT_EQ(histories, 400);
}

}  // namespace
}  // namespace depai::x::market
