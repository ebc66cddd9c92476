// The provider daemon (`depai provider run`). See doc/provider-operations.md.
//
// On Start() it registers the provider on chain (or updates its registration when the config
// changed), reconciles with the chain (its leases; the open orders it has not bid on) and then
// follows the chain's events from the height saved in its home:
//   market.order_created / order_reopened -> check eligibility (attributes, audits, region) and
//       free inventory (inventory minus open bids and held leases), price it, bid;
//   market.lease_created (for us)          -> hold the lease, wait for the manifest;
//   market.bid_lost / bid_closed / order_closed -> release the reservation;
//   market.lease_closed (for us)           -> stop the workload (files and results are kept).
// Housekeeping every tick: closes leases whose manifest did not come within
// manifest_timeout_blocks (MANIFEST_TIMEOUT), whose workload failed (WORKLOAD_FAILED) or, for
// batch jobs, finished (WORKLOAD_COMPLETED); withdraws earnings every withdraw_every_blocks;
// sends MsgProviderHeartbeat once per heartbeat window.
//
// Its HTTP endpoint (listen, 127.0.0.1 by default) takes the owner's manifest and serves status,
// logs and results, authenticated by the owner's signature (doc/deploy-spec.md).
// State (<home>/provider/state.json, atomic writes) and the workloads (<home>/provider/leases)
// survive restarts: running workloads are adopted, long-running services that died are restarted.
//
// Thread-safety: one loop thread, the HTTP threads and the runtime monitor share the state under
// a mutex; Start/Stop from one thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "provider/chain.h"
#include "provider/config.h"
#include "provider/runtime.h"
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

class Daemon {
 public:
  // `home` holds state.json and the leases' working directories.
  Daemon(ProviderConfig cfg, std::string home, crypto::KeyPair key);
  ~Daemon();
  Status Start();                            // registers, reconciles, starts the loop and the HTTP endpoint
  void Stop();                               // stops the loop and the endpoint; workloads keep running
  std::optional<std::string> fault() const;  // a fatal error of the loop, if any
  uint16_t port() const;
  const std::string& address() const { return chain_.address(); }

  // ---- used by the HTTP endpoint (src/provider/server.cpp) ----
  struct Reply {
    int status = 200;
    nlohmann::json body;
  };
  Reply AcceptManifest(uint64_t lease_id, const std::string& body);
  // Checks the X-Depai-* read signature against the lease's owner; nullopt when allowed.
  std::optional<Reply> CheckRead(uint64_t lease_id, const std::string& owner, const std::string& pubkey_b64,
                                 const std::string& time_ms, const std::string& sig_b64);
  Reply LeaseStatusJson(uint64_t lease_id);
  Reply ResultsJson(uint64_t lease_id);
  Reply Health();
  Runtime& runtime() { return *runtime_; }
  const HostSupport& host_support() const { return host_; }

 private:
  void Loop();
  Status Tick();
  Status Register();
  Status Reconcile();
  Status FollowEvents(int64_t latest);
  void ConsiderOrder(uint64_t order_id, int64_t height);
  void HoldLease(uint64_t lease_id, int64_t height);
  void Housekeeping(int64_t height);
  void CloseLease(HeldLease& l, const std::string& reason);
  Totals FreeResources() const;  // mu_ held
  Result<nlohmann::json> LeaseFromChain(uint64_t lease_id) const;
  void Save();  // mu_ held
  void Load();
  Limits LimitsFor(const HeldLease& l, const client::Manifest& m) const;
  Result<std::vector<uint32_t>> AssignGpus(HeldLease& l);  // mu_ held

  ProviderConfig cfg_;
  std::string home_;
  ChainClient chain_;
  std::string StateDir() const;  // leases' directories and the image cache (SandboxConfig::state_dir)
  Status CheckStateDir() const;  // searchable by lease uids (root daemons with the sandbox on)
  std::string state_dir_;
  HostSupport host_;  // what this host can enforce, probed at construction
  std::unique_ptr<ImageStore> images_;
  std::unique_ptr<ExecRuntime> runtime_;
  std::unique_ptr<class Endpoint> server_;

  mutable std::mutex mu_;
  int64_t next_height_ = 0;  // first height whose events are not yet processed
  int64_t last_heartbeat_window_ = -1;
  int64_t heartbeat_window_ = 10;
  int64_t latest_height_ = 0;
  std::map<uint64_t, OpenBid> bids_;      // by order id
  std::map<uint64_t, HeldLease> leases_;  // by lease id
  std::set<uint64_t> skipped_;            // orders we decided not to bid on
  std::thread loop_;
  std::atomic<bool> stop_{false};
  mutable std::mutex fault_mu_;
  std::optional<std::string> fault_;
};

}  // namespace depai::provider
