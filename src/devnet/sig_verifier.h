// SigVerifier: checks a block's ed25519 signatures on worker threads while the App executes the
// block, and answers the App's SigCache queries.
//
// prepare(app, txs) starts the batch and returns at once. Workers take txs in block order; the
// App's own thread, when it asks verified() for a signature that is not checked yet, does not sit
// idle: it claims the next unchecked tx itself, checks it, then asks again. So the App thread
// waits only when every tx is claimed and the one it needs is being checked that moment, and a
// block's checks spread over workers + 1 threads (DefaultWorkers(): one per core but the App's).
// Claiming in block order (not from the far end) keeps the checkers just ahead of execution, so
// they finish together with it. The block's serial tail (app hash, commit) would leave the workers
// idle; prefetch() gives them the next block's likely txs for that time. A check derives the (pubkey, sign bytes,
// signature) triple from committed state (App::SigChecksFor) and verifies it. verified() returns
// true only for a triple that was checked and found valid; anything else answers false and the
// App verifies itself. So results never depend on this class (see doc/architecture.md, "Drivers").
// Thread-safe. Not part of consensus code: it lives outside src/app and src/x.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/app.h"

namespace depai::devnet {

class SigVerifier : public app::SigCache {
 public:
  explicit SigVerifier(unsigned workers);
  ~SigVerifier() override;
  // One worker per core, less the core of the App thread (which helps as described above); at least 1.
  static unsigned DefaultWorkers();
  void prepare(const app::App& app, const std::vector<Bytes>& txs);
  // The txs likely in the next block (the mempool's next ones): workers check them once every tx
  // of the current batch is claimed, that is while the App finishes and commits the block. The
  // next prepare() keeps their results and skips re-verifying them; the rest is dropped.
  void prefetch(const app::App& app, const std::vector<Bytes>& txs);
  bool verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const override;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }
  // Signatures found already checked by an earlier prefetch() (not verified again), counted once
  // the current batch's checks are all done (it waits for them: the App may have used the
  // prefetched results before any worker reached those txs).
  size_t reused() const {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return !active_ || finished_ == txs_.size(); });
    return reused_;
  }

 private:
  void work();
  // Checks `tx` with mu_ released, then records the results; `lock` holds mu_ on entry and exit.
  void check(const Bytes& tx, bool ahead, std::unique_lock<std::mutex>& lock) const;
  // Claims and checks the current batch's next tx (a worker, or the App thread helping).
  void check_next(std::unique_lock<std::mutex>& lock) const;
  bool batch_unclaimed() const { return active_ && next_ < txs_.size(); }
  // Drops the prefetch not started and waits for every started check (they read txs_ and app_).
  void drain(std::unique_lock<std::mutex>& lock);
  struct Result {
    Bytes pubkey, sign_bytes;
    bool ok = false;
    bool ahead = false;  // checked by prefetch(): kept by the next prepare()
  };
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;       // workers: new batch / stop
  mutable std::condition_variable done_cv_;  // readers: a job finished
  std::vector<std::thread> workers_;
  const app::App* app_ = nullptr;
  std::vector<Bytes> txs_;  // copied: the caller's vector may go away before workers finish
  bool active_ = false;
  // Txs [next_, size) are unclaimed; workers and the helping App thread claim next_++.
  mutable size_t next_ = 0, finished_ = 0;
  std::vector<Bytes> ahead_;  // prefetch(): claimed ahead_next_++ when the batch is all claimed
  size_t ahead_next_ = 0, ahead_in_flight_ = 0;
  mutable size_t reused_ = 0;
  bool stop_ = false;
  // By signature bytes. Hashed: the App's lookup per tx and the workers' two per tx were tree
  // walks over cold 64-byte keys (only looked up and erased, never iterated in an order that matters).
  mutable std::unordered_map<std::string, Result, BytesHash, std::equal_to<>> results_;
  // Signers' account numbers, so a check reads committed state once per signer, not per tx.
  class Numbers : public app::App::AccountNumbers {
   public:
    std::optional<uint64_t> find(std::string_view address) const override;
    void put(std::string_view address, uint64_t number) override;

   private:
    static constexpr size_t kCapacity = 1 << 20;  // then cleared: a memo, not a record
    mutable std::mutex mu_;
    std::unordered_map<std::string, uint64_t, BytesHash, std::equal_to<>> map_;
  };
  mutable Numbers numbers_;  // filled by check(), which is const like verified()
};

}  // namespace depai::devnet
