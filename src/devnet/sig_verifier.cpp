#include "devnet/sig_verifier.h"

#include <algorithm>

#include "crypto/ed25519.h"

namespace depai::devnet {

SigVerifier::SigVerifier(unsigned workers) {
  workers = std::max(1u, workers);
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { work(); });
}

unsigned SigVerifier::DefaultWorkers() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 1 ? cores - 1 : 1;
}

SigVerifier::~SigVerifier() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return !active_ || finished_ == txs_.size(); });
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void SigVerifier::prepare(const app::App& app, const std::vector<Bytes>& txs) {
  std::unique_lock<std::mutex> lock(mu_);
  // Let a previous batch drain first (its txs vector may be gone after this call).
  done_cv_.wait(lock, [&] { return !active_ || finished_ == txs_.size(); });
  app_ = &app;
  txs_ = txs;
  active_ = true;
  next_ = finished_ = 0;
  ++generation_;
  results_.clear();
  lock.unlock();
  cv_.notify_all();
}

void SigVerifier::check(size_t i, std::unique_lock<std::mutex>& lock) const {
  const Bytes& tx = txs_[i];  // txs_ is only replaced by prepare(), after every claimed tx finished
  const app::App* app = app_;
  lock.unlock();
  auto checks = app->SigChecksFor(tx);
  std::vector<std::pair<std::string, Result>> done;
  done.reserve(checks.size());
  for (auto& c : checks) {
    bool ok = crypto::Verify(c.pubkey, c.sign_bytes, c.sig);
    done.emplace_back(std::move(c.sig), Result{std::move(c.pubkey), std::move(c.sign_bytes), ok});
  }
  lock.lock();
  for (auto& [sig, r] : done) results_.insert_or_assign(std::move(sig), std::move(r));
  ++finished_;
  done_cv_.notify_all();
}

void SigVerifier::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (active_ && next_ < txs_.size()); });
    if (stop_) return;
    check(next_++, lock);
  }
}

bool SigVerifier::verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto it = results_.find(sig);
    if (it != results_.end())
      return it->second.ok && it->second.pubkey == pubkey && it->second.sign_bytes == sign_bytes;
    if (!active_ || finished_ == txs_.size()) return false;
    if (next_ < txs_.size()) {
      check(next_++, lock);  // help instead of waiting
      continue;
    }
    done_cv_.wait(lock);
  }
}

}  // namespace depai::devnet
