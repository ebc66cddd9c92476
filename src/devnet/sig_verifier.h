// SigVerifier: checks a block's ed25519 signatures on worker threads while the App executes the
// block, and answers the App's SigCache queries.
//
// prepare(app, txs) starts the batch and returns at once; workers take txs in order, derive the
// (pubkey, sign bytes, signature) triple from committed state (App::SigChecksFor) and verify it.
// verified() returns true only for a triple a worker checked and found valid, waiting for the
// workers if they have not reached it yet; anything else answers false and the App verifies
// itself. So results never depend on this class (see doc/architecture.md, "Drivers").
// Thread-safe. Not part of consensus code: it lives outside src/app and src/x.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"

namespace depai::devnet {

class SigVerifier : public app::SigCache {
 public:
  explicit SigVerifier(unsigned threads);
  ~SigVerifier() override;
  void prepare(const app::App& app, const std::vector<Bytes>& txs);
  bool verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const override;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

 private:
  void work();
  struct Result {
    Bytes pubkey, sign_bytes;
    bool ok = false;
  };
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;       // workers: new batch / stop
  mutable std::condition_variable done_cv_;  // readers: a job finished
  std::vector<std::thread> workers_;
  const app::App* app_ = nullptr;
  std::vector<Bytes> txs_;  // copied: the caller's vector may go away before workers finish
  bool active_ = false;
  size_t next_ = 0, finished_ = 0, generation_ = 0;
  bool stop_ = false;
  std::map<std::string, Result, std::less<>> results_;  // by signature bytes
};

}  // namespace depai::devnet
