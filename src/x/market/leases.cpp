// x/market leases and escrow: create/close lease, escrow deposits, provider withdrawals, lazy
// settlement and the escrow event schedule. check_* only read; the write methods assume their
// check passed.
#include "crypto/bech32.h"
#include "x/market/events.h"
#include "x/market/keeper.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::BID_STATE_LOST;
using depai::market::v1::BID_STATE_OPEN;
using depai::market::v1::BID_STATE_WON;
using depai::market::v1::CLOSE_REASON_OWNER;
using depai::market::v1::CLOSE_REASON_UNSPECIFIED;
using depai::market::v1::LEASE_STATE_ACTIVE;
using depai::market::v1::LEASE_STATE_CLOSED;
using depai::market::v1::LEASE_STATE_GRACE;
using depai::market::v1::ORDER_STATE_ACTIVE;
using depai::market::v1::ORDER_STATE_CLOSED;
using depai::market::v1::ORDER_STATE_OPEN;

namespace {
Error Vanished(const char* what, uint64_t id) {
  return Fault(kFaultInternal, std::string(what) + " " + std::to_string(id) + " passed check but is missing");
}
Error LeaseNotFound(uint64_t id) { return MarketErr(kErrLeaseNotFound, "lease " + std::to_string(id) + " not found"); }
}  // namespace

// ---- settlement and schedule --------------------------------------------------------------

Status Keeper::pay_take(Context& ctx, const ParamsRec& p, Amount take) const {
  if (take.is_zero()) return {};
  DEPAI_ASSIGN_OR_RETURN(Amount pool, take.mul_div(p.pb.checker_pool_bps(), 10000));
  DEPAI_TRY(send_from_escrow(ctx, CheckerPoolAddress(), pool));
  return send_from_escrow(ctx, TreasuryAddress(), take.sub(pool).value());
}

Status Keeper::close_lease_unstable(Context& ctx, uint64_t lease_id) const {
  DEPAI_ASSIGN_OR_RETURN(auto l, lease(*ctx.store, lease_id));
  if (!l) return Fault(kFaultInternal, "lease " + std::to_string(lease_id) + " to close is missing");
  if (l->pb.state() == LEASE_STATE_CLOSED) return {};
  return finish_lease(ctx, *l, depai::market::v1::CLOSE_REASON_PROVIDER_UNSTABLE, true);
}

Status Keeper::paid(Context& ctx, const ParamsRec& p, const LeaseRec& l, EscrowRec& e, const Payout& po) const {
  if (po.to_provider.is_zero() && po.take.is_zero()) return {};
  if (e.burns()) {
    // Settle/AddFunds credited the provider's share to withdrawable; a credit lease burns it
    // instead, with the take: the whole payment leaves the escrow account and the supply.
    auto w = e.acc.withdrawable.sub(po.to_provider);
    if (!w.ok()) return Fault(kFaultInternal, "credit escrow withdrawable below the payment just settled");
    e.acc.withdrawable = *w;
    auto total = po.to_provider.add(po.take);
    if (!total.ok()) return RootErr(kErrOverflow, "escrow payment overflows");
    DEPAI_TRY(bank_->burn(ctx, EscrowModuleAddress(), Coins::From({Coin{kCreditDenom, *total}}).value()));
  } else {
    DEPAI_TRY(pay_take(ctx, p, po.take));
  }
  if (hook_)
    DEPAI_TRY(hook_->on_paid(ctx, l.owner, l.provider, l.pb.id(), Coin{e.denom, po.to_provider}, Coin{e.denom, po.take},
                             e.burns()));
  return {};
}

Status Keeper::settle(Context& ctx, const ParamsRec& p, const LeaseRec& l, EscrowRec& e, int64_t h) const {
  DEPAI_ASSIGN_OR_RETURN(Payout po, Settle(e.acc, l.rate, p.pb.take_fee_bps(), h));
  DEPAI_TRY(paid(ctx, p, l, e, po));
  if (po.blocks_paid + po.blocks_unpaid > 0 && ctx.events) {
    auto attrs = LeaseAttrs(l.pb);
    attrs.push_back({"amount", po.to_provider.str()});
    attrs.push_back({"take", po.take.str()});
    attrs.push_back({"blocks", std::to_string(po.blocks_paid)});
    attrs.push_back({"balance", e.acc.balance.str()});
    attrs.push_back({"debt", e.acc.debt.str()});
    if (e.burns()) {
      auto t = po.to_provider.add(po.take);
      attrs.push_back({"burned", t.ok() ? t->str() : "0"});
    }
    ctx.events->emit("market.escrow_settled", std::move(attrs));
  }
  return {};
}

void Keeper::unschedule(store::KVStore& s, const LeaseRec& l, const EscrowRec& e, const ParamsRec& p) const {
  if (l.pb.state() == LEASE_STATE_ACTIVE) {
    const int64_t fu = FundedUntil(e.acc, l.rate);
    if (p.pb.low_balance_blocks() > 0) set_sched(s, fu - p.pb.low_balance_blocks(), kSchedLowBalance, l.pb.id(), false);
    set_sched(s, fu, kSchedExhausted, l.pb.id(), false);
  } else if (l.pb.state() == LEASE_STATE_GRACE) {
    set_sched(s, l.pb.grace_until(), kSchedGraceEnd, l.pb.id(), false);
  }
}

void Keeper::schedule(Context& ctx, LeaseRec& l, const EscrowRec& e, const ParamsRec& p, int64_t now) const {
  const int64_t fu = FundedUntil(e.acc, l.rate);
  auto attrs = [&] {
    auto a = LeaseAttrs(l.pb);
    a.push_back({"balance", e.acc.balance.str()});
    a.push_back({"funded_until", std::to_string(fu)});
    return a;
  };
  if (fu <= now) {
    l.pb.set_state(LEASE_STATE_GRACE);
    l.pb.set_grace_until(now + p.pb.grace_period_blocks());
    set_sched(*ctx.store, l.pb.grace_until(), kSchedGraceEnd, l.pb.id(), true);
    auto a = attrs();
    a.push_back({"grace_until", std::to_string(l.pb.grace_until())});
    if (ctx.events) ctx.events->emit("market.escrow_exhausted", std::move(a));
    return;
  }
  if (p.pb.low_balance_blocks() > 0) {
    const int64_t lh = fu - p.pb.low_balance_blocks();
    if (lh > now)
      set_sched(*ctx.store, lh, kSchedLowBalance, l.pb.id(), true);
    else if (ctx.events)
      ctx.events->emit("market.escrow_low_balance", attrs());
  }
  set_sched(*ctx.store, fu, kSchedExhausted, l.pb.id(), true);
}

EscrowAccount Keeper::settled_view(const ParamsRec& p, const LeaseRec& l, const EscrowRec& e, int64_t height) const {
  if (l.pb.state() == LEASE_STATE_CLOSED) return e.acc;
  EscrowAccount copy = e.acc;
  if (!Settle(copy, l.rate, p.pb.take_fee_bps(), height).ok()) return e.acc;
  if (e.burns()) copy.withdrawable = e.acc.withdrawable;  // a credit lease's payments are burned
  return copy;
}

// ---- leases -------------------------------------------------------------------------------

Status Keeper::check_create_lease(const store::KVReader& s, const CreateLeaseParsed& m) const {
  const uint64_t id = m.order_id;
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, id));
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(id) + " not found");
  if (o->owner != m.signer)
    return MarketErr(kErrUnauthorized, "order " + std::to_string(id) + " belongs to " + o->pb.owner());
  if (o->pb.state() != ORDER_STATE_OPEN)
    return MarketErr(kErrOrderNotOpen, "order " + std::to_string(id) + " is not open");
  DEPAI_ASSIGN_OR_RETURN(auto b, bid(s, id, m.provider));
  if (!b || b->pb.state() != BID_STATE_OPEN)
    return MarketErr(kErrBidNotFound,
                     "no open bid of " + crypto::AddressToBech32(m.provider) + " on order " + std::to_string(id));
  DEPAI_TRY(check_attested(s, *o, m.provider));
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, id));
  const Amount bal = e ? e->acc.balance : Amount();
  if (bal < b->price)
    return MarketErr(kErrInsufficientEscrow, "escrow balance " + bal.str() + o->denom + " does not fund one block at " +
                                                 b->pb.price_per_block() + o->denom + "; deposit first");
  return {};
}

Result<uint64_t> Keeper::create_lease(Context& ctx, const CreateLeaseParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto o, order(*ctx.store, m.order_id));
  DEPAI_ASSIGN_OR_RETURN(auto b, bid(*ctx.store, m.order_id, m.provider));
  if (!o || !b) return Vanished("order or bid of order", m.order_id);
  return open_lease(ctx, *o, *b);
}

Result<uint64_t> Keeper::open_lease(Context& ctx, OrderRec& o, BidRec& winner) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  DEPAI_ASSIGN_OR_RETURN(const uint64_t last, last_id(s, "lease"));
  const uint64_t id = last + 1;
  set_last_id(s, "lease", id);
  winner.pb.set_state(BID_STATE_WON);
  set_bid(s, winner);
  DEPAI_TRY(refund_bids(ctx, o.pb.id(), winner.provider, BID_STATE_LOST));
  LeaseRec l;
  l.owner = o.owner;
  l.provider = winner.provider;
  l.rate = winner.price;
  l.denom = o.denom;
  if (o.denom == kCreditDenom) l.pb.set_denom(kCreditDenom);
  l.pb.set_id(id);
  l.pb.set_order_id(o.pb.id());
  l.pb.set_owner(o.pb.owner());
  l.pb.set_provider(winner.pb.provider());
  l.pb.set_price_per_block(winner.pb.price_per_block());
  l.pb.set_state(LEASE_STATE_ACTIVE);
  l.pb.set_start_height(h);
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, o.pb.id()));
  if (!e) return Fault(kFaultInternal, "order " + std::to_string(o.pb.id()) + " has no escrow");
  e->acc.settled_height = h;
  e->acc.debt = Amount();
  set_escrow(s, *e);
  index_open(s, o.pb, false);
  o.pb.set_state(ORDER_STATE_ACTIVE);
  o.pb.set_lease_id(id);
  set_order(s, o.pb);
  index_provider(s, l);
  DEPAI_TRY(providers_->add_active_lease(s, l.provider, 1));
  if (ctx.events) {
    auto a = LeaseAttrs(l.pb);
    a.push_back({"amount", l.pb.price_per_block()});
    a.push_back({"balance", e->acc.balance.str()});
    a.push_back({"funded_until", std::to_string(FundedUntil(e->acc, l.rate))});
    ctx.events->emit("market.lease_created", std::move(a));
  }
  schedule(ctx, l, *e, p, h);
  set_lease(s, l.pb);
  return id;
}

Status Keeper::check_close_lease(const store::KVReader& s, const CloseLeaseParsed& m) const {
  const uint64_t id = m.lease_id;
  DEPAI_ASSIGN_OR_RETURN(auto l, lease(s, id));
  if (!l) return LeaseNotFound(id);
  if (l->pb.state() == LEASE_STATE_CLOSED)
    return MarketErr(kErrLeaseClosed, "lease " + std::to_string(id) + " is already closed");
  const bool is_owner = l->owner == m.signer, is_provider = l->provider == m.signer;
  if (!is_owner && !is_provider)
    return MarketErr(kErrUnauthorized,
                     "only the owner or the provider of lease " + std::to_string(id) + " may close it");
  const bool owner_reason = m.reason == CLOSE_REASON_OWNER || m.reason == CLOSE_REASON_UNSPECIFIED;
  if (owner_reason && !is_owner)
    return MarketErr(kErrInvalidReason, "reason OWNER is for the lease owner; a provider must give its reason");
  if (!owner_reason && !(ProviderReason(m.reason) && is_provider))
    return MarketErr(kErrInvalidReason, "reason " + ReasonName(m.reason) + " is not allowed for this sender");
  return {};
}

Status Keeper::close_lease(Context& ctx, const CloseLeaseParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto l, lease(*ctx.store, m.lease_id));
  if (!l) return Vanished("lease", m.lease_id);
  const CloseReason reason = m.reason == CLOSE_REASON_UNSPECIFIED ? CLOSE_REASON_OWNER : m.reason;
  return finish_lease(ctx, *l, reason, ProviderReason(reason));
}

Status Keeper::finish_lease(Context& ctx, LeaseRec& l, CloseReason reason, bool by_provider) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, l.pb.order_id()));
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, l.pb.order_id()));
  if (!o || !e) return Fault(kFaultInternal, "lease " + std::to_string(l.pb.id()) + " has no order or escrow");
  unschedule(s, l, *e, p);
  DEPAI_TRY(settle(ctx, p, l, *e, h));
  const Amount paid = e->acc.withdrawable;  // always 0 for a credit lease (burned as settled)
  DEPAI_TRY(send_from_escrow(ctx, l.provider, paid, e->denom));
  e->acc.withdrawable = Amount();
  e->acc.debt = Amount();  // unpaid grace blocks are forgiven when the lease ends
  set_escrow(s, *e);
  DEPAI_ASSIGN_OR_RETURN(auto b, bid(s, l.pb.order_id(), l.provider));
  if (b && b->pb.state() == BID_STATE_WON) {
    DEPAI_TRY(send_from_escrow(ctx, l.provider, b->deposit));
    b->deposit = Amount();
    b->pb.set_deposit("0");
    set_bid(s, *b);
  }
  l.pb.set_state(LEASE_STATE_CLOSED);
  l.pb.set_closed_height(h);
  l.pb.set_close_reason(reason);
  set_lease(s, l.pb);
  DEPAI_TRY(providers_->add_active_lease(s, l.provider, -1));
  if (ctx.events) {
    auto a = LeaseAttrs(l.pb);
    a.push_back({"reason", ReasonName(reason)});
    a.push_back({"amount", paid.str()});
    ctx.events->emit("market.lease_closed", std::move(a));
  }
  if (by_provider && o->pb.reopen_on_provider_close()) return reopen_order(ctx, *o);
  return close_order_refund(ctx, *o, ReasonName(reason).c_str());
}

// ---- escrow deposits and withdrawals ------------------------------------------------------

Status Keeper::check_deposit(const store::KVReader& s, const DepositParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, m.order_id));
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(m.order_id) + " not found");
  if (o->pb.state() == ORDER_STATE_CLOSED)
    return MarketErr(kErrOrderClosed, "order " + std::to_string(m.order_id) + " is closed");
  if (m.denom != o->denom)
    return MarketErr(kErrWrongDenom, "order " + std::to_string(m.order_id) + " is priced in " + o->denom +
                                         "; its escrow takes no " + m.denom);
  const std::string& d = o->denom;
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, m.signer, d));
  if (have < m.amount)
    return RootErr(kErrInsufficientFunds,
                   "insufficient funds: balance " + have.str() + d + " is smaller than " + m.amount.str() + d);
  return {};
}

Status Keeper::deposit(Context& ctx, const DepositParsed& m) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, m.order_id));
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, m.order_id));
  if (!o || !e) return Vanished("order or escrow of order", m.order_id);
  DEPAI_TRY(bank_->send(ctx, m.signer, EscrowModuleAddress(), Coins::From({Coin{e->denom, m.amount}}).value(), false));
  std::optional<LeaseRec> l;
  if (o->pb.state() == ORDER_STATE_ACTIVE) {
    DEPAI_ASSIGN_OR_RETURN(l, lease(s, o->pb.lease_id()));
  }
  const bool running = l && l->pb.state() != LEASE_STATE_CLOSED;
  if (running) {
    const Amount rate = l->rate;
    if (l->pb.state() == LEASE_STATE_ACTIVE) unschedule(s, *l, *e, p);
    DEPAI_TRY(settle(ctx, p, *l, *e, h));
    DEPAI_ASSIGN_OR_RETURN(Payout po, AddFunds(e->acc, m.amount, rate, p.pb.take_fee_bps()));
    DEPAI_TRY(paid(ctx, p, *l, *e, po));
    if (l->pb.state() == LEASE_STATE_GRACE) {
      if (e->acc.balance >= rate) {
        set_sched(s, l->pb.grace_until(), kSchedGraceEnd, l->pb.id(), false);
        l->pb.set_state(LEASE_STATE_ACTIVE);
        l->pb.set_grace_until(0);
        schedule(ctx, *l, *e, p, h);
      }
    } else {
      schedule(ctx, *l, *e, p, h);
    }
    set_lease(s, l->pb);
  } else {
    auto b = e->acc.balance.add(m.amount);
    if (!b.ok()) return RootErr(kErrOverflow, "escrow balance overflows");
    e->acc.balance = b.value();
  }
  set_escrow(s, *e);
  if (ctx.events) {
    std::vector<EventAttribute> a{{"order_id", std::to_string(m.order_id)},
                                  {"owner", o->pb.owner()},
                                  {"depositor", crypto::AddressToBech32(m.signer)},
                                  {"amount", m.amount.str()},
                                  {"balance", e->acc.balance.str()}};
    if (running) {
      a.push_back({"lease_id", std::to_string(l->pb.id())});
      a.push_back({"funded_until", std::to_string(FundedUntil(e->acc, l->rate))});
    }
    ctx.events->emit("market.escrow_deposit", std::move(a));
  }
  return {};
}

Status Keeper::check_withdraw(const store::KVReader& s, const WithdrawParsed& m, int64_t height) const {
  const uint64_t id = m.lease_id;
  DEPAI_ASSIGN_OR_RETURN(auto l, lease(s, id));
  if (!l) return LeaseNotFound(id);
  if (l->provider != m.signer)
    return MarketErr(kErrUnauthorized, "lease " + std::to_string(id) + " is served by " + l->pb.provider());
  if (l->pb.state() == LEASE_STATE_CLOSED)
    return MarketErr(kErrLeaseClosed, "lease " + std::to_string(id) + " is closed (paid out at close)");
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, l->pb.order_id()));
  // A credit lease: the withdraw settles (burning what is due) and pays nothing, ever.
  if (e && e->burns()) return {};
  if (e) {
    DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
    if (!settled_view(p, *l, *e, height).withdrawable.is_zero()) return {};
  }
  return MarketErr(kErrNothingToWithdraw, "nothing to withdraw yet from lease " + std::to_string(id));
}

Status Keeper::withdraw(Context& ctx, const WithdrawParsed& m) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  DEPAI_ASSIGN_OR_RETURN(auto l, lease(s, m.lease_id));
  if (!l) return Vanished("lease", m.lease_id);
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, l->pb.order_id()));
  if (!e) return Vanished("escrow of order", l->pb.order_id());
  // Settling an ACTIVE lease does not move funded_until, and a GRACE lease only accrues debt,
  // so the schedule stays valid.
  DEPAI_TRY(settle(ctx, p, *l, *e, ctx.header->height));
  const Amount w = e->acc.withdrawable;  // 0 for a credit lease
  DEPAI_TRY(send_from_escrow(ctx, m.signer, w, e->denom));
  e->acc.withdrawable = Amount();
  set_escrow(s, *e);
  if (ctx.events) {
    auto a = LeaseAttrs(l->pb);
    a.push_back({"amount", w.str()});
    a.push_back({"balance", e->acc.balance.str()});
    ctx.events->emit("market.lease_withdraw", std::move(a));
  }
  return {};
}

}  // namespace depai::x::market
