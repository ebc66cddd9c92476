// x/market end_block: automatic selection for bid windows ending now, then the escrow events
// (low balance, exhausted, grace end) scheduled for this height. Only index entries due now are
// read, so the cost does not grow with the number of open leases. Any error is a fault.
#include "x/market/events.h"
#include "x/market/keeper.h"
#include "x/market/score.h"

namespace depai::x::market {

using depai::market::v1::BID_STATE_LOST;
using depai::market::v1::BID_STATE_OPEN;
using depai::market::v1::CLOSE_REASON_INSUFFICIENT_FUNDS;
using depai::market::v1::LEASE_STATE_ACTIVE;
using depai::market::v1::LEASE_STATE_GRACE;
using depai::market::v1::ORDER_STATE_OPEN;

Status Keeper::auto_select(Context& ctx, uint64_t order_id, int64_t window_end) const {
  auto& s = *ctx.store;
  DEPAI_ASSIGN_OR_RETURN(auto o, order(s, order_id));
  if (!o || o->pb.state() != ORDER_STATE_OPEN || !o->pb.auto_select() || o->pb.bid_window_end() != window_end)
    return {};
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  struct Entry {
    BidRec bid;
    depai::provider::v1::Provider prov;
  };
  std::vector<Entry> live;
  uint64_t min_price = UINT64_MAX;
  DEPAI_ASSIGN_OR_RETURN(auto all, bids(s, order_id));
  for (auto& b : all) {
    if (b.pb.state() != BID_STATE_OPEN) continue;
    DEPAI_ASSIGN_OR_RETURN(auto pr, providers_->get(s, b.provider));
    if (!pr) continue;
    auto eligible = check_eligible(s, *o, b.provider);
    if (IsFault(eligible)) return eligible.error();
    if (!eligible.ok()) continue;  // no longer qualifies: loses
    min_price = std::min(min_price, b.price.raw());
    live.push_back(Entry{b, *pr});
  }
  std::optional<Candidate> best;
  const BidRec* best_bid = nullptr;
  const ScoreWeights w{p.pb.score_price_bps(), p.pb.score_locality_bps(), p.pb.score_reputation_bps()};
  for (const auto& en : live) {
    Candidate c;
    c.price = en.bid.price.raw();
    c.height = en.bid.pb.height();
    c.provider_addr = en.bid.provider;
    DEPAI_ASSIGN_OR_RETURN(const uint32_t rep, providers_->reputation_bps(s, en.bid.provider));
    c.score = Score(o->pb, en.prov, min_price, c.price, rep, w);
    // Every scored bid is on record, so buyers and providers can check the choice by hand.
    if (ctx.events)
      ctx.events->emit("market.bid_scored", {{"order_id", std::to_string(order_id)},
                                             {"provider", en.bid.pb.provider()},
                                             {"price", std::to_string(c.price)},
                                             {"min_price", std::to_string(min_price)},
                                             {"reputation_bps", std::to_string(rep)},
                                             {"score_price", std::to_string(c.score.price)},
                                             {"score_locality", std::to_string(c.score.locality)},
                                             {"score_reputation", std::to_string(c.score.reputation)},
                                             {"score_total", std::to_string(c.score.total)}});
    if (!best || Better(c, *best)) {
      best = c;
      best_bid = &en.bid;
    }
  }
  if (!best_bid) {
    DEPAI_TRY(refund_bids(ctx, order_id, "", BID_STATE_LOST));
    if (ctx.events)
      ctx.events->emit("market.order_no_bids", {{"order_id", std::to_string(order_id)}, {"owner", o->pb.owner()}});
    return close_order_refund(ctx, *o, "NO_BIDS");
  }
  BidRec winner = *best_bid;
  return open_lease(ctx, *o, winner).status();
}

Status Keeper::end_block(Context& ctx) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  // 1. Auto-selection for bid windows ending at (or, after an import, before) this height.
  DEPAI_ASSIGN_OR_RETURN(auto windows, due_windows(s, h));
  for (const auto& w : windows) {
    clear_window(s, w);
    DEPAI_TRY(auto_select(ctx, w.order, w.height));
  }
  // 2. Scheduled escrow events due now.
  DEPAI_ASSIGN_OR_RETURN(auto due, due_events(s, h));
  if (due.empty()) return {};
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  const int64_t low = p.pb.low_balance_blocks();
  for (const auto& d : due) {
    set_sched(s, d.height, d.kind, d.lease, false);
    DEPAI_ASSIGN_OR_RETURN(auto l, lease(s, d.lease));
    if (!l) continue;
    DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, l->pb.order_id()));
    if (!e) continue;
    const int64_t fu = FundedUntil(e->acc, l->rate);
    if (d.kind == kSchedLowBalance) {
      if (l->pb.state() != LEASE_STATE_ACTIVE || low <= 0 || fu - low != d.height) continue;  // stale
      if (ctx.events) {
        auto a = LeaseAttrs(l->pb);
        a.push_back({"balance", settled_view(p, *l, *e, h).balance.str()});
        a.push_back({"funded_until", std::to_string(fu)});
        ctx.events->emit("market.escrow_low_balance", std::move(a));
      }
    } else if (d.kind == kSchedExhausted) {
      if (l->pb.state() != LEASE_STATE_ACTIVE || fu != d.height) continue;
      DEPAI_TRY(settle(ctx, p, *l, *e, h));
      set_escrow(s, *e);
      l->pb.set_state(LEASE_STATE_GRACE);
      l->pb.set_grace_until(fu + p.pb.grace_period_blocks());
      set_sched(s, l->pb.grace_until(), kSchedGraceEnd, l->pb.id(), true);
      set_lease(s, l->pb);
      if (ctx.events) {
        auto a = LeaseAttrs(l->pb);
        a.push_back({"balance", e->acc.balance.str()});
        a.push_back({"funded_until", std::to_string(fu)});
        a.push_back({"grace_until", std::to_string(l->pb.grace_until())});
        ctx.events->emit("market.escrow_exhausted", std::move(a));
      }
    } else if (d.kind == kSchedGraceEnd) {
      if (l->pb.state() != LEASE_STATE_GRACE || l->pb.grace_until() != d.height) continue;
      DEPAI_TRY(finish_lease(ctx, *l, CLOSE_REASON_INSUFFICIENT_FUNDS, false));
    }
  }
  return {};
}

}  // namespace depai::x::market
