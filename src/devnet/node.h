// Devnet node: the single-process, embedded-default chain. It owns the App, a mempool, the block
// store and a block producer thread that drives PrepareProposal -> ProcessProposal ->
// FinalizeBlock -> (save block) -> Commit every block_time.
//
// Crash safety: a block is saved (fsynced) before the App commits it; on start, if the block
// store is one block ahead, that block is replayed and its app hash checked. InitChain runs when
// the App is at height 0.
// Thread-safety: every public method may be called from any thread (one mutex guards the App
// and the mempool; block-store reads are lock-free).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "app/app.h"
#include "devnet/block_store.h"
#include "devnet/sig_verifier.h"
#include "util/result.h"

namespace depai::devnet {

struct NodeConfig {
  std::string home;
  int64_t block_time_ms = 1000;
  size_t mempool_max_txs = 10000;
  size_t mempool_max_bytes = 64 * 1024 * 1024;
  size_t max_block_txs = 5000;
  int64_t max_block_bytes = 8 * 1024 * 1024;
  unsigned sig_threads = 0;  // signature workers; 0 = one per core but the App thread's (it helps)
};

struct NodeStatus {
  std::string chain_id;
  int64_t height = 0;
  Bytes app_hash;
  int64_t block_time_unix_ms = 0;
  size_t mempool_size = 0;
};

class Node {
 public:
  // Opens the App and block store under cfg.home/data, runs InitChain from
  // cfg.home/config/genesis.json if needed, and replays a saved-but-uncommitted block.
  static Result<std::unique_ptr<Node>> Open(const NodeConfig& cfg);
  ~Node();

  void Start();  // starts the producer thread
  void Stop();   // finishes the current block, stops producing
  // Set when the producer hit a node fault (broken invariant, storage error).
  std::optional<std::string> fault() const;

  // Mempool admission (CheckTx). code != 0 means rejected.
  app::ResponseCheckTx Broadcast(const Bytes& tx, std::string* hash_out);
  // Waits until `hash` is in a committed block, up to timeout_ms.
  std::optional<TxLocation> WaitForTx(const std::string& hash, int64_t timeout_ms);

  app::ResponseQuery Query(const std::string& path);
  NodeStatus Status();
  std::optional<StoredBlock> Block(int64_t height) const { return blocks_->get(height); }
  std::optional<TxLocation> FindTx(const std::string& hash) const { return blocks_->find_tx(hash); }
  std::string TxJson(const Bytes& tx);
  Result<std::string> ExportGenesis();

 private:
  Node() = default;
  depai::Status ProduceBlock();
  depai::Status Replay(const StoredBlock& b);
  void Loop();

  NodeConfig cfg_;
  std::unique_ptr<app::App> app_;
  std::unique_ptr<BlockStore> blocks_;
  std::unique_ptr<SigVerifier> verifier_;
  mutable std::mutex mu_;
  std::condition_variable committed_cv_;
  std::condition_variable stop_cv_;
  std::deque<std::pair<std::string, Bytes>> mempool_;  // (hash, tx) in arrival order
  std::set<std::string> mempool_hashes_;
  size_t mempool_bytes_ = 0;
  Bytes last_block_hash_;
  int64_t last_block_time_ms_ = 0;
  std::thread producer_;
  bool stopping_ = false;
  std::optional<std::string> fault_;
};

// Reads <home>/config/genesis.json into a RequestInitChain.
Result<app::RequestInitChain> LoadGenesis(const std::string& home);

}  // namespace depai::devnet
