// The checker daemon (`depai checker run`): runs the x/verify challenges whose quorum contains
// its key and posts MsgAttest. See doc/checker-operations.md.
//
// Contract:
//   - Follows the chain's /events from the saved height (first start: [checker] start_height, or
//     the latest height; every start also adopts the open challenges the chain lists for us).
//     verify.challenge_created with us in the quorum -> an assignment; verify.root_committed ->
//     its compute check becomes due; verify.verdict -> the assignment is over.
//   - Compute: for each sampled row (the challenge as the chain has it: seed, n, root,
//     sample_rows) GET {endpoint}/verify/v1/challenges/{id}/rows/{i}, VerifyProof against the
//     on-chain root, then proof::Freivalds with r from 32 fresh random bytes (rounds: config or
//     params). The first failing row fails the attestation: REASON_OPENING_MISSING (not served
//     after fetch_attempts), REASON_BAD_PROOF (wrong n/index, bad row bytes or a Merkle path that
//     does not verify) or REASON_FREIVALDS ("row 1822 fails Freivalds"), with failing_row.
//   - Liveness: at a height drawn uniformly from [probe_from, probe_to] (drawn once, persisted)
//     GET {endpoint}/health with probe_timeout_ms; answered = HTTP 200; pass = answered and
//     latency <= max_latency_ms (config, else params.max_latency_ms); REASON_OFFLINE /
//     REASON_LATENCY otherwise.
//   - At most one MsgAttest per challenge, also across kill -9: the challenge id is recorded as
//     attested in <dir>/state.json (atomic write, fsync) before the broadcast. A broadcast that
//     fails in transport (codespace client/http) is retried on the next tick; a chain rejection
//     is logged and not retried. An assignment past its attest_deadline is dropped as missed.
//   - state.json also holds the next height, the open assignments and the last 50 attestations;
//     StatusJson() / ReadStatus(dir) show them (`depai checker status`).
// Thread-safety: Tick and Handle from one thread (the daemon's loop); StatusJson from any thread
// (a mutex guards the state). CheckerDaemon: Start/Stop from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "checker/config.h"
#include "client/chain_client.h"
#include "client/http_client.h"
#include "client/verify_msgs.h"
#include "crypto/ed25519.h"
#include "util/result.h"

namespace depai::checker {

// GET base+path with a timeout (default: client::HttpRequest).
using HttpGet =
    std::function<Result<client::HttpResponse>(const std::string& base, const std::string& path, int timeout_ms)>;

struct Assignment {
  uint64_t id = 0;
  std::string kind;  // "compute" | "liveness"
  std::string provider, endpoint;
  Bytes seed;
  uint32_t n = 0;
  int64_t created_height = 0, deadline_height = 0, attest_deadline = 0, probe_from = 0, probe_to = 0;
  int64_t probe_height = 0;  // liveness: drawn once in [probe_from, probe_to]
  bool root_seen = false;    // compute: verify.root_committed came
};

struct CheckerState {
  int64_t next_height = 0;  // first height whose events are not processed (0: never started)
  std::map<uint64_t, Assignment> pending;
  std::set<uint64_t> attested;
  std::deque<nlohmann::json> recent;  // the last 50 attestations (and misses)
  uint64_t attestations = 0, passes = 0, fails = 0, missed = 0;
  std::string last_error;
};

// The verdict a checker reaches on one challenge, before it is posted.
struct Outcome {
  bool pass = false;
  depai::verify::v1::ReasonCode reason_code = depai::verify::v1::REASON_OK;
  std::string reason;
  uint32_t rows_checked = 0, failing_row = 0;
  bool answered = false;
  uint32_t latency_ms = 0;
};

class Checker {
 public:
  Checker(CheckerConfig cfg, client::ChainClient& chain, std::string dir, HttpGet get = nullptr);
  // One pass: the latest height, the events up to it, the due checks and probes.
  Status Tick(const std::atomic<bool>& stop);
  Status Reconcile();  // adopt the open challenges the chain lists for us (at start)
  void Handle(const client::ChainEvent& e);
  nlohmann::json StatusJson();
  static Result<nlohmann::json> ReadStatus(const std::string& dir);

  // The checks themselves (exposed for tests).
  Outcome CheckCompute(const Assignment& a, const depai::verify::v1::Challenge& c, uint32_t rounds);
  Outcome Probe(const Assignment& a, uint32_t max_latency_ms);

 private:
  void Load();
  void SaveLocked();
  void DueWork(int64_t height);
  void Attest(const Assignment& a, const Outcome& o, int64_t height);
  void Note(nlohmann::json entry);  // mu_ held

  CheckerConfig cfg_;
  client::ChainClient& chain_;
  std::string dir_;
  HttpGet get_;
  std::mutex mu_;
  CheckerState st_;  // guarded by mu_
  std::optional<depai::verify::v1::Params> params_;
};

class CheckerDaemon {
 public:
  CheckerDaemon(CheckerConfig cfg, const std::string& home, crypto::KeyPair key);
  ~CheckerDaemon();
  Status Start();  // reconciles, then the loop
  void Stop();
  const std::string& address() const { return chain_->address(); }
  Checker& checker() { return *checker_; }

 private:
  CheckerConfig cfg_;
  std::unique_ptr<client::ChainClient> chain_;
  std::unique_ptr<Checker> checker_;
  std::thread loop_;
  std::atomic<bool> stop_{false};
};

}  // namespace depai::checker
