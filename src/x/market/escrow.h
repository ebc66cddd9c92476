// Escrow arithmetic of x/market, free of state access so it can be tested against a
// block-by-block reference (test/unit/test_market_escrow.cpp).
//
// An order's escrow pays its lease `rate` udpai per block. Of each block's payment,
// take = floor(rate * take_fee_bps / 10000) goes to the treasury and rate - take to the provider.
// Settlement is lazy: Settle(h) pays every block in (settled_height, h] at once, which equals
// paying block by block. Blocks the balance cannot cover accrue as debt; AddFunds pays the debt
// first. All arithmetic is checked (Amount); an overflow is an error and changes nothing.
// Pure value types; thread-compatible.
#pragma once

#include <cstdint>

#include "util/amount.h"
#include "util/result.h"

namespace depai::x::market {

struct EscrowAccount {
  Amount balance;           // not yet paid out
  Amount debt;              // unpaid blocks (multiples of rate until partly paid)
  Amount withdrawable;      // provider share settled but still held by the escrow module account
  Amount paid_to_provider;  // total provider share, net of take
  Amount paid_take_fee;     // total sent to the treasury
  int64_t settled_height = 0;
};

// What one settlement (or debt payment) moved.
struct Payout {
  uint64_t blocks_paid = 0;
  uint64_t blocks_unpaid = 0;
  Amount to_provider;  // added to withdrawable
  Amount take;         // to be sent to the treasury now
};

// floor(rate * take_fee_bps / 10000).
Result<Amount> TakePerBlock(Amount rate, uint32_t take_fee_bps);

// Pays the blocks in (settled_height, h]: paid = min(n, balance / rate) blocks; the remaining
// n - paid blocks add n_unpaid * rate to debt. settled_height becomes max(settled_height, h).
// `rate` must be positive.
Result<Payout> Settle(EscrowAccount& e, Amount rate, uint32_t take_fee_bps, int64_t h);

// Adds `amount` to the balance, then pays min(debt, balance) of debt. A debt payment p is split
// like block payments: take = floor(p * take_per_block / rate) (exactly k*take for k whole blocks).
// Call Settle first so the debt is current.
Result<Payout> AddFunds(EscrowAccount& e, Amount amount, Amount rate, uint32_t take_fee_bps);

// The last height the balance pays for: settled_height + balance / rate.
int64_t FundedUntil(const EscrowAccount& e, Amount rate);

}  // namespace depai::x::market
