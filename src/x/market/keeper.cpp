#include "x/market/keeper.h"

#include <map>

#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/market/score.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::BID_STATE_CLOSED;
using depai::market::v1::BID_STATE_LOST;
using depai::market::v1::BID_STATE_OPEN;
using depai::market::v1::BID_STATE_WON;
using depai::market::v1::BidState;
using depai::market::v1::CLOSE_REASON_INSUFFICIENT_FUNDS;
using depai::market::v1::CLOSE_REASON_OWNER;
using depai::market::v1::CLOSE_REASON_UNSPECIFIED;
using depai::market::v1::LEASE_STATE_ACTIVE;
using depai::market::v1::LEASE_STATE_CLOSED;
using depai::market::v1::LEASE_STATE_GRACE;
using depai::market::v1::MsgCreateOrder;
using depai::market::v1::ORDER_STATE_ACTIVE;
using depai::market::v1::ORDER_STATE_CLOSED;
using depai::market::v1::ORDER_STATE_OPEN;

namespace {
constexpr std::string_view kOrderPrefix = "market/order/";
constexpr std::string_view kBidPrefix = "market/bid/";
constexpr std::string_view kLeasePrefix = "market/lease/";
constexpr std::string_view kEscrowPrefix = "market/escrow/";
constexpr std::string_view kParamsKey = "market/params";
constexpr std::string_view kSeqPrefix = "market/seq/";
constexpr std::string_view kOpenPrefix = "market/open/";
constexpr std::string_view kWindowPrefix = "market/window/";
constexpr std::string_view kSchedPrefix = "market/sched/";
constexpr std::string_view kPlxPrefix = "market/plx/";
constexpr std::string_view kOlxPrefix = "market/olx/";

std::string Cat(std::string_view p, std::string_view a = {}, std::string_view b = {}) {
  std::string k(p);
  k.append(a);
  k.append(b);
  return k;
}
Bytes H64(int64_t h) { return U64BE(static_cast<uint64_t>(h < 0 ? 0 : h)); }

template <typename M>
std::optional<M> Load(const store::KVReader& s, const std::string& key) {
  auto v = s.get(key);
  if (!v) return std::nullopt;
  M m;
  if (!m.ParseFromString(*v)) return std::nullopt;
  return m;
}

Amount Amt(const std::string& s) {
  auto a = Amount::Parse(s);
  return a.ok() ? *a : Amount();
}

Bytes AddrOf(const std::string& bech32) {
  auto a = crypto::AddressFromBech32(bech32);
  return a.ok() ? *a : Bytes();
}

std::vector<EventAttribute> LeaseAttrs(const Lease& l) {
  return {{"lease_id", std::to_string(l.id())},
          {"order_id", std::to_string(l.order_id())},
          {"owner", l.owner()},
          {"provider", l.provider()}};
}

bool ProviderReason(CloseReason r) {
  switch (r) {
    case depai::market::v1::CLOSE_REASON_PROVIDER_UNSTABLE:
    case depai::market::v1::CLOSE_REASON_PROVIDER_DECOMMISSION:
    case depai::market::v1::CLOSE_REASON_MANIFEST_TIMEOUT:
    case depai::market::v1::CLOSE_REASON_RESOURCES_UNAVAILABLE:
    case depai::market::v1::CLOSE_REASON_WORKLOAD_FAILED:
    case depai::market::v1::CLOSE_REASON_WORKLOAD_COMPLETED:
      return true;
    default:
      return false;
  }
}

unsigned __int128 Held(const Bid& b) {
  return (b.state() == BID_STATE_OPEN || b.state() == BID_STATE_WON) ? Amt(b.deposit()).raw() : 0;
}
}  // namespace

std::string ReasonName(CloseReason r) {
  std::string n = depai::market::v1::CloseReason_Name(r);
  constexpr std::string_view p = "CLOSE_REASON_";
  return n.substr(0, p.size()) == p ? n.substr(p.size()) : n;
}

const Bytes& EscrowModuleAddress() {
  static const Bytes a = crypto::Sha256("module:market_escrow").substr(0, 20);
  return a;
}
const Bytes& TreasuryAddress() {
  static const Bytes a = crypto::Sha256("module:treasury").substr(0, 20);
  return a;
}

Params DefaultParams() {
  Params p;
  p.set_bid_deposit("100000");
  p.set_max_bids_per_order(20);
  p.set_take_fee_bps(200);
  p.set_low_balance_blocks(50);
  p.set_grace_period_blocks(20);
  p.set_min_bid_window(1);
  p.set_max_bid_window(1000);
  p.set_score_price_bps(6000);
  p.set_score_locality_bps(2000);
  p.set_score_reputation_bps(2000);
  p.set_min_deposit("1000");
  return p;
}

Status ValidateParams(const Params& p) {
  auto bad = [](const std::string& m) { return MarketErr(kErrInvalidOrder, "invalid params: " + m); };
  if (!Amount::Parse(p.bid_deposit()).ok()) return bad("bid_deposit");
  if (!Amount::Parse(p.min_deposit()).ok()) return bad("min_deposit");
  if (p.max_bids_per_order() == 0) return bad("max_bids_per_order must be positive");
  if (p.take_fee_bps() > 10000) return bad("take_fee_bps must be <= 10000");
  if (p.low_balance_blocks() < 0) return bad("low_balance_blocks must be >= 0");
  if (p.grace_period_blocks() < 1) return bad("grace_period_blocks must be >= 1");
  if (p.min_bid_window() < 1 || p.max_bid_window() < p.min_bid_window())
    return bad("need 1 <= min_bid_window <= max_bid_window");
  if (static_cast<uint64_t>(p.score_price_bps()) + p.score_locality_bps() + p.score_reputation_bps() != 10000)
    return bad("score weights must sum to 10000");
  return {};
}

std::string OrderKey(uint64_t id) { return Cat(kOrderPrefix, U64BE(id)); }
std::string BidKey(uint64_t order, std::string_view provider20) { return Cat(kBidPrefix, U64BE(order), provider20); }
std::string LeaseKey(uint64_t id) { return Cat(kLeasePrefix, U64BE(id)); }
std::string EscrowKey(uint64_t order) { return Cat(kEscrowPrefix, U64BE(order)); }
std::string SchedKey(int64_t height, SchedKind kind, uint64_t lease) {
  return Cat(kSchedPrefix, H64(height), std::string(1, static_cast<char>(kind)) + U64BE(lease));
}
std::string WindowKey(int64_t height, uint64_t order) { return Cat(kWindowPrefix, H64(height), U64BE(order)); }

EscrowAccount FromProto(const Escrow& e) {
  EscrowAccount a;
  a.balance = Amt(e.balance());
  a.debt = Amt(e.debt());
  a.withdrawable = Amt(e.withdrawable());
  a.paid_to_provider = Amt(e.paid_to_provider());
  a.paid_take_fee = Amt(e.paid_take_fee());
  a.settled_height = e.settled_height();
  return a;
}

void ToProto(const EscrowAccount& a, Escrow* e) {
  e->set_balance(a.balance.str());
  e->set_debt(a.debt.str());
  e->set_withdrawable(a.withdrawable.str());
  e->set_paid_to_provider(a.paid_to_provider.str());
  e->set_paid_take_fee(a.paid_take_fee.str());
  e->set_settled_height(a.settled_height);
}

// ---- records ------------------------------------------------------------------------------

Params Keeper::params(const store::KVReader& s) const {
  auto p = Load<Params>(s, std::string(kParamsKey));
  return p ? *p : DefaultParams();
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(kParamsKey, DeterministicSerialize(p)); }
std::optional<Order> Keeper::order(const store::KVReader& s, uint64_t id) const { return Load<Order>(s, OrderKey(id)); }
void Keeper::set_order(store::KVStore& s, const Order& o) const { s.set(OrderKey(o.id()), DeterministicSerialize(o)); }
std::optional<Bid> Keeper::bid(const store::KVReader& s, uint64_t order, std::string_view provider20) const {
  return Load<Bid>(s, BidKey(order, provider20));
}
void Keeper::set_bid(store::KVStore& s, const Bid& b) const {
  s.set(BidKey(b.order_id(), AddrOf(b.provider())), DeterministicSerialize(b));
}
std::vector<Bid> Keeper::bids(const store::KVReader& s, uint64_t order) const {
  std::vector<Bid> out;
  std::string p = Cat(kBidPrefix, U64BE(order));
  s.iterate(p, store::PrefixEnd(p), [&](std::string_view, std::string_view v) {
    Bid b;
    if (b.ParseFromArray(v.data(), static_cast<int>(v.size()))) out.push_back(std::move(b));
    return true;
  });
  return out;
}
std::optional<Lease> Keeper::lease(const store::KVReader& s, uint64_t id) const { return Load<Lease>(s, LeaseKey(id)); }
void Keeper::set_lease(store::KVStore& s, const Lease& l) const { s.set(LeaseKey(l.id()), DeterministicSerialize(l)); }
std::optional<Escrow> Keeper::escrow(const store::KVReader& s, uint64_t order) const {
  return Load<Escrow>(s, EscrowKey(order));
}
void Keeper::set_escrow(store::KVStore& s, const Escrow& e) const {
  s.set(EscrowKey(e.order_id()), DeterministicSerialize(e));
}
uint64_t Keeper::last_id(const store::KVReader& s, std::string_view seq) const {
  auto v = s.get(Cat(kSeqPrefix, seq));
  return v ? GetU64BE(*v) : 0;
}
void Keeper::set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const {
  s.set(Cat(kSeqPrefix, seq), U64BE(id));
}

// ---- money helpers ------------------------------------------------------------------------

Status Keeper::send_from_escrow(Context& ctx, std::string_view to, Amount a) const {
  if (a.is_zero()) return {};
  return bank_->send(ctx, EscrowModuleAddress(), to, Coins::From({Coin{kDenom, a}}).value(), false);
}

Status Keeper::settle(Context& ctx, const Lease& l, Escrow& e, int64_t h) const {
  const Params p = params(*ctx.store);
  EscrowAccount acc = FromProto(e);
  DEPAI_ASSIGN_OR_RETURN(Payout po, Settle(acc, Amt(l.price_per_block()), p.take_fee_bps(), h));
  DEPAI_TRY(send_from_escrow(ctx, TreasuryAddress(), po.take));
  ToProto(acc, &e);
  if (po.blocks_paid + po.blocks_unpaid > 0 && ctx.events) {
    auto attrs = LeaseAttrs(l);
    attrs.push_back({"amount", po.to_provider.str()});
    attrs.push_back({"take", po.take.str()});
    attrs.push_back({"blocks", std::to_string(po.blocks_paid)});
    attrs.push_back({"balance", e.balance()});
    attrs.push_back({"debt", e.debt()});
    ctx.events->emit("market.escrow_settled", std::move(attrs));
  }
  return {};
}

void Keeper::unschedule(store::KVStore& s, const Lease& l, const Escrow& e, const Params& p) const {
  if (l.state() == LEASE_STATE_ACTIVE) {
    int64_t fu = FundedUntil(FromProto(e), Amt(l.price_per_block()));
    if (p.low_balance_blocks() > 0) s.del(SchedKey(fu - p.low_balance_blocks(), kSchedLowBalance, l.id()));
    s.del(SchedKey(fu, kSchedExhausted, l.id()));
  } else if (l.state() == LEASE_STATE_GRACE) {
    s.del(SchedKey(l.grace_until(), kSchedGraceEnd, l.id()));
  }
}

void Keeper::schedule(Context& ctx, Lease& l, const Escrow& e, const Params& p, int64_t now) const {
  const int64_t fu = FundedUntil(FromProto(e), Amt(l.price_per_block()));
  auto attrs = [&] {
    auto a = LeaseAttrs(l);
    a.push_back({"balance", e.balance()});
    a.push_back({"funded_until", std::to_string(fu)});
    return a;
  };
  if (fu <= now) {
    l.set_state(LEASE_STATE_GRACE);
    l.set_grace_until(now + p.grace_period_blocks());
    ctx.store->set(SchedKey(l.grace_until(), kSchedGraceEnd, l.id()), "");
    auto a = attrs();
    a.push_back({"grace_until", std::to_string(l.grace_until())});
    if (ctx.events) ctx.events->emit("market.escrow_exhausted", std::move(a));
    return;
  }
  if (p.low_balance_blocks() > 0) {
    const int64_t lh = fu - p.low_balance_blocks();
    if (lh > now)
      ctx.store->set(SchedKey(lh, kSchedLowBalance, l.id()), "");
    else if (ctx.events)
      ctx.events->emit("market.escrow_low_balance", attrs());
  }
  ctx.store->set(SchedKey(fu, kSchedExhausted, l.id()), "");
}

Status Keeper::refund_bids(Context& ctx, uint64_t order_id, const std::string& except_provider20,
                           BidState new_state) const {
  for (auto b : bids(*ctx.store, order_id)) {
    if (b.state() != BID_STATE_OPEN) continue;
    Bytes prov = AddrOf(b.provider());
    if (prov == except_provider20) continue;
    DEPAI_TRY(send_from_escrow(ctx, prov, Amt(b.deposit())));
    b.set_state(new_state);
    set_bid(*ctx.store, b);
    if (ctx.events)
      ctx.events->emit(new_state == BID_STATE_LOST ? "market.bid_lost" : "market.bid_closed",
                       {{"order_id", std::to_string(order_id)}, {"provider", b.provider()}, {"amount", b.deposit()}});
  }
  return {};
}

Status Keeper::close_order_refund(Context& ctx, Order& o, const char* why) const {
  auto e = escrow(*ctx.store, o.id());
  Amount refund;
  if (e) {
    refund = Amt(e->balance());
    DEPAI_TRY(send_from_escrow(ctx, AddrOf(o.owner()), refund));
    e->set_balance("0");
    e->set_debt("0");
    set_escrow(*ctx.store, *e);
  }
  ctx.store->del(Cat(kOpenPrefix, U64BE(o.id())));
  ctx.store->del(WindowKey(o.bid_window_end(), o.id()));
  o.set_state(ORDER_STATE_CLOSED);
  set_order(*ctx.store, o);
  if (ctx.events)
    ctx.events->emit(
        "market.order_closed",
        {{"order_id", std::to_string(o.id())}, {"owner", o.owner()}, {"amount", refund.str()}, {"reason", why}});
  return {};
}

void Keeper::reopen_order(Context& ctx, Order& o) const {
  const int64_t h = ctx.header->height;
  // The old round's bids are gone (their deposits were refunded or released already).
  std::string p = Cat(kBidPrefix, U64BE(o.id()));
  std::vector<std::string> keys;
  ctx.store->iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  for (const auto& k : keys) ctx.store->del(k);
  o.set_state(ORDER_STATE_OPEN);
  o.set_bid_window_end(h + o.bid_window_blocks());
  ctx.store->set(Cat(kOpenPrefix, U64BE(o.id())), "");
  if (o.auto_select()) ctx.store->set(WindowKey(o.bid_window_end(), o.id()), "");
  set_order(*ctx.store, o);
  if (ctx.events)
    ctx.events->emit("market.order_reopened", {{"order_id", std::to_string(o.id())},
                                               {"owner", o.owner()},
                                               {"bid_window_end", std::to_string(o.bid_window_end())}});
}

// ---- orders -------------------------------------------------------------------------------

Status Keeper::check_create_order(const store::KVReader& s, const MsgCreateOrder& m) const {
  const Params p = params(s);
  if (m.bid_window_blocks() < p.min_bid_window() || m.bid_window_blocks() > p.max_bid_window())
    return MarketErr(kErrInvalidOrder, "bid_window_blocks " + std::to_string(m.bid_window_blocks()) + " outside [" +
                                           std::to_string(p.min_bid_window()) + ", " +
                                           std::to_string(p.max_bid_window()) + "]");
  Amount dep = Amt(m.deposit().amount());
  if (dep < Amt(p.min_deposit()))
    return MarketErr(kErrDepositTooSmall,
                     "deposit " + dep.str() + "udpai is below the minimum " + p.min_deposit() + "udpai");
  Bytes owner = AddrOf(m.owner());
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, owner, kDenom));
  if (have < dep)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() +
                                              "udpai is smaller than deposit " + dep.str() + "udpai");
  return {};
}

Result<uint64_t> Keeper::create_order(Context& ctx, const MsgCreateOrder& m) const {
  auto& s = *ctx.store;
  DEPAI_TRY(check_create_order(s, m));
  const int64_t h = ctx.header->height;
  const uint64_t id = last_id(s, "order") + 1;
  set_last_id(s, "order", id);
  Order o;
  o.set_id(id);
  o.set_owner(m.owner());
  *o.mutable_groups() = m.groups();
  *o.mutable_placement() = m.placement();
  o.set_max_price_per_block(Amt(m.max_price_per_block().amount()).str());
  o.set_bid_window_blocks(m.bid_window_blocks());
  o.set_manifest_hash(m.manifest_hash());
  o.set_auto_select(m.auto_select());
  o.set_reopen_on_provider_close(m.reopen_on_provider_close());
  o.set_state(ORDER_STATE_OPEN);
  o.set_created_height(h);
  o.set_bid_window_end(h + m.bid_window_blocks());
  Bytes owner = AddrOf(m.owner());
  Amount dep = Amt(m.deposit().amount());
  DEPAI_TRY(bank_->send(ctx, owner, EscrowModuleAddress(), Coins::From({Coin{kDenom, dep}}).value(), false));
  Escrow e;
  e.set_order_id(id);
  e.set_owner(m.owner());
  ToProto(EscrowAccount{dep, {}, {}, {}, {}, h}, &e);
  set_escrow(s, e);
  set_order(s, o);
  s.set(Cat(kOpenPrefix, U64BE(id)), "");
  s.set(Cat(kOlxPrefix, owner, U64BE(id)), "");
  if (o.auto_select()) s.set(WindowKey(o.bid_window_end(), id), "");
  if (ctx.events)
    ctx.events->emit("market.order_created", {{"order_id", std::to_string(id)},
                                              {"owner", o.owner()},
                                              {"amount", dep.str()},
                                              {"max_price_per_block", o.max_price_per_block()},
                                              {"bid_window_end", std::to_string(o.bid_window_end())}});
  return id;
}

Status Keeper::check_close_order(const store::KVReader& s, std::string_view owner20, uint64_t order_id) const {
  auto o = order(s, order_id);
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(order_id) + " not found");
  if (AddrOf(o->owner()) != owner20)
    return MarketErr(kErrUnauthorized, "order " + std::to_string(order_id) + " belongs to " + o->owner());
  if (o->state() == ORDER_STATE_CLOSED)
    return MarketErr(kErrOrderClosed, "order " + std::to_string(order_id) + " is already closed");
  return {};
}

Status Keeper::close_order(Context& ctx, std::string_view owner20, uint64_t order_id) const {
  DEPAI_TRY(check_close_order(*ctx.store, owner20, order_id));
  auto o = *order(*ctx.store, order_id);
  if (o.state() == ORDER_STATE_ACTIVE) {
    auto l = lease(*ctx.store, o.lease_id());
    if (l && l->state() != LEASE_STATE_CLOSED) return finish_lease(ctx, *l, CLOSE_REASON_OWNER, false);
  }
  DEPAI_TRY(refund_bids(ctx, order_id, "", BID_STATE_CLOSED));
  return close_order_refund(ctx, o, "OWNER");
}

// ---- bids ---------------------------------------------------------------------------------

Status Keeper::check_eligible(const store::KVReader& s, const Order& o, std::string_view provider20) const {
  auto p = providers_->get(s, provider20);
  if (!p)
    return MarketErr(kErrProviderNotFound, "provider " + crypto::AddressToBech32(provider20) + " is not registered");
  auto gaps = Gaps(o, *p, providers_->audits(s, provider20));
  if (gaps.empty()) return {};
  std::string msg = "provider " + p->owner() + " does not meet order " + std::to_string(o.id()) + ": ";
  for (size_t i = 0; i < gaps.size(); ++i) msg += (i ? "; " : "") + gaps[i];
  return MarketErr(kErrProviderIneligible, msg);
}

Status Keeper::check_create_bid(const store::KVReader& s, std::string_view provider20, uint64_t order_id, Amount price,
                                int64_t height) const {
  auto o = order(s, order_id);
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(order_id) + " not found");
  if (o->state() != ORDER_STATE_OPEN)
    return MarketErr(kErrOrderNotOpen, "order " + std::to_string(order_id) + " is not open for bids");
  if (height > o->bid_window_end())
    return MarketErr(kErrBidWindowClosed, "the bid window of order " + std::to_string(order_id) + " closed at height " +
                                              std::to_string(o->bid_window_end()));
  if (price > Amt(o->max_price_per_block()))
    return MarketErr(kErrPriceTooHigh, "price " + price.str() + "udpai is above the order's max price " +
                                           o->max_price_per_block() + "udpai");
  const Params p = params(s);
  uint32_t live = 0;
  for (const auto& b : bids(s, order_id)) {
    if (b.state() == BID_STATE_CLOSED) {
      continue;
    }
    if (AddrOf(b.provider()) == provider20)
      return MarketErr(kErrDuplicateBid, "provider already bid on order " + std::to_string(order_id));
    ++live;
  }
  if (live >= p.max_bids_per_order())
    return MarketErr(kErrTooManyBids, "order " + std::to_string(order_id) + " already has " + std::to_string(live) +
                                          " bids (max " + std::to_string(p.max_bids_per_order()) + ")");
  DEPAI_TRY(check_eligible(s, *o, provider20));
  Amount dep = Amt(p.bid_deposit());
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, provider20, kDenom));
  if (have < dep)
    return RootErr(kErrInsufficientFunds, "insufficient funds: balance " + have.str() +
                                              "udpai is smaller than the bid deposit " + dep.str() + "udpai");
  return {};
}

Status Keeper::create_bid(Context& ctx, std::string_view provider20, uint64_t order_id, Amount price) const {
  DEPAI_TRY(check_create_bid(*ctx.store, provider20, order_id, price, ctx.header->height));
  Amount dep = Amt(params(*ctx.store).bid_deposit());
  DEPAI_TRY(bank_->send(ctx, provider20, EscrowModuleAddress(), Coins::From({Coin{kDenom, dep}}).value(), false));
  Bid b;
  b.set_order_id(order_id);
  b.set_provider(crypto::AddressToBech32(provider20));
  b.set_price_per_block(price.str());
  b.set_deposit(dep.str());
  b.set_height(ctx.header->height);
  b.set_state(BID_STATE_OPEN);
  set_bid(*ctx.store, b);
  if (ctx.events)
    ctx.events->emit("market.bid_created", {{"order_id", std::to_string(order_id)},
                                            {"provider", b.provider()},
                                            {"amount", b.price_per_block()},
                                            {"deposit", dep.str()}});
  return {};
}

Status Keeper::check_close_bid(const store::KVReader& s, std::string_view provider20, uint64_t order_id) const {
  auto b = bid(s, order_id, provider20);
  if (!b)
    return MarketErr(kErrBidNotFound,
                     "no bid of " + crypto::AddressToBech32(provider20) + " on order " + std::to_string(order_id));
  if (b->state() != BID_STATE_OPEN)
    return MarketErr(kErrBidNotOpen, "bid is " + depai::market::v1::BidState_Name(b->state()) + ", not open" +
                                         (b->state() == BID_STATE_WON ? " (close the lease instead)" : ""));
  return {};
}

Status Keeper::close_bid(Context& ctx, std::string_view provider20, uint64_t order_id) const {
  DEPAI_TRY(check_close_bid(*ctx.store, provider20, order_id));
  auto b = *bid(*ctx.store, order_id, provider20);
  DEPAI_TRY(send_from_escrow(ctx, provider20, Amt(b.deposit())));
  b.set_state(BID_STATE_CLOSED);
  set_bid(*ctx.store, b);
  if (ctx.events)
    ctx.events->emit("market.bid_closed",
                     {{"order_id", std::to_string(order_id)}, {"provider", b.provider()}, {"amount", b.deposit()}});
  return {};
}

// ---- leases -------------------------------------------------------------------------------

Status Keeper::check_create_lease(const store::KVReader& s, std::string_view owner20, uint64_t order_id,
                                  std::string_view provider20) const {
  auto o = order(s, order_id);
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(order_id) + " not found");
  if (AddrOf(o->owner()) != owner20)
    return MarketErr(kErrUnauthorized, "order " + std::to_string(order_id) + " belongs to " + o->owner());
  if (o->state() != ORDER_STATE_OPEN)
    return MarketErr(kErrOrderNotOpen, "order " + std::to_string(order_id) + " is not open");
  auto b = bid(s, order_id, provider20);
  if (!b || b->state() != BID_STATE_OPEN)
    return MarketErr(kErrBidNotFound,
                     "no open bid of " + crypto::AddressToBech32(provider20) + " on order " + std::to_string(order_id));
  auto e = escrow(s, order_id);
  Amount bal = e ? Amt(e->balance()) : Amount();
  if (bal < Amt(b->price_per_block()))
    return MarketErr(kErrInsufficientEscrow, "escrow balance " + bal.str() + "udpai does not fund one block at " +
                                                 b->price_per_block() + "udpai; deposit first");
  return {};
}

Result<uint64_t> Keeper::create_lease(Context& ctx, std::string_view owner20, uint64_t order_id,
                                      std::string_view provider20) const {
  DEPAI_TRY(check_create_lease(*ctx.store, owner20, order_id, provider20));
  auto o = *order(*ctx.store, order_id);
  auto b = *bid(*ctx.store, order_id, provider20);
  return open_lease(ctx, o, b);
}

Result<uint64_t> Keeper::open_lease(Context& ctx, Order& o, Bid& winner) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  const Params p = params(s);
  const Bytes prov = AddrOf(winner.provider());
  const uint64_t id = last_id(s, "lease") + 1;
  set_last_id(s, "lease", id);
  winner.set_state(BID_STATE_WON);
  set_bid(s, winner);
  DEPAI_TRY(refund_bids(ctx, o.id(), prov, BID_STATE_LOST));
  Lease l;
  l.set_id(id);
  l.set_order_id(o.id());
  l.set_owner(o.owner());
  l.set_provider(winner.provider());
  l.set_price_per_block(winner.price_per_block());
  l.set_state(LEASE_STATE_ACTIVE);
  l.set_start_height(h);
  auto e = escrow(s, o.id());
  if (!e) return MarketErr(kErrInvariant, "order " + std::to_string(o.id()) + " has no escrow");
  e->set_settled_height(h);
  e->set_debt("0");
  set_escrow(s, *e);
  s.del(Cat(kOpenPrefix, U64BE(o.id())));
  s.del(WindowKey(o.bid_window_end(), o.id()));
  o.set_state(ORDER_STATE_ACTIVE);
  o.set_lease_id(id);
  set_order(s, o);
  s.set(Cat(kPlxPrefix, prov, U64BE(id)), "");
  providers_->add_active_lease(s, prov, 1);
  if (ctx.events) {
    auto a = LeaseAttrs(l);
    a.push_back({"amount", l.price_per_block()});
    a.push_back({"balance", e->balance()});
    a.push_back({"funded_until", std::to_string(FundedUntil(FromProto(*e), Amt(l.price_per_block())))});
    ctx.events->emit("market.lease_created", std::move(a));
  }
  schedule(ctx, l, *e, p, h);
  set_lease(s, l);
  return id;
}

Status Keeper::check_close_lease(const store::KVReader& s, std::string_view sender20, uint64_t lease_id,
                                 CloseReason reason) const {
  auto l = lease(s, lease_id);
  if (!l) return MarketErr(kErrLeaseNotFound, "lease " + std::to_string(lease_id) + " not found");
  if (l->state() == LEASE_STATE_CLOSED)
    return MarketErr(kErrLeaseClosed, "lease " + std::to_string(lease_id) + " is already closed");
  const bool is_owner = AddrOf(l->owner()) == sender20, is_provider = AddrOf(l->provider()) == sender20;
  if (!is_owner && !is_provider)
    return MarketErr(kErrUnauthorized,
                     "only the owner or the provider of lease " + std::to_string(lease_id) + " may close it");
  const bool owner_reason = reason == CLOSE_REASON_OWNER || reason == CLOSE_REASON_UNSPECIFIED;
  if (owner_reason && !is_owner)
    return MarketErr(kErrInvalidReason, "reason OWNER is for the lease owner; a provider must give its reason");
  if (!owner_reason && !(ProviderReason(reason) && is_provider))
    return MarketErr(kErrInvalidReason, "reason " + ReasonName(reason) + " is not allowed for this sender");
  return {};
}

Status Keeper::close_lease(Context& ctx, std::string_view sender20, uint64_t lease_id, CloseReason reason) const {
  DEPAI_TRY(check_close_lease(*ctx.store, sender20, lease_id, reason));
  auto l = *lease(*ctx.store, lease_id);
  if (reason == CLOSE_REASON_UNSPECIFIED) reason = CLOSE_REASON_OWNER;
  return finish_lease(ctx, l, reason, ProviderReason(reason));
}

Status Keeper::finish_lease(Context& ctx, Lease& l, CloseReason reason, bool by_provider) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  const Params p = params(s);
  auto o = order(s, l.order_id());
  auto e = escrow(s, l.order_id());
  if (!o || !e) return MarketErr(kErrInvariant, "lease " + std::to_string(l.id()) + " has no order or escrow");
  unschedule(s, l, *e, p);
  DEPAI_TRY(settle(ctx, l, *e, h));
  const Bytes prov = AddrOf(l.provider());
  const Amount paid = Amt(e->withdrawable());
  DEPAI_TRY(send_from_escrow(ctx, prov, paid));
  e->set_withdrawable("0");
  e->set_debt("0");  // unpaid grace blocks are forgiven when the lease ends
  set_escrow(s, *e);
  if (auto b = bid(s, l.order_id(), prov); b && b->state() == BID_STATE_WON) {
    DEPAI_TRY(send_from_escrow(ctx, prov, Amt(b->deposit())));
    b->set_deposit("0");
    set_bid(s, *b);
  }
  l.set_state(LEASE_STATE_CLOSED);
  l.set_closed_height(h);
  l.set_close_reason(reason);
  set_lease(s, l);
  providers_->add_active_lease(s, prov, -1);
  if (ctx.events) {
    auto a = LeaseAttrs(l);
    a.push_back({"reason", ReasonName(reason)});
    a.push_back({"amount", paid.str()});
    ctx.events->emit("market.lease_closed", std::move(a));
  }
  if (by_provider && o->reopen_on_provider_close()) {
    reopen_order(ctx, *o);
    return {};
  }
  return close_order_refund(ctx, *o, ReasonName(reason).c_str());
}

// ---- escrow -------------------------------------------------------------------------------

Status Keeper::check_deposit(const store::KVReader& s, std::string_view depositor20, uint64_t order_id,
                             Amount amount) const {
  auto o = order(s, order_id);
  if (!o) return MarketErr(kErrOrderNotFound, "order " + std::to_string(order_id) + " not found");
  if (o->state() == ORDER_STATE_CLOSED)
    return MarketErr(kErrOrderClosed, "order " + std::to_string(order_id) + " is closed");
  DEPAI_ASSIGN_OR_RETURN(Amount have, bank_->balance(s, depositor20, kDenom));
  if (have < amount)
    return RootErr(kErrInsufficientFunds,
                   "insufficient funds: balance " + have.str() + "udpai is smaller than " + amount.str() + "udpai");
  return {};
}

Status Keeper::deposit(Context& ctx, std::string_view depositor20, uint64_t order_id, Amount amount) const {
  auto& s = *ctx.store;
  DEPAI_TRY(check_deposit(s, depositor20, order_id, amount));
  const int64_t h = ctx.header->height;
  const Params p = params(s);
  auto o = *order(s, order_id);
  auto e = *escrow(s, order_id);
  DEPAI_TRY(bank_->send(ctx, depositor20, EscrowModuleAddress(), Coins::From({Coin{kDenom, amount}}).value(), false));
  std::optional<Lease> l;
  if (o.state() == ORDER_STATE_ACTIVE) l = lease(s, o.lease_id());
  if (l && l->state() != LEASE_STATE_CLOSED) {
    const Amount rate = Amt(l->price_per_block());
    if (l->state() == LEASE_STATE_ACTIVE) unschedule(s, *l, e, p);
    DEPAI_TRY(settle(ctx, *l, e, h));
    EscrowAccount acc = FromProto(e);
    DEPAI_ASSIGN_OR_RETURN(Payout po, AddFunds(acc, amount, rate, p.take_fee_bps()));
    DEPAI_TRY(send_from_escrow(ctx, TreasuryAddress(), po.take));
    ToProto(acc, &e);
    if (l->state() == LEASE_STATE_GRACE) {
      if (acc.balance >= rate) {
        s.del(SchedKey(l->grace_until(), kSchedGraceEnd, l->id()));
        l->set_state(LEASE_STATE_ACTIVE);
        l->set_grace_until(0);
        schedule(ctx, *l, e, p, h);
      }
    } else {
      schedule(ctx, *l, e, p, h);
    }
    set_lease(s, *l);
  } else {
    auto b = Amt(e.balance()).add(amount);
    if (!b.ok()) return RootErr(kErrOverflow, "escrow balance overflows");
    e.set_balance(b->str());
  }
  set_escrow(s, e);
  if (ctx.events) {
    std::vector<EventAttribute> a{{"order_id", std::to_string(order_id)},
                                  {"owner", o.owner()},
                                  {"depositor", crypto::AddressToBech32(depositor20)},
                                  {"amount", amount.str()},
                                  {"balance", e.balance()}};
    if (l && l->state() != LEASE_STATE_CLOSED) {
      a.push_back({"lease_id", std::to_string(l->id())});
      a.push_back({"funded_until", std::to_string(FundedUntil(FromProto(e), Amt(l->price_per_block())))});
    }
    ctx.events->emit("market.escrow_deposit", std::move(a));
  }
  return {};
}

EscrowAccount Keeper::settled_view(const store::KVReader& s, const Lease& l, const Escrow& e, int64_t height) const {
  EscrowAccount acc = FromProto(e);
  if (l.state() == LEASE_STATE_CLOSED) return acc;
  EscrowAccount copy = acc;
  if (Settle(copy, Amt(l.price_per_block()), params(s).take_fee_bps(), height).ok()) return copy;
  return acc;
}

Status Keeper::check_withdraw(const store::KVReader& s, std::string_view provider20, uint64_t lease_id,
                              int64_t height) const {
  auto l = lease(s, lease_id);
  if (!l) return MarketErr(kErrLeaseNotFound, "lease " + std::to_string(lease_id) + " not found");
  if (AddrOf(l->provider()) != provider20)
    return MarketErr(kErrUnauthorized, "lease " + std::to_string(lease_id) + " is served by " + l->provider());
  if (l->state() == LEASE_STATE_CLOSED)
    return MarketErr(kErrLeaseClosed, "lease " + std::to_string(lease_id) + " is closed (paid out at close)");
  auto e = escrow(s, l->order_id());
  if (!e || settled_view(s, *l, *e, height).withdrawable.is_zero())
    return MarketErr(kErrNothingToWithdraw, "nothing to withdraw yet from lease " + std::to_string(lease_id));
  return {};
}

Status Keeper::withdraw(Context& ctx, std::string_view provider20, uint64_t lease_id) const {
  auto& s = *ctx.store;
  DEPAI_TRY(check_withdraw(s, provider20, lease_id, ctx.header->height));
  auto l = *lease(s, lease_id);
  auto e = *escrow(s, l.order_id());
  // Settling an ACTIVE lease does not move funded_until, and a GRACE lease only accrues debt,
  // so the schedule stays valid.
  DEPAI_TRY(settle(ctx, l, e, ctx.header->height));
  const Amount w = Amt(e.withdrawable());
  DEPAI_TRY(send_from_escrow(ctx, provider20, w));
  e.set_withdrawable("0");
  set_escrow(s, e);
  if (ctx.events) {
    auto a = LeaseAttrs(l);
    a.push_back({"amount", w.str()});
    a.push_back({"balance", e.balance()});
    ctx.events->emit("market.lease_withdraw", std::move(a));
  }
  return {};
}

// ---- end block ----------------------------------------------------------------------------

Status Keeper::auto_select(Context& ctx, uint64_t order_id, int64_t window_end) const {
  auto& s = *ctx.store;
  auto o = order(s, order_id);
  if (!o || o->state() != ORDER_STATE_OPEN || !o->auto_select() || o->bid_window_end() != window_end) return {};
  const Params p = params(s);
  const int64_t h = ctx.header->height;
  struct Entry {
    Bid bid;
    depai::provider::v1::Provider prov;
  };
  std::vector<Entry> live;
  uint64_t min_price = UINT64_MAX;
  for (auto& b : bids(s, order_id)) {
    if (b.state() != BID_STATE_OPEN) continue;
    Bytes addr = AddrOf(b.provider());
    auto pr = providers_->get(s, addr);
    if (!pr || !check_eligible(s, *o, addr).ok()) continue;  // no longer qualifies: loses
    min_price = std::min(min_price, Amt(b.price_per_block()).raw());
    live.push_back(Entry{b, *pr});
  }
  std::optional<Candidate> best;
  const Bid* best_bid = nullptr;
  const ScoreWeights w{p.score_price_bps(), p.score_locality_bps(), p.score_reputation_bps()};
  for (const auto& en : live) {
    Candidate c;
    c.price = Amt(en.bid.price_per_block()).raw();
    c.height = en.bid.height();
    c.provider_addr = AddrOf(en.bid.provider());
    const uint32_t uptime = providers_->uptime_bps(s, en.prov, h);
    c.score = Score(*o, en.prov, min_price, c.price, uptime, w);
    // Every scored bid is on record, so buyers and providers can check the choice by hand.
    if (ctx.events)
      ctx.events->emit("market.bid_scored", {{"order_id", std::to_string(order_id)},
                                             {"provider", en.bid.provider()},
                                             {"price", std::to_string(c.price)},
                                             {"min_price", std::to_string(min_price)},
                                             {"uptime_bps", std::to_string(uptime)},
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
      ctx.events->emit("market.order_no_bids", {{"order_id", std::to_string(order_id)}, {"owner", o->owner()}});
    return close_order_refund(ctx, *o, "NO_BIDS");
  }
  Bid winner = *best_bid;
  auto r = open_lease(ctx, *o, winner);
  return r.ok() ? Status() : Status(r.error());
}

Status Keeper::end_block(Context& ctx) const {
  auto& s = *ctx.store;
  const int64_t h = ctx.header->height;
  const Bytes upto = H64(h + 1);
  // 1. Auto-selection for bid windows ending at (or, after an import, before) this height.
  std::vector<std::pair<int64_t, uint64_t>> windows;
  s.iterate(kWindowPrefix, Cat(kWindowPrefix, upto), [&](std::string_view k, std::string_view) {
    auto rest = k.substr(kWindowPrefix.size());
    windows.emplace_back(static_cast<int64_t>(GetU64BE(rest.substr(0, 8))), GetU64BE(rest.substr(8, 8)));
    return true;
  });
  for (const auto& [wh, oid] : windows) {
    s.del(WindowKey(wh, oid));
    DEPAI_TRY(auto_select(ctx, oid, wh));
  }
  // 2. Scheduled escrow events due now.
  struct Due {
    int64_t height;
    SchedKind kind;
    uint64_t lease;
  };
  std::vector<Due> due;
  s.iterate(kSchedPrefix, Cat(kSchedPrefix, upto), [&](std::string_view k, std::string_view) {
    auto rest = k.substr(kSchedPrefix.size());
    due.push_back(Due{static_cast<int64_t>(GetU64BE(rest.substr(0, 8))), static_cast<SchedKind>(rest[8]),
                      GetU64BE(rest.substr(9, 8))});
    return true;
  });
  if (due.empty()) return {};
  const Params p = params(s);
  for (const auto& d : due) {
    s.del(SchedKey(d.height, d.kind, d.lease));
    auto l = lease(s, d.lease);
    if (!l) continue;
    auto e = escrow(s, l->order_id());
    if (!e) continue;
    const Amount rate = Amt(l->price_per_block());
    const int64_t fu = FundedUntil(FromProto(*e), rate);
    if (d.kind == kSchedLowBalance) {
      if (l->state() != LEASE_STATE_ACTIVE || p.low_balance_blocks() <= 0 || fu - p.low_balance_blocks() != d.height)
        continue;  // stale
      if (ctx.events) {
        auto a = LeaseAttrs(*l);
        a.push_back({"balance", settled_view(s, *l, *e, h).balance.str()});
        a.push_back({"funded_until", std::to_string(fu)});
        ctx.events->emit("market.escrow_low_balance", std::move(a));
      }
    } else if (d.kind == kSchedExhausted) {
      if (l->state() != LEASE_STATE_ACTIVE || fu != d.height) continue;
      DEPAI_TRY(settle(ctx, *l, *e, h));
      set_escrow(s, *e);
      l->set_state(LEASE_STATE_GRACE);
      l->set_grace_until(fu + p.grace_period_blocks());
      s.set(SchedKey(l->grace_until(), kSchedGraceEnd, l->id()), "");
      set_lease(s, *l);
      if (ctx.events) {
        auto a = LeaseAttrs(*l);
        a.push_back({"balance", e->balance()});
        a.push_back({"funded_until", std::to_string(fu)});
        a.push_back({"grace_until", std::to_string(l->grace_until())});
        ctx.events->emit("market.escrow_exhausted", std::move(a));
      }
    } else if (d.kind == kSchedGraceEnd) {
      if (l->state() != LEASE_STATE_GRACE || l->grace_until() != d.height) continue;
      DEPAI_TRY(finish_lease(ctx, *l, CLOSE_REASON_INSUFFICIENT_FUNDS, false));
    }
  }
  return {};
}

// ---- invariants ---------------------------------------------------------------------------

Status Keeper::check_invariants_full(const store::KVReader& s) const {
  unsigned __int128 sum = 0;
  s.iterate(kEscrowPrefix, store::PrefixEnd(kEscrowPrefix), [&](std::string_view, std::string_view v) {
    Escrow e;
    e.ParseFromArray(v.data(), static_cast<int>(v.size()));
    sum += Amt(e.balance()).raw();
    sum += Amt(e.withdrawable()).raw();
    return true;
  });
  s.iterate(kBidPrefix, store::PrefixEnd(kBidPrefix), [&](std::string_view, std::string_view v) {
    Bid b;
    b.ParseFromArray(v.data(), static_cast<int>(v.size()));
    sum += Held(b);
    return true;
  });
  DEPAI_ASSIGN_OR_RETURN(const Amount have, bank_->balance(s, EscrowModuleAddress(), kDenom));
  if (sum != have.raw())
    return MarketErr(kErrInvariant, "escrow invariant broken: module:market_escrow holds " + have.str() +
                                        "udpai, escrows and bid deposits sum to " +
                                        std::to_string(static_cast<uint64_t>(sum)));
  return {};
}

Status Keeper::check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const {
  __int128 delta = 0;
  const bool use_originals = block.parent() == &committed;
  auto contribution = [](std::string_view key, const std::optional<Bytes>& v) -> __int128 {
    if (!v) return 0;
    if (key.substr(0, kEscrowPrefix.size()) == kEscrowPrefix) {
      Escrow e;
      e.ParseFromString(*v);
      return static_cast<__int128>(Amt(e.balance()).raw()) + Amt(e.withdrawable()).raw();
    }
    Bid b;
    b.ParseFromString(*v);
    return static_cast<__int128>(Held(b));
  };
  block.for_each_write([&](const std::string& k, const std::optional<Bytes>& v, const std::optional<Bytes>* orig) {
    std::string_view key(k);
    if (key.substr(0, kEscrowPrefix.size()) != kEscrowPrefix && key.substr(0, kBidPrefix.size()) != kBidPrefix) return;
    auto old = use_originals && orig ? *orig : committed.get(k);
    delta += contribution(key, v) - contribution(key, old);
  });
  DEPAI_ASSIGN_OR_RETURN(const Amount esc_block, bank_->balance(block, EscrowModuleAddress(), kDenom));
  DEPAI_ASSIGN_OR_RETURN(const Amount esc_committed, bank_->balance(committed, EscrowModuleAddress(), kDenom));
  const __int128 bank_delta = static_cast<__int128>(esc_block.raw()) - static_cast<__int128>(esc_committed.raw());
  if (delta != bank_delta)
    return MarketErr(kErrInvariant,
                     "escrow invariant broken in block: module:market_escrow balance and the "
                     "escrow/bid records changed by different amounts");
  return {};
}

void Keeper::rebuild_indexes(store::KVStore& s, int64_t from_height) const {
  const Params p = params(s);
  std::vector<Order> orders;
  s.iterate(kOrderPrefix, store::PrefixEnd(kOrderPrefix), [&](std::string_view, std::string_view v) {
    Order o;
    o.ParseFromArray(v.data(), static_cast<int>(v.size()));
    orders.push_back(std::move(o));
    return true;
  });
  for (const auto& o : orders) {
    s.set(Cat(kOlxPrefix, AddrOf(o.owner()), U64BE(o.id())), "");
    if (o.state() == ORDER_STATE_OPEN) {
      s.set(Cat(kOpenPrefix, U64BE(o.id())), "");
      if (o.auto_select()) s.set(WindowKey(o.bid_window_end(), o.id()), "");
    }
  }
  std::vector<Lease> leases;
  s.iterate(kLeasePrefix, store::PrefixEnd(kLeasePrefix), [&](std::string_view, std::string_view v) {
    Lease l;
    l.ParseFromArray(v.data(), static_cast<int>(v.size()));
    leases.push_back(std::move(l));
    return true;
  });
  for (const auto& l : leases) {
    s.set(Cat(kPlxPrefix, AddrOf(l.provider()), U64BE(l.id())), "");
    if (l.state() == LEASE_STATE_ACTIVE) {
      auto e = escrow(s, l.order_id());
      if (!e) continue;
      const int64_t fu = FundedUntil(FromProto(*e), Amt(l.price_per_block()));
      if (p.low_balance_blocks() > 0 && fu - p.low_balance_blocks() >= from_height)
        s.set(SchedKey(fu - p.low_balance_blocks(), kSchedLowBalance, l.id()), "");
      s.set(SchedKey(fu, kSchedExhausted, l.id()), "");
    } else if (l.state() == LEASE_STATE_GRACE) {
      s.set(SchedKey(l.grace_until(), kSchedGraceEnd, l.id()), "");
    }
  }
}

}  // namespace depai::x::market
