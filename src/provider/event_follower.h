// The provider daemon's event follower: reads the chain's events from the first height not yet
// processed and hands the market's to the bidder and the lease manager.
//
// Contract of Follow(latest, stop): pages through /events from SharedState's next_height up to
// `latest`; per event, in block order:
//   market.order_created                      -> Bidder::ConsiderOrder
//   market.order_reopened                     -> Bidder::OrderReopened, then ConsiderOrder
//   market.lease_created   (provider is us)   -> LeaseManager::Hold (which checks the chain again)
//   market.bid_lost / bid_closed (us)         -> Bidder::Release
//   market.order_closed / order_no_bids       -> Bidder::Release
//   market.lease_closed    (provider is us)   -> LeaseManager::OnLeaseClosed
//   market.escrow_low_balance / escrow_exhausted (us) -> a warning in the log
//   verify.*                                  -> ChallengeResponder::OnEvent (when one is set), which
//                                                queues its work for its own thread
// Events of other modules and of other providers are ignored. After each page next_height moves
// past it and the state is saved, so a restart resumes after the last page processed. A query
// error stops the pass and is returned (the next tick retries from the same height).
// Thread-safety: one thread (the daemon's loop); takes SharedState::mu itself.
#pragma once

#include <atomic>
#include <cstdint>

#include "client/chain_client.h"
#include "provider/bidder.h"
#include "provider/challenge_responder.h"
#include "provider/lease_manager.h"
#include "provider/state_store.h"

namespace depai::provider {

class EventFollower {
 public:
  EventFollower(client::ChainClient& chain, SharedState& shared, Bidder& bidder, LeaseManager& leases,
                ChallengeResponder* verify = nullptr)
      : chain_(chain), shared_(shared), bidder_(bidder), leases_(leases), verify_(verify) {}
  Status Follow(int64_t latest, const std::atomic<bool>& stop);
  void Handle(const client::ChainEvent& e, int64_t latest);  // one event (exposed for tests)

 private:
  client::ChainClient& chain_;
  SharedState& shared_;
  Bidder& bidder_;
  LeaseManager& leases_;
  ChallengeResponder* verify_;
};

}  // namespace depai::provider
