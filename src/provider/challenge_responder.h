// The provider daemon's side of x/verify's compute challenge (doc/provider-operations.md,
// "Challenges"; doc/modules/verify.md).
//
// Contract:
//   - OnEvent(verify.challenge_created, kind compute, provider = us) queues a proof job; the job
//     (on the responder's own worker thread, so the event follower and /health keep going)
//     computes C = A*B with the configured prover (builtin: proof::ProveCpu; cuda:
//     proof::ProveCuda; else an executable run as `EXE --seed HEX --n N --out FILE` that writes
//     n*n little-endian u32), writes the rows to <dir>/c<id>.rows (atomically), builds the Merkle
//     tree and posts MsgCommitRoot. A challenge with the seed and n of a product we already hold
//     (an appeal's re-run) reuses it. A transport failure of the broadcast is retried until the
//     deadline height; a chain rejection is logged and recorded.
//   - Opening(id, i): row i of challenge id with its Merkle proof, for
//     GET /verify/v1/challenges/{id}/rows/{i}; an unknown challenge or row is kNotFound.
//   - OnEvent(verify.verdict, provider = us, kind compute) queues a review: for every failing
//     measurement that cites a row (REASON_FREIVALDS / REASON_BAD_PROOF) whose row we hold and
//     that recomputes correctly (proof::ComputeRow), post MsgDispute with its opening (once per
//     row); when the verdict failed, our tree's root is the on-chain root and the cited and
//     sampled rows all recompute correctly, post MsgAppeal (once per verdict).
//   - Everything (queued jobs, products, what was posted) persists in <dir>/verify.json
//     (atomic writes) and survives a restart: queued jobs resume, rows keep being served.
//     Only the newest keep_products products are kept on disk.
// Thread-safety: OnEvent, Opening, StatusJson from any thread (one mutex); Start/Stop from one
// thread. Drain() runs the queued jobs on the calling thread (tests; without Start).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/chain_client.h"
#include "client/verify_msgs.h"
#include "proof/merkle.h"
#include "provider/config.h"
#include "util/result.h"

namespace depai::provider {

// C = A*B for (seed, n): n*n entries, row-major. The default comes from VerifyConfig::prover.
using ProveFn = std::function<Result<std::vector<uint32_t>>(const Bytes& seed, uint32_t n)>;
ProveFn MakeProver(const VerifyConfig& cfg);

class ChallengeResponder {
 public:
  static constexpr uint32_t kNotFound = 40;  // providerd code for an unknown challenge or row

  ChallengeResponder(const VerifyConfig& cfg, client::ChainClient& chain, std::string dir, ProveFn prove = nullptr);
  ~ChallengeResponder();
  void Start();  // the worker thread
  void Stop();

  void OnEvent(const client::ChainEvent& e);
  Result<client::RowOpening> Opening(uint64_t challenge_id, uint32_t index);
  nlohmann::json StatusJson();
  size_t Drain();  // runs every queued job here; returns how many ran

  struct Job {
    std::string type;  // "prove" | "review"
    uint64_t challenge_id = 0, verdict_id = 0;
    Bytes seed;
    uint32_t n = 0;
    int64_t deadline_height = 0;
  };
  struct Product {
    uint64_t challenge_id = 0;
    uint32_t n = 0;
    Bytes seed, root;
    std::string file;
    int64_t prove_ms = 0, committed_height = 0, created_ms = 0;
    std::string status;                       // "proving" | "committed" | "commit failed: ..." | ...
    std::shared_ptr<proof::MerkleTree> tree;  // loaded lazily
  };

 private:
  void Worker();
  void RunJob(const Job& j);
  void Prove(const Job& j);
  void Review(const Job& j);
  void Enqueue(Job j);
  void SaveLocked();
  void Load();
  void Prune();
  Result<std::shared_ptr<proof::MerkleTree>> TreeOf(uint64_t challenge_id, uint32_t* n, std::string* file);
  Result<Bytes> ReadRow(const std::string& file, uint32_t n, uint32_t index);

  VerifyConfig cfg_;
  client::ChainClient& chain_;
  std::string dir_;
  ProveFn prove_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;                  // guarded by mu_
  std::map<uint64_t, Product> products_;  // guarded by mu_, by challenge id
  std::set<uint64_t> appealed_;           // verdict ids we appealed
  std::set<std::string> disputed_;        // "<challenge>/<row>"
  std::set<uint64_t> reviewed_;           // verdict ids reviewed
  std::deque<nlohmann::json> log_;        // the last actions, for the status
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace depai::provider
