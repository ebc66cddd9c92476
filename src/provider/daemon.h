// The provider daemon (`depai provider run`). See doc/provider-operations.md.
//
// A thin composition of its parts, each with its own contract:
//   state_store    <home>/provider/state.json (atomic writes) and the lock the parts share;
//   registrar      registers the provider on chain, or updates its registration from the config;
//   bidder         eligibility (x/market's Gaps), free inventory, pricing, MsgCreateBid;
//   lease_manager  held leases, manifest deadlines, closing leases, withdrawals, heartbeats, GPU
//                  assignment, starting and stopping workloads through the Runtime;
//   event_follower follows the chain's /events from the saved height into the bidder, the leases
//                  and the challenge responder;
//   challenge_responder answers x/verify's compute challenges on its own thread (prove, commit,
//                  serve row openings, dispute, appeal; <home>/provider/verify);
//   handlers       the HTTP handlers of the endpoint (src/provider/server.cpp).
// Start(): checks the sandbox, registers, reconciles with the chain (its leases; the open orders
// it has not bid on), starts the runtime monitor, the endpoint and the loop. The loop, every
// poll_interval_ms: asks the latest height, follows the events up to it, runs the lease
// manager's housekeeping. The chain is reached through a client::ChainClient (HttpChainClient on
// the config's node). State and the workloads (<state_dir>/leases) survive restarts: running
// workloads are adopted, long-running services that died are restarted.
//
// Thread-safety: one loop thread, the HTTP threads and the runtime monitor share the state under
// SharedState::mu; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/chain_client.h"
#include "provider/bidder.h"
#include "provider/challenge_responder.h"
#include "provider/config.h"
#include "provider/event_follower.h"
#include "provider/handlers.h"
#include "provider/lease_manager.h"
#include "provider/registrar.h"
#include "provider/runtime.h"
#include "provider/state_store.h"
#include "util/result.h"

namespace depai::provider {

class Daemon {
 public:
  // `home` holds state.json and the leases' working directories.
  Daemon(ProviderConfig cfg, std::string home, crypto::KeyPair key);
  ~Daemon();
  Status Start();                            // registers, reconciles, starts the loop and the HTTP endpoint
  void Stop();                               // stops the loop and the endpoint; workloads keep running
  std::optional<std::string> fault() const;  // a fatal error of the loop, if any
  uint16_t port() const;
  const std::string& address() const { return chain_->address(); }
  Handlers& handlers() { return *handlers_; }
  Runtime& runtime() { return *runtime_; }
  const HostSupport& host_support() const { return host_; }

 private:
  void Loop();
  Status Tick();
  Status Reconcile();
  std::string StateDir() const;  // leases' directories and the image cache (SandboxConfig::state_dir)
  Status CheckStateDir() const;  // searchable by lease uids (root daemons with the sandbox on)

  ProviderConfig cfg_;
  std::string home_;
  std::unique_ptr<client::ChainClient> chain_;
  std::string state_dir_;
  HostSupport host_;  // what this host can enforce, probed at construction
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<ExecRuntime> runtime_;
  std::unique_ptr<SharedState> shared_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<Bidder> bidder_;
  std::unique_ptr<LeaseManager> leases_;
  std::unique_ptr<ChallengeResponder> verify_;
  std::unique_ptr<EventFollower> follower_;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<class Endpoint> server_;

  std::thread loop_;
  std::atomic<bool> stop_{false};
  mutable std::mutex fault_mu_;
  std::optional<std::string> fault_;
};

}  // namespace depai::provider
