// x/market keeper: orders, bids, leases and per-order escrow paid lazily per block.
//
// State (prefix "market/", ids and heights u64 big-endian):
//   market/order/<id>                  Order
//   market/bid/<order><provider20>     Bid
//   market/lease/<id>                  Lease
//   market/escrow/<order>              Escrow
//   market/params                      Params
//   market/seq/order, market/seq/lease last assigned id
//   market/open/<order>                open orders
//   market/window/<bid_window_end><order>        auto-select orders by window end
//   market/sched/<height><kind><lease>           scheduled escrow events (kind: 1 low balance,
//                                                2 exhausted, 3 grace end)
//   market/plx/<provider20><lease>     leases by provider (all states)
//   market/olx/<owner20><order>        orders by owner
// Only this keeper touches "market/". Coins move only through BankKeeper::send with
// user_transfer = false; the escrow module account holds every escrow and bid deposit.
// Per-block work (end_block) touches only index entries due at the current height, so it does
// not grow with the number of open leases. Not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "depai/market/v1/market.pb.h"
#include "store/cache_store.h"
#include "x/market/escrow.h"
#include "x/market/expected_keepers.h"
#include "x/types/context.h"

namespace depai::x::market {

inline constexpr const char* kCodespace = "market";
enum Code : uint32_t {
  kErrInvalidOrder = 2,  // malformed MsgCreateOrder fields
  kErrOrderNotFound = 3,
  kErrOrderNotOpen = 4,  // bids and leases need an OPEN order
  kErrBidWindowClosed = 5,
  kErrPriceTooHigh = 6,  // bid above the order's max price
  kErrTooManyBids = 7,
  kErrDuplicateBid = 8,
  kErrProviderNotFound = 9,
  kErrProviderIneligible = 10,  // the message names every gap
  kErrBidNotFound = 11,
  kErrLeaseNotFound = 12,
  kErrLeaseClosed = 13,
  kErrUnauthorized = 14,   // not the order owner / lease provider
  kErrInvalidReason = 15,  // close reason not allowed for this sender
  kErrDepositTooSmall = 16,
  kErrNothingToWithdraw = 17,
  kErrInsufficientEscrow = 18,  // the escrow does not fund one block at the bid's price
  kErrOrderClosed = 19,
  kErrInvariant = 20,  // escrow invariant broken (node fault)
  kErrBidNotOpen = 21,
};
inline Error MarketErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

inline constexpr const char* kDenom = "udpai";

using depai::market::v1::Bid;
using depai::market::v1::CloseReason;
using depai::market::v1::Escrow;
using depai::market::v1::Lease;
using depai::market::v1::Order;
using depai::market::v1::Params;

// SHA-256("module:market_escrow")[:20] and SHA-256("module:treasury")[:20].
const Bytes& EscrowModuleAddress();
const Bytes& TreasuryAddress();

Params DefaultParams();
Status ValidateParams(const Params& p);

enum SchedKind : uint8_t { kSchedLowBalance = 1, kSchedExhausted = 2, kSchedGraceEnd = 3 };

// Keys (exposed for tests, genesis and the benchmark).
std::string OrderKey(uint64_t id);
std::string BidKey(uint64_t order, std::string_view provider20);
std::string LeaseKey(uint64_t id);
std::string EscrowKey(uint64_t order);
std::string SchedKey(int64_t height, SchedKind kind, uint64_t lease);
std::string WindowKey(int64_t height, uint64_t order);

EscrowAccount FromProto(const Escrow& e);
void ToProto(const EscrowAccount& a, Escrow* e);

class Keeper {
 public:
  Keeper(const ProviderKeeper* providers, const BankKeeper* bank) : providers_(providers), bank_(bank) {}

  // ---- records ----
  Params params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  std::optional<Order> order(const store::KVReader& s, uint64_t id) const;
  void set_order(store::KVStore& s, const Order& o) const;
  std::optional<Bid> bid(const store::KVReader& s, uint64_t order, std::string_view provider20) const;
  void set_bid(store::KVStore& s, const Bid& b) const;
  std::vector<Bid> bids(const store::KVReader& s, uint64_t order) const;
  std::optional<Lease> lease(const store::KVReader& s, uint64_t id) const;
  void set_lease(store::KVStore& s, const Lease& l) const;
  std::optional<Escrow> escrow(const store::KVReader& s, uint64_t order) const;
  void set_escrow(store::KVStore& s, const Escrow& e) const;
  uint64_t last_id(const store::KVReader& s, std::string_view seq) const;  // "order" / "lease"
  void set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const;

  // ---- message phases: check_* read state only; the actions re-check and then write ----
  Status check_create_order(const store::KVReader& s, const depai::market::v1::MsgCreateOrder& m) const;
  Result<uint64_t> create_order(Context& ctx, const depai::market::v1::MsgCreateOrder& m) const;
  Status check_close_order(const store::KVReader& s, std::string_view owner20, uint64_t order_id) const;
  Status close_order(Context& ctx, std::string_view owner20, uint64_t order_id) const;
  Status check_create_bid(const store::KVReader& s, std::string_view provider20, uint64_t order_id, Amount price,
                          int64_t height) const;
  Status create_bid(Context& ctx, std::string_view provider20, uint64_t order_id, Amount price) const;
  Status check_close_bid(const store::KVReader& s, std::string_view provider20, uint64_t order_id) const;
  Status close_bid(Context& ctx, std::string_view provider20, uint64_t order_id) const;
  Status check_create_lease(const store::KVReader& s, std::string_view owner20, uint64_t order_id,
                            std::string_view provider20) const;
  Result<uint64_t> create_lease(Context& ctx, std::string_view owner20, uint64_t order_id,
                                std::string_view provider20) const;
  Status check_close_lease(const store::KVReader& s, std::string_view sender20, uint64_t lease_id,
                           CloseReason reason) const;
  Status close_lease(Context& ctx, std::string_view sender20, uint64_t lease_id, CloseReason reason) const;
  Status check_deposit(const store::KVReader& s, std::string_view depositor20, uint64_t order_id, Amount amount) const;
  Status deposit(Context& ctx, std::string_view depositor20, uint64_t order_id, Amount amount) const;
  Status check_withdraw(const store::KVReader& s, std::string_view provider20, uint64_t lease_id, int64_t height) const;
  Status withdraw(Context& ctx, std::string_view provider20, uint64_t lease_id) const;

  // Auto-selection for windows ending at this height, then the escrow events due now.
  // Errors here are faults (the caller halts the node).
  Status end_block(Context& ctx) const;

  // Error naming every gap, or ok.
  Status check_eligible(const store::KVReader& s, const Order& o, std::string_view provider20) const;

  // The escrow as it would be after settling at `height` (read-only; for queries).
  EscrowAccount settled_view(const store::KVReader& s, const Lease& l, const Escrow& e, int64_t height) const;

  // Escrow module account balance == sum(balance + withdrawable) + deposits of OPEN and WON bids.
  Status check_invariants_full(const store::KVReader& s) const;
  // The same, from one block's writes only.
  Status check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const;

  // Rebuilds every index (open, window, sched, plx, olx) from the records; genesis import.
  void rebuild_indexes(store::KVStore& s, int64_t from_height) const;

  const ProviderKeeper* providers() const { return providers_; }
  const BankKeeper* bank() const { return bank_; }

 private:
  Status send_from_escrow(Context& ctx, std::string_view to, Amount a) const;
  Status settle(Context& ctx, const Lease& l, Escrow& e, int64_t h) const;
  void unschedule(store::KVStore& s, const Lease& l, const Escrow& e, const Params& p) const;
  // Writes schedule entries for an ACTIVE lease settled at `now`; may move it to GRACE.
  void schedule(Context& ctx, Lease& l, const Escrow& e, const Params& p, int64_t now) const;
  Result<uint64_t> open_lease(Context& ctx, Order& o, Bid& winner) const;
  Status finish_lease(Context& ctx, Lease& l, CloseReason reason, bool by_provider) const;
  Status refund_bids(Context& ctx, uint64_t order_id, const std::string& except_provider20,
                     depai::market::v1::BidState new_state) const;
  Status close_order_refund(Context& ctx, Order& o, const char* why) const;
  void reopen_order(Context& ctx, Order& o) const;
  Status auto_select(Context& ctx, uint64_t order_id, int64_t window_end) const;

  const ProviderKeeper* providers_;
  const BankKeeper* bank_;
};

std::string ReasonName(CloseReason r);

}  // namespace depai::x::market
