// The provider daemon's bidder: decides whether to bid on an order, prices it and sends
// MsgCreateBid; keeps the reservation (an OpenBid in SharedState) until the bid is lost, closed or
// becomes a lease.
//
// Contract of ConsiderOrder(order, height):
//   - an order already bid on or skipped (SharedState) is not looked at again (no double bid,
//     also after a restart: the state store keeps both sets); a bid of ours the chain already has
//     (OPEN or WON, e.g. state.json was lost) is adopted as our reservation, not repeated;
//   - an order that is not OPEN is ignored; one whose bid window has ended is skipped;
//   - eligibility is x/market's own Gaps() (attributes, audits, region, distance, total resources)
//     on our typed provider record and audits as the chain has them; any gap skips the order;
//   - the order's totals must fit the free inventory: config inventory minus open bids minus
//     resources of held leases that are not closed;
//   - the price is the price script's or the rule's; above the order's max it skips;
//   - a bid the chain rejects as (market, kErrDuplicateBid) is adopted as ours; one rejected as
//     (market, kErrOrderNotOpen | kErrBidWindowClosed | kErrOrderClosed) or with any other error
//     is skipped (logged with the chain's codespace and code).
// Release() drops a reservation (bid_lost, bid_closed, order_closed, order_no_bids);
// OrderReopened() forgets both the reservation and a skip so the order is considered afresh.
// Thread-safety: call from one thread (the daemon's loop, or Start before it); the shared state is
// taken under SharedState::mu, which must not be held by the caller.
#pragma once

#include <cstdint>
#include <string>

#include "client/chain_client.h"
#include "provider/config.h"
#include "provider/state_store.h"

namespace depai::provider {

// Config inventory minus open bids and the leases that are not closed (SharedState::mu held).
Totals FreeResources(const ProviderConfig& cfg, const DaemonState& st);

class Bidder {
 public:
  Bidder(const ProviderConfig& cfg, client::ChainClient& chain, SharedState& shared)
      : cfg_(cfg), chain_(chain), shared_(shared) {}
  void ConsiderOrder(uint64_t order_id, int64_t height);
  // Every open order (at start: also those created while the daemon was down).
  Status ConsiderOpenOrders(int64_t height);
  void Release(uint64_t order_id, const std::string& why);
  void OrderReopened(uint64_t order_id);

 private:
  void Skip(uint64_t order_id, const std::string& why);
  void Reserve(uint64_t order_id, uint64_t price, int64_t height, const Totals& need);
  const ProviderConfig& cfg_;
  client::ChainClient& chain_;
  SharedState& shared_;
};

}  // namespace depai::provider
