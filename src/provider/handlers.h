// The provider daemon's HTTP handlers, called by the endpoint (src/provider/server.cpp) for its
// routes; each returns the status and JSON body to send (errors: {code, codespace "providerd",
// message}, codes in lease_manager.h).
//
// Contract:
//   - AcceptManifest: the body is {manifest, owner, pubkey, signature}; the lease must be ours and
//     open on chain, the pubkey must be the lease owner's and sign
//     "depai-manifest/v1\n<chain_id>\n<lease>\n<manifest sha256 hex>", and the manifest's hash must
//     be the order's manifest_hash; then LeaseManager::AcceptManifest starts the workload.
//   - CheckRead: the owner's X-Depai-* read signature (time within client::kReadAuthWindowMs of
//     our clock) for a lease held here; nullopt when the read is allowed.
//   - LeaseStatusJson / ResultsJson / Health: views of the shared state and the runtime (Health
//     also shows the challenge responder's status under "verify" when one is set).
//   - VerifyRow: a row opening of a compute challenge (ChallengeResponder::Opening); 404 when the
//     challenge or row is unknown here, 503 without a responder.
// Thread-safety: any method from any HTTP thread (SharedState::mu is taken inside).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "client/chain_client.h"
#include "provider/challenge_responder.h"
#include "provider/config.h"
#include "provider/lease_manager.h"
#include "provider/runtime.h"
#include "provider/sandbox.h"
#include "provider/state_store.h"

namespace depai::provider {

struct Reply {
  int status = 200;
  nlohmann::json body;
};
Reply ErrorReply(int status, uint32_t code, const std::string& message);

class Handlers {
 public:
  Handlers(const ProviderConfig& cfg, client::ChainClient& chain, SharedState& shared, LeaseManager& leases,
           Runtime& runtime, const HostSupport& host, std::string state_dir)
      : cfg_(cfg),
        chain_(chain),
        shared_(shared),
        leases_(leases),
        runtime_(runtime),
        host_(host),
        state_dir_(std::move(state_dir)) {}

  Reply AcceptManifest(uint64_t lease_id, const std::string& body);
  std::optional<Reply> CheckRead(uint64_t lease_id, const std::string& owner, const std::string& pubkey_b64,
                                 const std::string& time_ms, const std::string& sig_b64);
  Reply LeaseStatusJson(uint64_t lease_id);
  Reply ResultsJson(uint64_t lease_id);
  Reply Health();
  Reply VerifyRow(uint64_t challenge_id, uint32_t index);
  Runtime& runtime() { return runtime_; }
  void set_verify(ChallengeResponder* v) { verify_ = v; }

 private:
  const ProviderConfig& cfg_;
  client::ChainClient& chain_;
  SharedState& shared_;
  LeaseManager& leases_;
  Runtime& runtime_;
  const HostSupport& host_;
  std::string state_dir_;
  ChallengeResponder* verify_ = nullptr;
};

}  // namespace depai::provider
