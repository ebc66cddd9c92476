// x/market keeper: orders, bids, leases and per-order escrow paid lazily per block.
//
// State (prefix "market/", key layout in x/market/keys.h): orders, bids, leases, escrows,
// params, id sequences and five indexes (open orders, auto-select windows, scheduled escrow
// events, leases by provider, orders by owner). Only this keeper touches "market/": queries,
// genesis and the random-message generator use the views and iterators below.
//
// Records decode once into typed structs (OrderRec, BidRec, LeaseRec, EscrowRec, ParamsRec) with
// their addresses and amounts parsed; views return Result, and a stored record that does not
// decode (bad protobuf, an amount or address field that does not parse, a malformed index key,
// an index entry without its record) is a fault (kFaultCorruptRecord), never an empty record or a
// zero. An empty amount string is the proto3 default and reads as 0.
//
// Each message has a check_* (read-only, const KVReader&: the check phase) and a write method
// (Context&: the apply phase) that assumes its check has just passed on the same state; a
// record the check saw that is missing in the write is a fault (kFaultInternal).
//
// Coins move only through BankKeeper::send with user_transfer = false; the escrow module account
// holds every escrow and bid deposit.
//
// Price denoms: an order is priced in udpai (Order.denom empty) or in ucredit. Its max price, its
// bids' prices, its lease's rate and its escrow are all in that denom; bid deposits are always
// udpai. A udpai lease pays the provider (withdrawable) and the take fee (treasury, checker pool)
// as today. A ucredit lease's payments (the provider's share and the take) are burned from the
// escrow module account as they settle: nothing becomes withdrawable, a withdraw pays nothing,
// and credits never leave the escrow except back to the order's owner (refund) or by burning.
// Every settlement or debt payment that pays > 0 calls the RevenueHook when one is set. Per-block work (end_block)
// touches only index entries due at the current height, so it does not grow with the number of open leases.
//
// Files: records.cpp (records, iterators, indexes, params), orders.cpp (orders and bids),
// leases.cpp (leases, escrow deposits, withdrawals, settlement and scheduling), end_block.cpp,
// invariants.cpp; the module's msg_server.cpp, genesis.cpp, query.cpp and sim.cpp use the keeper
// only. escrow.{h,cpp} and score.{h,cpp} are pure arithmetic. Not thread-safe.
#pragma once

#include <functional>
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
  kErrInvariant = 20,  // retired: an escrow invariant break is now Fault(kFaultInvariant)
  kErrBidNotOpen = 21,
  kErrWrongDenom = 22,   // a bid or deposit in a denom other than the order's
  kErrNotAttested = 23,  // an order with require_attested, a provider without an attested DID (x/identity)
};
inline Error MarketErr(Code c, std::string msg) { return Error{kCodespace, c, std::move(msg)}; }

inline constexpr const char* kDenom = "udpai";          // native; bid deposits, udpai orders
inline constexpr const char* kCreditDenom = "ucredit";  // credit-priced orders (burned as paid)

// The order/escrow/lease denom field as stored ("" = udpai) -> the denom; nullopt when it is
// neither udpai nor ucredit.
std::optional<std::string> PriceDenom(std::string_view field);

using depai::market::v1::Bid;
using depai::market::v1::CloseReason;
using depai::market::v1::Escrow;
using depai::market::v1::Lease;
using depai::market::v1::Order;
using depai::market::v1::Params;

// SHA-256("module:market_escrow")[:20] and SHA-256("module:treasury")[:20].
const Bytes& EscrowModuleAddress();
const Bytes& TreasuryAddress();
// SHA-256("module:checker_pool")[:20]: x/verify pays checkers from it.
const Bytes& CheckerPoolAddress();

Params DefaultParams();
Status ValidateParams(const Params& p);

enum SchedKind : uint8_t { kSchedLowBalance = 1, kSchedExhausted = 2, kSchedGraceEnd = 3 };

// The escrow amounts into the proto (the reverse is DecodeEscrow, which faults on a bad amount).
void ToProto(const EscrowAccount& a, Escrow* e);

// ---- typed records (records.cpp) ----
// A stored record decoded once: the proto plus its parsed addresses and amounts. Write methods
// change the proto's state fields; the parsed fields are the immutable ones (or kept in step).
struct ParamsRec {
  Params pb;
  Amount bid_deposit;
  Amount min_deposit;
};
struct OrderRec {
  Order pb;
  Bytes owner;  // 20 bytes
  Amount max_price;
  std::string denom;  // udpai or ucredit (pb.denom "" = udpai)
};
struct BidRec {
  Bid pb;
  Bytes provider;  // 20 bytes
  Amount price;
  Amount deposit;
};
struct LeaseRec {
  Lease pb;
  Bytes owner, provider;  // 20 bytes each
  Amount rate;            // price_per_block, in denom
  std::string denom;      // udpai or ucredit
};
struct EscrowRec {
  Escrow pb;          // order_id and owner; the amounts are written from acc
  EscrowAccount acc;  // the amounts, parsed
  std::string denom;  // udpai or ucredit: what balance, debt and withdrawable are in
  bool burns() const { return denom == kCreditDenom; }
};

// Decoders from the proto (genesis import validates with these; views use them after the
// protobuf parse). Errors are faults (kFaultCorruptRecord).
Result<ParamsRec> DecodeParams(Params pb);
Result<OrderRec> DecodeOrder(Order pb);
Result<BidRec> DecodeBid(Bid pb);
Result<LeaseRec> DecodeLease(Lease pb);
Result<EscrowRec> DecodeEscrow(Escrow pb);

// ---- parsed messages (msg_server.cpp validates into these once; check and write receive them) ----
struct CreateOrderParsed {
  Bytes signer;                                            // owner
  const depai::market::v1::MsgCreateOrder* msg = nullptr;  // groups, placement, flags (never null)
  Amount max_price;
  Amount deposit;
  std::string denom;  // udpai or ucredit (msg.denom "" = udpai)
};
struct CloseOrderParsed {
  Bytes signer;  // owner
  uint64_t order_id = 0;
};
struct CreateBidParsed {
  Bytes signer;  // provider
  uint64_t order_id = 0;
  Amount price;
  std::string denom;  // the price's denom; must be the order's
};
struct CloseBidParsed {
  Bytes signer;  // provider
  uint64_t order_id = 0;
};
struct CreateLeaseParsed {
  Bytes signer;  // owner
  uint64_t order_id = 0;
  Bytes provider;  // whose bid to accept
};
struct CloseLeaseParsed {
  Bytes signer;  // owner or provider
  uint64_t lease_id = 0;
  CloseReason reason = depai::market::v1::CLOSE_REASON_UNSPECIFIED;  // never INSUFFICIENT_FUNDS
};
struct DepositParsed {
  Bytes signer;  // depositor
  uint64_t order_id = 0;
  Amount amount;
  std::string denom;  // the amount's denom; must be the order's
};
struct WithdrawParsed {
  Bytes signer;  // provider
  uint64_t lease_id = 0;
};

class Keeper {
 public:
  Keeper(const ProviderKeeper* providers, const BankKeeper* bank) : providers_(providers), bank_(bank) {}

  // ---- records (records.cpp) ----
  // Params: DefaultParams() when none are stored.
  Result<ParamsRec> params(const store::KVReader& s) const;
  void set_params(store::KVStore& s, const Params& p) const;
  Result<std::optional<OrderRec>> order(const store::KVReader& s, uint64_t id) const;
  void set_order(store::KVStore& s, const Order& o) const;
  Result<std::optional<BidRec>> bid(const store::KVReader& s, uint64_t order, std::string_view provider20) const;
  // The key needs the provider's address: a bid whose provider does not parse is refused.
  Status set_bid(store::KVStore& s, const Bid& b) const;
  void set_bid(store::KVStore& s, const BidRec& b) const;
  Result<std::vector<BidRec>> bids(const store::KVReader& s, uint64_t order) const;
  Result<std::optional<LeaseRec>> lease(const store::KVReader& s, uint64_t id) const;
  void set_lease(store::KVStore& s, const Lease& l) const;
  Result<std::optional<EscrowRec>> escrow(const store::KVReader& s, uint64_t order) const;
  void set_escrow(store::KVStore& s, const Escrow& e) const;
  void set_escrow(store::KVStore& s, const EscrowRec& e) const;                    // amounts from e.acc
  Result<uint64_t> last_id(const store::KVReader& s, std::string_view seq) const;  // "order" / "lease"
  void set_last_id(store::KVStore& s, std::string_view seq, uint64_t id) const;

  // ---- iterators (records.cpp); fn returns false to stop; a record that does not decode stops
  // the walk with a fault ----
  using OrderFn = std::function<bool(const OrderRec&)>;
  using BidFn = std::function<bool(const BidRec&)>;
  using LeaseFn = std::function<bool(const LeaseRec&)>;
  using EscrowFn = std::function<bool(const EscrowRec&)>;
  Status for_each_order(const store::KVReader& s, const OrderFn& fn) const;       // id order
  Status for_each_open_order(const store::KVReader& s, const OrderFn& fn) const;  // id order
  Status for_each_order_of(const store::KVReader& s, std::string_view owner20, const OrderFn& fn) const;
  Status for_each_bid(const store::KVReader& s, const BidFn& fn) const;  // (order, provider) order
  Status for_each_bid_of(const store::KVReader& s, uint64_t order, const BidFn& fn) const;
  Status for_each_lease(const store::KVReader& s, const LeaseFn& fn) const;  // id order
  Status for_each_lease_of(const store::KVReader& s, std::string_view provider20, const LeaseFn& fn) const;
  Status for_each_escrow(const store::KVReader& s, const EscrowFn& fn) const;  // order id order

  // ---- message phases: check_* read state only; the write methods assume check passed ----
  Status check_create_order(const store::KVReader& s, const CreateOrderParsed& m) const;
  Result<uint64_t> create_order(Context& ctx, const CreateOrderParsed& m) const;
  Status check_close_order(const store::KVReader& s, const CloseOrderParsed& m) const;
  Status close_order(Context& ctx, const CloseOrderParsed& m) const;
  Status check_create_bid(const store::KVReader& s, const CreateBidParsed& m, int64_t height) const;
  Status create_bid(Context& ctx, const CreateBidParsed& m) const;
  Status check_close_bid(const store::KVReader& s, const CloseBidParsed& m) const;
  Status close_bid(Context& ctx, const CloseBidParsed& m) const;
  Status check_create_lease(const store::KVReader& s, const CreateLeaseParsed& m) const;
  Result<uint64_t> create_lease(Context& ctx, const CreateLeaseParsed& m) const;
  Status check_close_lease(const store::KVReader& s, const CloseLeaseParsed& m) const;
  Status close_lease(Context& ctx, const CloseLeaseParsed& m) const;
  Status check_deposit(const store::KVReader& s, const DepositParsed& m) const;
  Status deposit(Context& ctx, const DepositParsed& m) const;
  Status check_withdraw(const store::KVReader& s, const WithdrawParsed& m, int64_t height) const;
  Status withdraw(Context& ctx, const WithdrawParsed& m) const;

  // Closes an ACTIVE or GRACE lease with reason PROVIDER_UNSTABLE, as if its provider had (x/verify
  // after an SLA breach or a failed compute challenge); a closed lease is left alone.
  Status close_lease_unstable(Context& ctx, uint64_t lease_id) const;

  // Auto-selection for windows ending at this height, then the escrow events due now
  // (end_block.cpp). Errors here are faults (the caller halts the node).
  Status end_block(Context& ctx) const;

  // Error naming every gap, or ok.
  Status check_eligible(const store::KVReader& s, const OrderRec& o, std::string_view provider20) const;

  // The escrow as it would be after settling at `height` (read-only; for queries).
  EscrowAccount settled_view(const ParamsRec& p, const LeaseRec& l, const EscrowRec& e, int64_t height) const;

  // ---- invariants (invariants.cpp); a break is Fault(kFaultInvariant) ----
  // Escrow module account balance == sum(balance + withdrawable) + deposits of OPEN and WON bids.
  Status check_invariants_full(const store::KVReader& s) const;
  // The same, from one block's writes only.
  Status check_invariants_block(const store::CacheStore& block, const store::KVReader& committed) const;

  // Rebuilds every index (open, window, sched, plx, olx) from the records; genesis import.
  Status rebuild_indexes(store::KVStore& s, int64_t from_height) const;

  const ProviderKeeper* providers() const { return providers_; }
  const BankKeeper* bank() const { return bank_; }
  // Called on every settlement or debt payment that pays > 0 (null: none). Set once by the App.
  void set_revenue_hook(const RevenueHook* h) { hook_ = h; }
  const RevenueHook* revenue_hook() const { return hook_; }
  // x/identity's attestation view (null: none). Set once by the App.
  void set_identity(const IdentityKeeper* i) { identity_ = i; }
  // An order with require_attested refuses a provider without an attested DID (kErrNotAttested).
  Status check_attested(const store::KVReader& s, const OrderRec& o, std::string_view provider20) const;

 private:
  Status send_from_escrow(Context& ctx, std::string_view to, Amount a, std::string_view denom = kDenom) const;
  // A payment of a lease: udpai take to the treasury and pool (the provider's share stays
  // withdrawable); ucredit share and take burned from the escrow account. Then the hook.
  Status paid(Context& ctx, const ParamsRec& p, const LeaseRec& l, EscrowRec& e, const Payout& po) const;
  // The take fee of a payout: params.checker_pool_bps of it to the checker pool, the rest to the treasury.
  Status pay_take(Context& ctx, const ParamsRec& p, Amount take) const;
  Status settle(Context& ctx, const ParamsRec& p, const LeaseRec& l, EscrowRec& e, int64_t h) const;
  void unschedule(store::KVStore& s, const LeaseRec& l, const EscrowRec& e, const ParamsRec& p) const;
  // Writes schedule entries for an ACTIVE lease settled at `now`; may move it to GRACE.
  void schedule(Context& ctx, LeaseRec& l, const EscrowRec& e, const ParamsRec& p, int64_t now) const;
  Result<uint64_t> open_lease(Context& ctx, OrderRec& o, BidRec& winner) const;
  Status finish_lease(Context& ctx, LeaseRec& l, CloseReason reason, bool by_provider) const;
  Status refund_bids(Context& ctx, uint64_t order_id, const std::string& except_provider20,
                     depai::market::v1::BidState new_state) const;
  Status close_order_refund(Context& ctx, OrderRec& o, const char* why) const;
  Status reopen_order(Context& ctx, OrderRec& o) const;
  Status auto_select(Context& ctx, uint64_t order_id, int64_t window_end) const;
  // Index entries (records.cpp).
  void index_open(store::KVStore& s, const Order& o, bool open) const;  // open + window entries
  void index_owner(store::KVStore& s, const OrderRec& o) const;
  void index_provider(store::KVStore& s, const LeaseRec& l) const;
  void delete_bids(store::KVStore& s, uint64_t order) const;
  void set_sched(store::KVStore& s, int64_t height, SchedKind kind, uint64_t lease, bool on) const;
  struct DueWindow {
    int64_t height;
    uint64_t order;
  };
  struct DueEvent {
    int64_t height;
    SchedKind kind;
    uint64_t lease;
  };
  // Index entries with a height <= h, in key order.
  Result<std::vector<DueWindow>> due_windows(const store::KVReader& s, int64_t h) const;
  Result<std::vector<DueEvent>> due_events(const store::KVReader& s, int64_t h) const;
  void clear_window(store::KVStore& s, const DueWindow& w) const;

  const ProviderKeeper* providers_;
  const BankKeeper* bank_;
  const RevenueHook* hook_ = nullptr;
  const IdentityKeeper* identity_ = nullptr;
};

std::string ReasonName(CloseReason r);
// A reason a provider may give to close its lease.
bool ProviderReason(CloseReason r);

}  // namespace depai::x::market
