// x/market's seeded random messages for the determinism test: orders with random resources,
// prices, deposits and bid windows; bids on open orders; leases accepting an open bid; deposits,
// withdrawals and closes on existing orders, bids and leases. The state is read through the
// keeper to pick real targets, so many messages succeed; some are meant to fail (deposits below
// the minimum, windows out of range, short manifest hashes, unknown ids, wrong senders, prices
// above the maximum, bids from accounts that are not registered providers).
#include "crypto/hash.h"
#include "x/market/module.h"

namespace depai::x::market {

namespace mv1 = depai::market::v1;

namespace {
constexpr size_t kMaxPick = 64;  // candidates read per message (keeps generation cheap)

depai::tx::v1::Coin In(const std::string& denom, uint64_t amount) {
  depai::tx::v1::Coin c;
  c.set_denom(denom);
  c.set_amount(std::to_string(amount));
  return c;
}
depai::tx::v1::Coin Udpai(uint64_t amount) { return In(kDenom, amount); }

std::optional<size_t> AccountOf(const SimState& sim, std::string_view addr20) {
  for (size_t i = 0; i < sim.accounts.size(); ++i)
    if (sim.accounts[i].addr == addr20) return i;
  return std::nullopt;
}

// Up to kMaxPick records from an iterator; a walk that fails (a fault) gives what it read.
template <typename Rec, typename Walk>
std::vector<Rec> Collect(Walk walk) {
  std::vector<Rec> out;
  (void)walk([&](const Rec& r) {
    out.push_back(r);
    return out.size() < kMaxPick;
  });
  return out;
}

template <typename T>
const T* Pick(SimRng& rng, const std::vector<T>& v) {
  return v.empty() ? nullptr : &v[rng.below(v.size())];
}

mv1::MsgCreateOrder RandomOrder(SimRng& rng, const std::string& owner) {
  mv1::MsgCreateOrder m;
  m.set_owner(owner);
  const uint64_t groups = 1 + rng.below(2);
  for (uint64_t i = 0; i < groups; ++i) {
    auto* g = m.add_groups();
    g->set_name("g" + std::to_string(i));
    g->set_count(static_cast<uint32_t>(1 + rng.below(2)));
    g->mutable_units()->set_cpu_millicores(500 * (1 + rng.below(8)));
    g->mutable_units()->set_memory_mib(512 * (1 + rng.below(16)));
  }
  *m.mutable_max_price_per_block() = Udpai(10 + rng.below(190));
  const uint64_t kind = rng.below(20);
  // Mostly a few hundred blocks' worth; sometimes below min_deposit or far above any balance.
  *m.mutable_deposit() = Udpai(kind == 0 ? 1 + rng.below(999) : kind == 1 ? 4'000'000'000 : 1000 + rng.below(50000));
  m.set_bid_window_blocks(kind == 2 ? 5000 : static_cast<int64_t>(2 + rng.below(19)));  // 5000 > max_bid_window
  m.set_manifest_hash(kind == 3 ? std::string("short") : crypto::Sha256("sim-manifest-" + std::to_string(rng.next())));
  m.set_auto_select(rng.chance(40));
  m.set_reopen_on_provider_close(rng.chance(30));
  if (kind == 4) {  // credit-priced (the same draws, so the udpai stream is unchanged)
    m.set_denom(kCreditDenom);
    m.mutable_max_price_per_block()->set_denom(kCreditDenom);
    m.mutable_deposit()->set_denom(kCreditDenom);
  }
  return m;
}
}  // namespace

std::optional<SimMsg> Module::random_msg(SimState& sim) const {
  if (sim.accounts.empty()) return std::nullopt;
  auto& rng = sim.rng;
  const auto& s = sim.state;
  const size_t who = rng.below(sim.accounts.size());
  const std::string& me = sim.accounts[who].bech32;
  const Bytes& me20 = sim.accounts[who].addr;
  const uint64_t roll = rng.below(100);

  if (roll < 30) return SimMsg{who, PackAny(kTypeCreateOrder, RandomOrder(rng, me))};

  if (roll < 55) {  // bid on an open order (sometimes above its max price)
    // Mostly orders whose bid window is still open at the delivery height.
    const bool late = rng.chance(10);
    std::vector<OrderRec> open;
    (void)keeper_.for_each_open_order(s, [&](const OrderRec& o) {
      if (late || o.pb.bid_window_end() >= sim.height) open.push_back(o);
      return open.size() < kMaxPick;
    });
    mv1::MsgCreateBid m;
    m.set_provider(me);
    const OrderRec* o = Pick(rng, open);
    m.set_order_id(o ? o->pb.id() : 1 + rng.below(8));
    const uint64_t max = o ? o->max_price.raw() : 100;
    *m.mutable_price_per_block() =
        In(o ? o->denom : std::string(kDenom), rng.chance(10) ? max + 1 : 1 + rng.below(max == 0 ? 1 : max));
    return SimMsg{who, PackAny(kTypeCreateBid, m)};
  }

  if (roll < 67) {  // the owner of an open order accepts one of its open bids
    // Scan the open orders from a random start for one with an open bid.
    auto open = Collect<OrderRec>([&](const Keeper::OrderFn& fn) { return keeper_.for_each_open_order(s, fn); });
    const size_t start = open.empty() ? 0 : rng.below(open.size());
    for (size_t i = 0; i < open.size(); ++i) {
      const OrderRec& o = open[(start + i) % open.size()];
      auto owner = AccountOf(sim, o.owner);
      if (!owner) continue;
      std::vector<BidRec> bids;
      (void)keeper_.for_each_bid_of(s, o.pb.id(), [&](const BidRec& b) {
        if (b.pb.state() == mv1::BID_STATE_OPEN) bids.push_back(b);
        return bids.size() < kMaxPick;
      });
      const BidRec* b = Pick(rng, bids);
      if (!b) continue;
      mv1::MsgCreateLease m;
      m.set_owner(o.pb.owner());
      m.set_order_id(o.pb.id());
      m.set_provider(b->pb.provider());
      return SimMsg{*owner, PackAny(kTypeCreateLease, m)};
    }
    mv1::MsgCreateLease m;  // no open bid: a lease on nothing (fails)
    m.set_owner(me);
    m.set_order_id(1 + rng.below(8));
    m.set_provider(sim.accounts[rng.below(sim.accounts.size())].bech32);
    return SimMsg{who, PackAny(kTypeCreateLease, m)};
  }

  if (roll < 77) {  // top up one of my orders (sometimes someone else's, or an unknown id)
    auto mine = Collect<OrderRec>([&](const Keeper::OrderFn& fn) { return keeper_.for_each_order_of(s, me20, fn); });
    const OrderRec* o = Pick(rng, mine);
    mv1::MsgDepositEscrow m;
    m.set_depositor(me);
    m.set_order_id(o && !rng.chance(10) ? o->pb.id() : 1 + rng.below(16));
    *m.mutable_amount() = In(o ? o->denom : std::string(kDenom), 1 + rng.below(20000));
    return SimMsg{who, PackAny(kTypeDepositEscrow, m)};
  }

  if (roll < 87) {  // a provider withdraws from, or closes, one of its leases
    auto mine = Collect<LeaseRec>([&](const Keeper::LeaseFn& fn) { return keeper_.for_each_lease_of(s, me20, fn); });
    const LeaseRec* l = Pick(rng, mine);
    const uint64_t id = l ? l->pb.id() : 1 + rng.below(8);
    if (rng.chance(70)) {
      mv1::MsgWithdrawLease m;
      m.set_provider(me);
      m.set_lease_id(id);
      return SimMsg{who, PackAny(kTypeWithdrawLease, m)};
    }
    mv1::MsgCloseLease m;
    m.set_sender(me);
    m.set_lease_id(id);
    m.set_reason(rng.chance(80) ? mv1::CLOSE_REASON_WORKLOAD_COMPLETED : mv1::CLOSE_REASON_OWNER);  // OWNER: fails
    return SimMsg{who, PackAny(kTypeCloseLease, m)};
  }

  if (roll < 94) {  // an owner closes one of its orders
    auto mine = Collect<OrderRec>([&](const Keeper::OrderFn& fn) { return keeper_.for_each_order_of(s, me20, fn); });
    const OrderRec* o = Pick(rng, mine);
    mv1::MsgCloseOrder m;
    m.set_owner(me);
    m.set_order_id(o ? o->pb.id() : 1 + rng.below(8));
    return SimMsg{who, PackAny(kTypeCloseOrder, m)};
  }

  // A provider withdraws a bid (on an open order; often it has none there).
  auto open = Collect<OrderRec>([&](const Keeper::OrderFn& fn) { return keeper_.for_each_open_order(s, fn); });
  const OrderRec* o = Pick(rng, open);
  mv1::MsgCloseBid m;
  m.set_provider(me);
  m.set_order_id(o ? o->pb.id() : 1 + rng.below(8));
  return SimMsg{who, PackAny(kTypeCloseBid, m)};
}

}  // namespace depai::x::market
