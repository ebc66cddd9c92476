// The provider daemon's persistent state (<home>/provider/state.json) and the lock its components
// share.
//
// Contract: DaemonState is what survives a restart: the first height whose events are not yet
// processed, the last heartbeat window, the open bids (by order id), the held leases (by lease id)
// and the orders we decided not to bid on. StateStore::Load reads it back for one provider
// address: a missing, unreadable or foreign file (another provider's) gives a fresh state, logged,
// never an error. Save writes it atomically (a reader never sees half a file).
// SharedState is the state plus the mutex that guards it, shared by the bidder, the lease
// manager, the event follower and the HTTP handlers; Save() must be called with `mu` held.
// Thread-safety: StateStore is stateless beyond its path (safe from any thread; one writer at a
// time, which SharedState's mutex gives); DaemonState is guarded by SharedState::mu.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "provider/config.h"
#include "util/result.h"

namespace depai::provider {

struct HeldLease {
  uint64_t id = 0, order_id = 0;
  std::string owner;
  uint64_t price = 0;
  int64_t start_height = 0;
  Totals resources;
  std::string manifest_hash;  // hex, from the order
  bool manifest_received = false;
  int64_t manifest_deadline = 0;  // height
  bool closed = false;            // closed on chain
  std::string close_reason;       // as the chain said, or the one we sent
  std::string pending_close;      // a reason we must send (set by the HTTP side, sent by the loop)
  int64_t last_withdraw_height = 0;
  std::string workload_error;
  std::vector<uint32_t> gpus;  // host GPU indices assigned when the manifest came (kept across restarts)
};

struct OpenBid {
  uint64_t order_id = 0;
  uint64_t price = 0;
  int64_t height = 0;
  Totals resources;
};

struct DaemonState {
  int64_t next_height = 0;  // first height whose events are not yet processed (0: never started)
  int64_t last_heartbeat_window = -1;
  std::map<uint64_t, OpenBid> bids;      // by order id
  std::map<uint64_t, HeldLease> leases;  // by lease id
  std::set<uint64_t> skipped;            // orders we decided not to bid on
};

class StateStore {
 public:
  StateStore(std::string path, std::string provider_address);
  const std::string& path() const { return path_; }
  DaemonState Load() const;
  Status Save(const DaemonState& s) const;

 private:
  std::string path_;
  std::string provider_;
};

struct SharedState {
  explicit SharedState(StateStore s) : store(std::move(s)), st(store.Load()) {}
  std::mutex mu;
  StateStore store;
  DaemonState st;                 // guarded by mu
  int64_t latest_height = 0;      // guarded by mu: the chain's height at the last tick
  int64_t heartbeat_window = 10;  // guarded by mu: x/provider params
  void Save();                    // mu held; a failure is logged (the next save retries)
};

}  // namespace depai::provider
