#include "x/market/escrow.h"

#include "x/types/errors.h"

namespace depai::x::market {

namespace {
Error Overflow(const char* what) { return RootErr(kErrOverflow, std::string("escrow overflow: ") + what); }
}  // namespace

Result<Amount> TakePerBlock(Amount rate, uint32_t take_fee_bps) {
  auto t = rate.mul_div(take_fee_bps, 10000);
  if (!t.ok()) return Overflow("take");
  return t;
}

Result<Payout> Settle(EscrowAccount& e, Amount rate, uint32_t take_fee_bps, int64_t h) {
  Payout p;
  if (rate.is_zero()) return RootErr(kErrInvalidRequest, "escrow: rate must be positive");
  if (h <= e.settled_height) return p;
  const uint64_t n = static_cast<uint64_t>(h - e.settled_height);
  const uint64_t fundable = e.balance.raw() / rate.raw();
  const uint64_t paid = n < fundable ? n : fundable;
  DEPAI_ASSIGN_OR_RETURN(Amount take, TakePerBlock(rate, take_fee_bps));
  EscrowAccount next = e;
  // paid * rate <= balance, so these products cannot overflow; unpaid * rate can.
  DEPAI_ASSIGN_OR_RETURN(Amount gross, Amount::Of(paid * rate.raw()));
  DEPAI_ASSIGN_OR_RETURN(Amount take_total, Amount::Of(paid * take.raw()));
  DEPAI_ASSIGN_OR_RETURN(Amount net, gross.sub(take_total));
  DEPAI_ASSIGN_OR_RETURN(next.balance, e.balance.sub(gross));
  auto unpaid = Amount::Of(n - paid);
  if (!unpaid.ok()) return Overflow("blocks");
  auto unpaid_amt = unpaid->mul_div(rate.raw(), 1);
  if (!unpaid_amt.ok()) return Overflow("debt");
  auto debt = e.debt.add(*unpaid_amt);
  if (!debt.ok()) return Overflow("debt");
  next.debt = *debt;
  auto w = e.withdrawable.add(net);
  auto pp = e.paid_to_provider.add(net);
  auto pt = e.paid_take_fee.add(take_total);
  if (!w.ok() || !pp.ok() || !pt.ok()) return Overflow("totals");
  next.withdrawable = *w;
  next.paid_to_provider = *pp;
  next.paid_take_fee = *pt;
  next.settled_height = h;
  e = next;
  p.blocks_paid = paid;
  p.blocks_unpaid = n - paid;
  p.to_provider = net;
  p.take = take_total;
  return p;
}

Result<Payout> AddFunds(EscrowAccount& e, Amount amount, Amount rate, uint32_t take_fee_bps) {
  Payout p;
  if (rate.is_zero()) return RootErr(kErrInvalidRequest, "escrow: rate must be positive");
  EscrowAccount next = e;
  auto b = e.balance.add(amount);
  if (!b.ok()) return Overflow("balance");
  next.balance = *b;
  const Amount pay = next.debt < next.balance ? next.debt : next.balance;
  if (!pay.is_zero()) {
    DEPAI_ASSIGN_OR_RETURN(Amount take_per_block, TakePerBlock(rate, take_fee_bps));
    auto take = pay.mul_div(take_per_block.raw(), rate.raw());
    if (!take.ok()) return Overflow("take");
    DEPAI_ASSIGN_OR_RETURN(Amount net, pay.sub(*take));
    DEPAI_ASSIGN_OR_RETURN(next.balance, next.balance.sub(pay));
    DEPAI_ASSIGN_OR_RETURN(next.debt, next.debt.sub(pay));
    auto w = next.withdrawable.add(net);
    auto pp = next.paid_to_provider.add(net);
    auto pt = next.paid_take_fee.add(*take);
    if (!w.ok() || !pp.ok() || !pt.ok()) return Overflow("totals");
    next.withdrawable = *w;
    next.paid_to_provider = *pp;
    next.paid_take_fee = *pt;
    p.to_provider = net;
    p.take = *take;
  }
  e = next;
  return p;
}

int64_t FundedUntil(const EscrowAccount& e, Amount rate) {
  if (rate.is_zero()) return e.settled_height;
  return e.settled_height + static_cast<int64_t>(e.balance.raw() / rate.raw());
}

}  // namespace depai::x::market
