// x/market records: typed get/set/decode of orders, bids, leases, escrows and params, the id
// sequences, the iterators and the index entries. A record that does not decode is a fault.
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/market/keeper.h"
#include "x/market/keys.h"
#include "x/types/codec.h"

namespace depai::x::market {

using depai::market::v1::LEASE_STATE_ACTIVE;
using depai::market::v1::LEASE_STATE_GRACE;
using depai::market::v1::ORDER_STATE_OPEN;

namespace {
Error Corrupt(const std::string& what) { return Fault(kFaultCorruptRecord, "stored " + what + " does not decode"); }

// An amount field of a stored record: empty is the proto3 default (0); anything else must parse.
// An empty amount is the proto default and reads as 0 (genesis may omit zero fields).
Result<Amount> AmountField(const std::string& v, const char* what) {
  if (v.empty()) return Amount();
  return DecodeAmountField(v, what);
}

Result<Bytes> AddressField(const std::string& v, const char* what) {
  auto a = crypto::AddressFromBech32(v);
  if (!a.ok()) return Corrupt(std::string(what) + " '" + v + "'");
  return a;
}

// The u64 id at the end of an index key; a key of the wrong length is a fault.
Result<uint64_t> IdAt(std::string_view key, size_t prefix_len, const char* index) {
  if (key.size() != prefix_len + 8) return Fault(kFaultCorruptRecord, std::string("malformed ") + index + " index key");
  return GetU64BE(key.substr(prefix_len));
}

// Walks [prefix, PrefixEnd(prefix)), decoding each value with `dec` (proto parse + field checks).
template <typename Proto, typename Rec>
Status Walk(const store::KVReader& s, std::string_view prefix, const char* what, Result<Rec> (*dec)(Proto),
            const std::function<bool(const Rec&)>& fn) {
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view, std::string_view v) {
    auto pb = DecodeRecord<Proto>(v, what);
    if (!pb.ok()) {
      st = pb.error();
      return false;
    }
    auto r = dec(std::move(pb).value());
    if (!r.ok()) {
      st = r.error();
      return false;
    }
    return fn(r.value());
  });
  return st;
}

// The ids an index prefix lists (collected first: records are read after the walk).
Result<std::vector<uint64_t>> IndexIds(const store::KVReader& s, const std::string& prefix, const char* index) {
  std::vector<uint64_t> ids;
  Status st;
  s.iterate(prefix, store::PrefixEnd(prefix), [&](std::string_view k, std::string_view) {
    auto id = IdAt(k, prefix.size(), index);
    if (!id.ok()) {
      st = id.error();
      return false;
    }
    ids.push_back(id.value());
    return true;
  });
  DEPAI_TRY(st);
  return ids;
}

template <typename Proto, typename Rec>
Result<std::optional<Rec>> Get(const store::KVReader& s, const std::string& key, const char* what,
                               Result<Rec> (*dec)(Proto)) {
  auto v = s.get(key);
  if (!v) return std::optional<Rec>();
  DEPAI_ASSIGN_OR_RETURN(Proto pb, DecodeRecord<Proto>(*v, what));
  DEPAI_ASSIGN_OR_RETURN(Rec r, dec(std::move(pb)));
  return std::optional<Rec>(std::move(r));
}
}  // namespace

std::string ReasonName(CloseReason r) {
  std::string n = depai::market::v1::CloseReason_Name(r);
  constexpr std::string_view p = "CLOSE_REASON_";
  return n.substr(0, p.size()) == p ? n.substr(p.size()) : n;
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

const Bytes& EscrowModuleAddress() {
  static const Bytes a = crypto::Sha256("module:market_escrow").substr(0, 20);
  return a;
}
const Bytes& CheckerPoolAddress() {
  static const Bytes a = crypto::Sha256(kCheckerPoolAccount).substr(0, 20);
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
  p.set_checker_pool_bps(2500);
  return p;
}

Status ValidateParams(const Params& p) {
  auto bad = [](const std::string& m) { return MarketErr(kErrInvalidOrder, "invalid params: " + m); };
  if (!Amount::Parse(p.bid_deposit()).ok()) return bad("bid_deposit");
  if (!Amount::Parse(p.min_deposit()).ok()) return bad("min_deposit");
  if (p.max_bids_per_order() == 0) return bad("max_bids_per_order must be positive");
  if (p.take_fee_bps() > 10000) return bad("take_fee_bps must be <= 10000");
  if (p.checker_pool_bps() > 10000) return bad("checker_pool_bps must be <= 10000");
  if (p.low_balance_blocks() < 0) return bad("low_balance_blocks must be >= 0");
  if (p.grace_period_blocks() < 1) return bad("grace_period_blocks must be >= 1");
  if (p.min_bid_window() < 1 || p.max_bid_window() < p.min_bid_window())
    return bad("need 1 <= min_bid_window <= max_bid_window");
  if (static_cast<uint64_t>(p.score_price_bps()) + p.score_locality_bps() + p.score_reputation_bps() != 10000)
    return bad("score weights must sum to 10000");
  return {};
}

void ToProto(const EscrowAccount& a, Escrow* e) {
  e->set_balance(a.balance.str());
  e->set_debt(a.debt.str());
  e->set_withdrawable(a.withdrawable.str());
  e->set_paid_to_provider(a.paid_to_provider.str());
  e->set_paid_take_fee(a.paid_take_fee.str());
  e->set_settled_height(a.settled_height);
}

// ---- decoders -----------------------------------------------------------------------------

Result<ParamsRec> DecodeParams(Params pb) {
  ParamsRec r;
  DEPAI_ASSIGN_OR_RETURN(r.bid_deposit, AmountField(pb.bid_deposit(), "market params bid_deposit"));
  DEPAI_ASSIGN_OR_RETURN(r.min_deposit, AmountField(pb.min_deposit(), "market params min_deposit"));
  r.pb = std::move(pb);
  return r;
}

std::optional<std::string> PriceDenom(std::string_view field) {
  if (field.empty() || field == kDenom) return std::string(kDenom);
  if (field == kCreditDenom) return std::string(kCreditDenom);
  return std::nullopt;
}

namespace {
Result<std::string> DenomField(std::string_view field, const char* what) {
  auto d = PriceDenom(field);
  if (!d)
    return Fault(kFaultCorruptRecord,
                 std::string("stored ") + what + " denom '" + std::string(field) + "' is not udpai or ucredit");
  return *d;
}
}  // namespace

Result<OrderRec> DecodeOrder(Order pb) {
  OrderRec r;
  DEPAI_ASSIGN_OR_RETURN(r.denom, DenomField(pb.denom(), "order"));
  DEPAI_ASSIGN_OR_RETURN(r.owner, AddressField(pb.owner(), "order owner"));
  DEPAI_ASSIGN_OR_RETURN(r.max_price, AmountField(pb.max_price_per_block(), "order max_price_per_block"));
  r.pb = std::move(pb);
  return r;
}

Result<BidRec> DecodeBid(Bid pb) {
  BidRec r;
  DEPAI_ASSIGN_OR_RETURN(r.provider, AddressField(pb.provider(), "bid provider"));
  DEPAI_ASSIGN_OR_RETURN(r.price, AmountField(pb.price_per_block(), "bid price_per_block"));
  DEPAI_ASSIGN_OR_RETURN(r.deposit, AmountField(pb.deposit(), "bid deposit"));
  r.pb = std::move(pb);
  return r;
}

Result<LeaseRec> DecodeLease(Lease pb) {
  LeaseRec r;
  DEPAI_ASSIGN_OR_RETURN(r.owner, AddressField(pb.owner(), "lease owner"));
  DEPAI_ASSIGN_OR_RETURN(r.provider, AddressField(pb.provider(), "lease provider"));
  DEPAI_ASSIGN_OR_RETURN(r.rate, AmountField(pb.price_per_block(), "lease price_per_block"));
  DEPAI_ASSIGN_OR_RETURN(r.denom, DenomField(pb.denom(), "lease"));
  r.pb = std::move(pb);
  return r;
}

Result<EscrowRec> DecodeEscrow(Escrow pb) {
  EscrowRec r;
  DEPAI_ASSIGN_OR_RETURN(r.denom, DenomField(pb.denom(), "escrow"));
  DEPAI_ASSIGN_OR_RETURN(r.acc.balance, AmountField(pb.balance(), "escrow balance"));
  DEPAI_ASSIGN_OR_RETURN(r.acc.debt, AmountField(pb.debt(), "escrow debt"));
  DEPAI_ASSIGN_OR_RETURN(r.acc.withdrawable, AmountField(pb.withdrawable(), "escrow withdrawable"));
  DEPAI_ASSIGN_OR_RETURN(r.acc.paid_to_provider, AmountField(pb.paid_to_provider(), "escrow paid_to_provider"));
  DEPAI_ASSIGN_OR_RETURN(r.acc.paid_take_fee, AmountField(pb.paid_take_fee(), "escrow paid_take_fee"));
  r.acc.settled_height = pb.settled_height();
  r.pb = std::move(pb);
  return r;
}

// ---- records ------------------------------------------------------------------------------

Result<ParamsRec> Keeper::params(const store::KVReader& s) const {
  auto p = Get<Params, ParamsRec>(s, std::string(keys::kParams), "market params", &DecodeParams);
  if (!p.ok()) return p.error();
  if (!p.value()) return DecodeParams(DefaultParams());
  return std::move(*p.value());
}
void Keeper::set_params(store::KVStore& s, const Params& p) const { s.set(keys::kParams, DeterministicSerialize(p)); }

Result<std::optional<OrderRec>> Keeper::order(const store::KVReader& s, uint64_t id) const {
  return Get<Order, OrderRec>(s, keys::Order(id), "order", &DecodeOrder);
}
void Keeper::set_order(store::KVStore& s, const Order& o) const {
  s.set(keys::Order(o.id()), DeterministicSerialize(o));
}

Result<std::optional<BidRec>> Keeper::bid(const store::KVReader& s, uint64_t order, std::string_view provider20) const {
  return Get<Bid, BidRec>(s, keys::Bid(order, provider20), "bid", &DecodeBid);
}
Status Keeper::set_bid(store::KVStore& s, const Bid& b) const {
  auto prov = crypto::AddressFromBech32(b.provider());
  if (!prov.ok()) return Fault(kFaultInternal, "bid with an invalid provider address: " + prov.error().message);
  s.set(keys::Bid(b.order_id(), *prov), DeterministicSerialize(b));
  return {};
}
void Keeper::set_bid(store::KVStore& s, const BidRec& b) const {
  s.set(keys::Bid(b.pb.order_id(), b.provider), DeterministicSerialize(b.pb));
}
Result<std::vector<BidRec>> Keeper::bids(const store::KVReader& s, uint64_t order) const {
  std::vector<BidRec> out;
  DEPAI_TRY(for_each_bid_of(s, order, [&](const BidRec& b) {
    out.push_back(b);
    return true;
  }));
  return out;
}

Result<std::optional<LeaseRec>> Keeper::lease(const store::KVReader& s, uint64_t id) const {
  return Get<Lease, LeaseRec>(s, keys::Lease(id), "lease", &DecodeLease);
}
void Keeper::set_lease(store::KVStore& s, const Lease& l) const {
  s.set(keys::Lease(l.id()), DeterministicSerialize(l));
}

Result<std::optional<EscrowRec>> Keeper::escrow(const store::KVReader& s, uint64_t order) const {
  return Get<Escrow, EscrowRec>(s, keys::Escrow(order), "escrow", &DecodeEscrow);
}
void Keeper::set_escrow(store::KVStore& s, const Escrow& e) const {
  s.set(keys::Escrow(e.order_id()), DeterministicSerialize(e));
}
void Keeper::set_escrow(store::KVStore& s, const EscrowRec& e) const {
  Escrow pb = e.pb;
  ToProto(e.acc, &pb);
  set_escrow(s, pb);
}

Result<uint64_t> Keeper::last_id(const store::KVReader& s, std::string_view seq) const {
  auto v = s.get(keys::Seq(seq));
  if (!v) return uint64_t{0};
  return DecodeU64Record(*v, "market id sequence");
}
void Keeper::set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const {
  s.set(keys::Seq(seq), U64BE(id));
}

// ---- iterators ----------------------------------------------------------------------------

namespace {
// Loads each id's record through `get`; an index entry without its record is a fault.
template <typename Rec, typename GetFn>
Status ByIds(const std::vector<uint64_t>& ids, GetFn get, const char* what, const std::function<bool(const Rec&)>& fn) {
  for (uint64_t id : ids) {
    DEPAI_ASSIGN_OR_RETURN(std::optional<Rec> r, get(id));
    if (!r)
      return Fault(kFaultCorruptRecord, std::string("index entry for missing ") + what + " " + std::to_string(id));
    if (!fn(*r)) break;
  }
  return {};
}
}  // namespace

Status Keeper::for_each_order(const store::KVReader& s, const OrderFn& fn) const {
  return Walk<Order, OrderRec>(s, keys::kOrderPrefix, "order", &DecodeOrder, fn);
}
Status Keeper::for_each_open_order(const store::KVReader& s, const OrderFn& fn) const {
  DEPAI_ASSIGN_OR_RETURN(auto ids, IndexIds(s, std::string(keys::kOpenPrefix), "open order"));
  return ByIds<OrderRec>(
      ids, [&](uint64_t id) { return order(s, id); }, "order", fn);
}
Status Keeper::for_each_order_of(const store::KVReader& s, std::string_view owner20, const OrderFn& fn) const {
  DEPAI_ASSIGN_OR_RETURN(auto ids, IndexIds(s, keys::OrdersOf(owner20), "orders by owner"));
  return ByIds<OrderRec>(
      ids, [&](uint64_t id) { return order(s, id); }, "order", fn);
}
Status Keeper::for_each_bid(const store::KVReader& s, const BidFn& fn) const {
  return Walk<Bid, BidRec>(s, keys::kBidPrefix, "bid", &DecodeBid, fn);
}
Status Keeper::for_each_bid_of(const store::KVReader& s, uint64_t order, const BidFn& fn) const {
  return Walk<Bid, BidRec>(s, keys::BidsOf(order), "bid", &DecodeBid, fn);
}
Status Keeper::for_each_lease(const store::KVReader& s, const LeaseFn& fn) const {
  return Walk<Lease, LeaseRec>(s, keys::kLeasePrefix, "lease", &DecodeLease, fn);
}
Status Keeper::for_each_lease_of(const store::KVReader& s, std::string_view provider20, const LeaseFn& fn) const {
  DEPAI_ASSIGN_OR_RETURN(auto ids, IndexIds(s, keys::LeasesOf(provider20), "leases by provider"));
  return ByIds<LeaseRec>(
      ids, [&](uint64_t id) { return lease(s, id); }, "lease", fn);
}
Status Keeper::for_each_escrow(const store::KVReader& s, const EscrowFn& fn) const {
  return Walk<Escrow, EscrowRec>(s, keys::kEscrowPrefix, "escrow", &DecodeEscrow, fn);
}

// ---- indexes ------------------------------------------------------------------------------

void Keeper::index_open(store::KVStore& s, const Order& o, bool open) const {
  if (open) {
    s.set(keys::Open(o.id()), "");
    if (o.auto_select()) s.set(keys::Window(o.bid_window_end(), o.id()), "");
  } else {
    s.del(keys::Open(o.id()));
    s.del(keys::Window(o.bid_window_end(), o.id()));
  }
}
void Keeper::index_owner(store::KVStore& s, const OrderRec& o) const {
  s.set(keys::OwnerOrder(o.owner, o.pb.id()), "");
}
void Keeper::index_provider(store::KVStore& s, const LeaseRec& l) const {
  s.set(keys::ProviderLease(l.provider, l.pb.id()), "");
}
void Keeper::delete_bids(store::KVStore& s, uint64_t order) const {
  const std::string p = keys::BidsOf(order);
  std::vector<std::string> ks;
  s.iterate(p, store::PrefixEnd(p), [&](std::string_view k, std::string_view) {
    ks.emplace_back(k);
    return true;
  });
  for (const auto& k : ks) s.del(k);
}
void Keeper::set_sched(store::KVStore& s, int64_t height, SchedKind kind, uint64_t lease, bool on) const {
  if (on)
    s.set(keys::Sched(height, kind, lease), "");
  else
    s.del(keys::Sched(height, kind, lease));
}

Result<std::vector<Keeper::DueWindow>> Keeper::due_windows(const store::KVReader& s, int64_t h) const {
  std::vector<DueWindow> out;
  Status st;
  const size_t n = keys::kWindowPrefix.size();
  s.iterate(keys::kWindowPrefix, keys::WindowsBefore(h + 1), [&](std::string_view k, std::string_view) {
    if (k.size() != n + 16) {
      st = Fault(kFaultCorruptRecord, "malformed auto-select window index key");
      return false;
    }
    out.push_back(DueWindow{static_cast<int64_t>(GetU64BE(k.substr(n, 8))), GetU64BE(k.substr(n + 8, 8))});
    return true;
  });
  DEPAI_TRY(st);
  return out;
}

void Keeper::clear_window(store::KVStore& s, const DueWindow& w) const { s.del(keys::Window(w.height, w.order)); }

Result<std::vector<Keeper::DueEvent>> Keeper::due_events(const store::KVReader& s, int64_t h) const {
  std::vector<DueEvent> out;
  Status st;
  const size_t n = keys::kSchedPrefix.size();
  s.iterate(keys::kSchedPrefix, keys::SchedBefore(h + 1), [&](std::string_view k, std::string_view) {
    const uint8_t kind = k.size() == n + 17 ? static_cast<uint8_t>(k[n + 8]) : 0;
    if (kind < kSchedLowBalance || kind > kSchedGraceEnd) {
      st = Fault(kFaultCorruptRecord, "malformed escrow schedule index key");
      return false;
    }
    out.push_back(DueEvent{static_cast<int64_t>(GetU64BE(k.substr(n, 8))), static_cast<SchedKind>(kind),
                           GetU64BE(k.substr(n + 9, 8))});
    return true;
  });
  DEPAI_TRY(st);
  return out;
}

Status Keeper::rebuild_indexes(store::KVStore& s, int64_t from_height) const {
  DEPAI_ASSIGN_OR_RETURN(const ParamsRec p, params(s));
  std::vector<OrderRec> orders;
  DEPAI_TRY(for_each_order(s, [&](const OrderRec& o) {
    orders.push_back(o);
    return true;
  }));
  for (const auto& o : orders) {
    index_owner(s, o);
    if (o.pb.state() == ORDER_STATE_OPEN) index_open(s, o.pb, true);
  }
  std::vector<LeaseRec> leases;
  DEPAI_TRY(for_each_lease(s, [&](const LeaseRec& l) {
    leases.push_back(l);
    return true;
  }));
  const int64_t low = p.pb.low_balance_blocks();
  for (const auto& l : leases) {
    index_provider(s, l);
    if (l.pb.state() == LEASE_STATE_ACTIVE) {
      DEPAI_ASSIGN_OR_RETURN(auto e, escrow(s, l.pb.order_id()));
      if (!e) continue;
      const int64_t fu = FundedUntil(e->acc, l.rate);
      if (low > 0 && fu - low >= from_height) set_sched(s, fu - low, kSchedLowBalance, l.pb.id(), true);
      set_sched(s, fu, kSchedExhausted, l.pb.id(), true);
    } else if (l.pb.state() == LEASE_STATE_GRACE) {
      set_sched(s, l.pb.grace_until(), kSchedGraceEnd, l.pb.id(), true);
    }
  }
  return {};
}

}  // namespace depai::x::market
