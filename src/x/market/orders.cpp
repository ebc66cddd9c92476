// x/market orders and bids: create/close order, create/close bid, bid refunds, order close and
// reopen, provider eligibility. check_* only read; the write methods assume their check passed.
#include "crypto/bech32.h"
#include "x/market/keeper.h"
#include "x/market/score.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::BID_STATE_CLOSED;
using depai::market::v1::BID_STATE_LOST;
using depai::market::v1::BID_STATE_OPEN;
using depai::market::v1::BID_STATE_WON;
using depai::market::v1::BidState;
using depai::market::v1::CLOSE_REASON_OWNER;
using depai::market::v1::LEASE_STATE_CLOSED;
using depai::market::v1::ORDER_STATE_ACTIVE;
using depai::market::v1::ORDER_STATE_CLOSED;
using depai::market::v1::ORDER_STATE_OPEN;

namespace {
Error NotFound(uint64_t id) { return MarketErr(kErrOrderNotFound, "order " + std::to_string(id) + " not found"); }
// A record the check phase saw, missing in the write phase: a bug, not a result.
Error Vanished(const char* what, uint64_t id) {
  return Fault(kFaultInternal, std::string(what) + " " + std::to_string(id) + " passed check but is missing");
}
Coins Of(std::string_view denom, Amount a) { return Coins::From({Coin{std::string(denom), a}}).value(); }
Coins Udpai(Amount a) { return Of(kDenom, a); }
}  // namespace

Status Keeper::send_from_escrow(Context& ctx, std::string_view to, Amount a, std::string_view denom) const {
  if (a.is_zero()) return {};
  return bank_->send(ctx, EscrowModuleAddress(), to, Of(denom, a), false);
}

Status Keeper::refund_bids(Context& ctx, uint64_t order_id, const std::string& except_provider20,
                           BidState new_state) const {
  DEPAI_ASSIGN_OR_RETURN(auto all, bids(*ctx.store, order_id));
  for (auto& b : all) {
    if (b.pb.state() != BID_STATE_OPEN) continue;
    if (b.provider == except_provider20) continue;
    DEPAI_TRY(send_from_escrow(ctx, b.provider, b.deposit));
    b.pb.set_state(new_state);
    set_bid(*ctx.store, b);
    if (ctx.events)
      ctx.events->emit(
          new_state == BID_STATE_LOST ? "market.bid_lost" : "market.bid_closed",
          {{"order_id", std::to_string(order_id)}, {"provider", b.pb.provider()}, {"amount", b.pb.deposit()}});
  }
  return {};
}

Status Keeper::close_order_refund(Context& ctx, OrderRec& o, const char* why) const {
  DEPAI_ASSIGN_OR_RETURN(auto e, escrow(*ctx.store, o.pb.id()));
  Amount refund;
  if (e) {
    refund = e->acc.balance;
    DEPAI_TRY(send_from_escrow(ctx, o.owner, refund, e->denom));
    e->acc.balance = Amount();
    e->acc.debt = Amount();
    set_escrow(*ctx.store, *e);
  }
  index_open(*ctx.store, o.pb, false);
  o.pb.set_state(ORDER_STATE_CLOSED);
  set_order(*ctx.store, o.pb);
  if (ctx.events)
    ctx.events->emit(
        "market.order_closed",
        {{"order_id", std::to_string(o.pb.id())}, {"owner", o.pb.owner()}, {"amount", refund.str()}, {"reason", why}});
  return {};
}

Status Keeper::reopen_order(Context& ctx, OrderRec& o) const {
  const int64_t h = ctx.header->height;
  // The old round's bids are gone (their deposits were refunded or released already).
  delete_bids(*ctx.store, o.pb.id());
  o.pb.set_state(ORDER_STATE_OPEN);
  o.pb.set_bid_window_end(h + o.pb.bid_window_blocks());
  index_open(*ctx.store, o.pb, true);
  set_order(*ctx.store, o.pb);
  if (ctx.events)
    ctx.events->emit("market.order_reopened", {{"order_id", std::to_string(o.pb.id())},
                                               {"owner", o.pb.owner()},
                                               {"bid_window_end", std::to_string(o.pb.bid_window_end())}});
  return {};
}

// ---- orders -------------------------------------------------------------------------------

Status Keeper::check_create_order(const store::KVReader& s, const CreateOrderParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  const int64_t window = m.msg->bid_window_blocks();
  if (window < p.pb.min_bid_window() || window > p.pb.max_bid_window())
    return MarketErr(kErrInvalidOrder, "bid_window_blocks " + std::to_string(window) + " outside [" +
                                           std::to_string(p.pb.min_bid_window()) + ", " +
                                           std::to_string(p.pb.max_bid_window()) + "]");
  // params.min_deposit applies in the order's denom (a udpai or a ucredit count).
  const std::string& d = m.denom;
  if (m.deposit < p.min_deposit)
    return MarketErr(kErrDepositTooSmall,
                     "deposit " + m.deposit.str() + d + " is below the minimum " + p.pb.min_deposit() + d);
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, m.signer, d));
  if (have < m.deposit)
    return RootErr(kErrInsufficientFunds,
                   "insufficient funds: balance " + have.str() + d + " is smaller than deposit " + m.deposit.str() + d);
  return {};
}

Result<uint64_t> Keeper::create_order(Context& ctx, const CreateOrderParsed& m) const {
  auto& s = *ctx.store;
  const auto& msg = *m.msg;
  const int64_t h = ctx.header->height;
  DEPAI_ASSIGN_OR_RETURN(const uint64_t last, last_id(s, "order"));
  const uint64_t id = last + 1;
  set_last_id(s, "order", id);
  OrderRec o;
  o.owner = m.signer;
  o.max_price = m.max_price;
  o.pb.set_id(id);
  o.pb.set_owner(msg.owner());
  *o.pb.mutable_groups() = msg.groups();
  *o.pb.mutable_placement() = msg.placement();
  o.pb.set_max_price_per_block(m.max_price.str());
  o.pb.set_bid_window_blocks(msg.bid_window_blocks());
  o.pb.set_manifest_hash(msg.manifest_hash());
  o.pb.set_auto_select(msg.auto_select());
  o.pb.set_reopen_on_provider_close(msg.reopen_on_provider_close());
  if (msg.has_sla()) *o.pb.mutable_sla() = msg.sla();
  o.pb.set_min_reputation_bps(msg.min_reputation_bps());
  o.pb.set_require_attested(msg.require_attested());
  o.pb.set_state(ORDER_STATE_OPEN);
  o.pb.set_created_height(h);
  o.pb.set_bid_window_end(h + msg.bid_window_blocks());
  const bool credit = m.denom == kCreditDenom;
  if (credit) o.pb.set_denom(kCreditDenom);  // udpai orders keep the empty default (unchanged bytes)
  DEPAI_TRY(bank_->send(ctx, m.signer, EscrowModuleAddress(), Of(m.denom, m.deposit), false));
  EscrowRec e;
  e.pb.set_order_id(id);
  e.pb.set_owner(msg.owner());
  e.denom = m.denom;
  if (credit) e.pb.set_denom(kCreditDenom);
  e.acc = EscrowAccount{m.deposit, {}, {}, {}, {}, h};
  set_escrow(s, e);
  set_order(s, o.pb);
  index_open(s, o.pb, true);
  index_owner(s, o);
  if (ctx.events) {
    std::vector<EventAttribute> a{{"order_id", std::to_string(id)},
                                  {"owner", o.pb.owner()},
                                  {"amount", m.deposit.str()},
                                  {"max_price_per_block", o.pb.max_price_per_block()},
                                  {"bid_window_end", std::to_string(o.pb.bid_window_end())}};
    if (credit) a.push_back({"denom", kCreditDenom});
    ctx.events->emit("market.order_created", std::move(a));
  }
  return id;
}

Status Keeper::check_close_order(const store::KVReader& s, const CloseOrderParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, m.order_id));
  if (!o) return NotFound(m.order_id);
  if (o->owner != m.signer)
    return MarketErr(kErrUnauthorized, "order " + std::to_string(m.order_id) + " belongs to " + o->pb.owner());
  if (o->pb.state() == ORDER_STATE_CLOSED)
    return MarketErr(kErrOrderClosed, "order " + std::to_string(m.order_id) + " is already closed");
  return {};
}

Status Keeper::close_order(Context& ctx, const CloseOrderParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto o, order(*ctx.store, m.order_id));
  if (!o) return Vanished("order", m.order_id);
  if (o->pb.state() == ORDER_STATE_ACTIVE) {
    DEPAI_ASSIGN_OR_RETURN(auto l, lease(*ctx.store, o->pb.lease_id()));
    if (l && l->pb.state() != LEASE_STATE_CLOSED) return finish_lease(ctx, *l, CLOSE_REASON_OWNER, false);
  }
  DEPAI_TRY(refund_bids(ctx, m.order_id, "", BID_STATE_CLOSED));
  return close_order_refund(ctx, *o, "OWNER");
}

// ---- bids ---------------------------------------------------------------------------------

Status Keeper::check_attested(const store::KVReader& s, const OrderRec& o, std::string_view provider20) const {
  if (!o.pb.require_attested()) return {};
  bool ok = false;
  if (identity_) {
    DEPAI_ASSIGN_OR_RETURN(ok, identity_->attested(s, provider20));
  }
  if (ok) return {};
  return MarketErr(kErrNotAttested, "order " + std::to_string(o.pb.id()) + " requires an attested device: provider " +
                                        crypto::AddressToBech32(provider20) + " has no attested DID");
}

Status Keeper::check_eligible(const store::KVReader& s, const OrderRec& o, std::string_view provider20) const {
  DEPAI_TRY(check_attested(s, o, provider20));
  DEPAI_ASSIGN_OR_RETURN(auto p, providers_->get(s, provider20));
  if (!p)
    return MarketErr(kErrProviderNotFound, "provider " + crypto::AddressToBech32(provider20) + " is not registered");
  DEPAI_ASSIGN_OR_RETURN(auto audits, providers_->audits(s, provider20));
  auto gaps = Gaps(o.pb, *p, audits);
  if (o.pb.min_reputation_bps() > 0) {
    DEPAI_ASSIGN_OR_RETURN(const uint32_t rep, providers_->reputation_bps(s, provider20));
    if (rep < o.pb.min_reputation_bps())
      gaps.push_back("reputation " + std::to_string(rep) + " bps is below the order's minimum " +
                     std::to_string(o.pb.min_reputation_bps()) + " bps");
  }
  if (gaps.empty()) return {};
  std::string msg = "provider " + p->owner() + " does not meet order " + std::to_string(o.pb.id()) + ": ";
  for (size_t i = 0; i < gaps.size(); ++i) msg += (i ? "; " : "") + gaps[i];
  return MarketErr(kErrProviderIneligible, msg);
}

Status Keeper::check_create_bid(const store::KVReader& s, const CreateBidParsed& m, int64_t height) const {
  const uint64_t id = m.order_id;
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, id));
  if (!o) return NotFound(id);
  if (o->pb.state() != ORDER_STATE_OPEN)
    return MarketErr(kErrOrderNotOpen, "order " + std::to_string(id) + " is not open for bids");
  if (height > o->pb.bid_window_end())
    return MarketErr(kErrBidWindowClosed, "the bid window of order " + std::to_string(id) + " closed at height " +
                                              std::to_string(o->pb.bid_window_end()));
  if (m.denom != o->denom)
    return MarketErr(kErrWrongDenom, "order " + std::to_string(id) + " is priced in " + o->denom + "; a bid in " +
                                         m.denom + " cannot be accepted");
  if (m.price > o->max_price)
    return MarketErr(kErrPriceTooHigh, "price " + m.price.str() + o->denom + " is above the order's max price " +
                                           o->pb.max_price_per_block() + o->denom);
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  uint32_t live = 0;
  Status dup;
  DEPAI_TRY(for_each_bid_of(s, id, [&](const BidRec& b) {
    if (b.pb.state() == BID_STATE_CLOSED) return true;
    if (b.provider == m.signer) {
      dup = MarketErr(kErrDuplicateBid, "provider already bid on order " + std::to_string(id));
      return false;
    }
    ++live;
    return true;
  }));
  DEPAI_TRY(dup);
  if (live >= p.pb.max_bids_per_order())
    return MarketErr(kErrTooManyBids, "order " + std::to_string(id) + " already has " + std::to_string(live) +
                                          " bids (max " + std::to_string(p.pb.max_bids_per_order()) + ")");
  DEPAI_TRY(check_eligible(s, *o, m.signer));
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, m.signer, kDenom));
  if (have < p.bid_deposit)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() +
                                              "udpai is smaller than the bid deposit " + p.bid_deposit.str() + "udpai");
  return {};
}

Status Keeper::create_bid(Context& ctx, const CreateBidParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(*ctx.store));
  const Amount dep = p.bid_deposit;
  DEPAI_TRY(bank_->send(ctx, m.signer, EscrowModuleAddress(), Udpai(dep), false));
  BidRec b;
  b.provider = m.signer;
  b.price = m.price;
  b.deposit = dep;
  b.pb.set_order_id(m.order_id);
  b.pb.set_provider(crypto::AddressToBech32(m.signer));
  b.pb.set_price_per_block(m.price.str());
  b.pb.set_deposit(dep.str());
  b.pb.set_height(ctx.header->height);
  b.pb.set_state(BID_STATE_OPEN);
  set_bid(*ctx.store, b);
  if (ctx.events)
    ctx.events->emit("market.bid_created", {{"order_id", std::to_string(m.order_id)},
                                            {"provider", b.pb.provider()},
                                            {"amount", b.pb.price_per_block()},
                                            {"deposit", dep.str()}});
  return {};
}

Status Keeper::check_close_bid(const store::KVReader& s, const CloseBidParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto b, bid(s, m.order_id, m.signer));
  if (!b)
    return MarketErr(kErrBidNotFound,
                     "no bid of " + crypto::AddressToBech32(m.signer) + " on order " + std::to_string(m.order_id));
  if (b->pb.state() != BID_STATE_OPEN)
    return MarketErr(kErrBidNotOpen, "bid is " + depai::market::v1::BidState_Name(b->pb.state()) + ", not open" +
                                         (b->pb.state() == BID_STATE_WON ? " (close the lease instead)" : ""));
  return {};
}

Status Keeper::close_bid(Context& ctx, const CloseBidParsed& m) const {
  DEPAI_ASSIGN_OR_RETURN(auto b, bid(*ctx.store, m.order_id, m.signer));
  if (!b) return Vanished("bid on order", m.order_id);
  DEPAI_TRY(send_from_escrow(ctx, m.signer, b->deposit));
  b->pb.set_state(BID_STATE_CLOSED);
  set_bid(*ctx.store, *b);
  if (ctx.events)
    ctx.events->emit(
        "market.bid_closed",
        {{"order_id", std::to_string(m.order_id)}, {"provider", b->pb.provider()}, {"amount", b->pb.deposit()}});
  return {};
}

}  // namespace depai::x::market
