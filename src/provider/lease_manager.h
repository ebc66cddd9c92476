// The provider daemon's lease manager: the leases we hold, from the chain's lease_created to
// lease_closed, and the workloads that serve them (through a Runtime).
//
// Contract:
//   - Hold(lease, height) reads the lease and its order from the chain and holds it only when the
//     chain says the provider is us (an event or a caller naming another provider's lease changes
//     nothing); the reservation of its order's bid becomes the lease's; the manifest is due by
//     max(start_height, height) + manifest_timeout_blocks.
//   - AcceptManifest(lease, ...) is the state side of a manifest the HTTP handler has already
//     authenticated: it refuses a manifest whose hash is not the order's (kErrManifestHash),
//     assigns GPU devices, stores the manifest under <home>/provider/manifests and starts the
//     workload; a workload that cannot start marks the lease to be closed WORKLOAD_FAILED.
//   - Housekeeping(height), once per tick: closes (MsgCloseLease) leases whose manifest did not
//     come by the deadline (MANIFEST_TIMEOUT), whose workload failed (WORKLOAD_FAILED) or, with
//     close_completed, succeeded (WORKLOAD_COMPLETED), and those the HTTP side marked; withdraws
//     earnings of each running lease every withdraw_every_blocks; sends one MsgProviderHeartbeat
//     per heartbeat window (x/provider params). A close or withdraw rejected as
//     (market, kErrLeaseClosed) marks the lease closed; a heartbeat rejected as
//     (provider, kErrHeartbeatWindow) is not an error.
//   - OnLeaseClosed(lease, reason) (the chain's lease_closed for us) marks it closed and stops
//     its workload; files and results are kept.
//   - Reconcile(height) at start: holds the chain's open leases for us that state.json lacks and
//     marks closed those the chain closed while we were down.
// Thread-safety: Hold, Reconcile, OnLeaseClosed and Housekeeping from the daemon's loop (or Start);
// AcceptManifest from HTTP threads. Shared state under SharedState::mu, which callers must not hold.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/chain_client.h"
#include "client/deploy_spec.h"
#include "provider/config.h"
#include "provider/runtime.h"
#include "provider/state_store.h"

namespace depai::provider {

// Errors of the provider endpoint and its lease manager (codespace "providerd").
inline constexpr const char* kProviderdCodespace = "providerd";
enum ProviderdCode : uint32_t {
  kErrBadRequest = 2,
  kErrUnauthenticated = 3,
  kErrLeaseNotHeld = 4,
  kErrLeaseIsClosed = 5,
  kErrForbidden = 6,
  kErrUnavailable = 7,  // try again (the lease is not known yet, the chain is unreachable, ...)
  kErrManifestHash = 8,
  kErrBadManifest = 9,
  kErrCannotStart = 10,
};

class LeaseManager {
 public:
  // `manifest_dir`: where accepted manifests are kept (<home>/provider/manifests).
  LeaseManager(const ProviderConfig& cfg, client::ChainClient& chain, SharedState& shared, Runtime& runtime,
               std::string manifest_dir)
      : cfg_(cfg), chain_(chain), shared_(shared), runtime_(runtime), manifest_dir_(std::move(manifest_dir)) {}

  void Hold(uint64_t lease_id, int64_t height);
  Status Reconcile(int64_t height);
  void OnLeaseClosed(uint64_t lease_id, const std::string& reason, int64_t height);
  void Housekeeping(int64_t height);

  // true: started now; false: the manifest had been received before (nothing done).
  Result<bool> AcceptManifest(uint64_t lease_id, int64_t start_height, const nlohmann::json& manifest_json,
                              const client::Manifest& m);

  // The limits a lease's workload runs under (its resources, the config's defaults).
  Limits LimitsFor(const HeldLease& l, const client::Manifest& m) const;

 private:
  void CloseLease(uint64_t lease_id, const std::string& reason);
  Result<std::vector<uint32_t>> AssignGpus(HeldLease& l);  // SharedState::mu held

  const ProviderConfig& cfg_;
  client::ChainClient& chain_;
  SharedState& shared_;
  Runtime& runtime_;
  std::string manifest_dir_;
};

}  // namespace depai::provider
