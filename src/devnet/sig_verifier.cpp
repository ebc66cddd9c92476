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

void SigVerifier::drain(std::unique_lock<std::mutex>& lock) {
  ahead_.clear();
  ahead_next_ = 0;
  done_cv_.wait(lock, [&] { return (!active_ || finished_ == txs_.size()) && ahead_in_flight_ == 0; });
}

SigVerifier::~SigVerifier() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    drain(lock);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void SigVerifier::prepare(const app::App& app, const std::vector<Bytes>& txs) {
  std::unique_lock<std::mutex> lock(mu_);
  drain(lock);  // every started check reads txs_/app_
  app_ = &app;
  txs_ = txs;
  active_ = true;
  next_ = finished_ = 0;
  // Keep only what the last prefetch() checked (this block's txs, most likely); from now on those
  // are ordinary results, dropped at the next prepare().
  for (auto it = results_.begin(); it != results_.end();) {
    if (it->second.ahead) {
      it->second.ahead = false;
      ++it;
    } else {
      it = results_.erase(it);
    }
  }
  lock.unlock();
  cv_.notify_all();
}

void SigVerifier::prefetch(const app::App& app, const std::vector<Bytes>& txs) {
  std::unique_lock<std::mutex> lock(mu_);
  app_ = &app;
  ahead_ = txs;
  ahead_next_ = 0;
  lock.unlock();
  cv_.notify_all();
}

void SigVerifier::check(const Bytes& tx, bool ahead, std::unique_lock<std::mutex>& lock) const {
  const app::App* app = app_;
  lock.unlock();
  auto checks = app->SigChecksFor(tx, &numbers_);
  std::vector<std::pair<std::string, Result>> done;
  done.reserve(checks.size());
  for (auto& c : checks) {
    bool known = false;
    {
      std::lock_guard<std::mutex> g(mu_);  // checked ahead already: the same triple, the same answer
      auto it = results_.find(c.sig);
      known = it != results_.end() && it->second.pubkey == c.pubkey && it->second.sign_bytes == c.sign_bytes;
      reused_ += known ? 1 : 0;
    }
    if (known) continue;
    bool ok = crypto::Verify(c.pubkey, c.sign_bytes, c.sig);
    done.emplace_back(std::move(c.sig), Result{std::move(c.pubkey), std::move(c.sign_bytes), ok, ahead});
  }
  lock.lock();
  for (auto& [sig, r] : done) results_.insert_or_assign(std::move(sig), std::move(r));
}

void SigVerifier::check_next(std::unique_lock<std::mutex>& lock) const {
  check(txs_[next_++], false, lock);  // txs_ is only replaced by prepare(), after every claimed tx finished
  ++finished_;
  done_cv_.notify_all();
}

void SigVerifier::work() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || batch_unclaimed() || (app_ && ahead_next_ < ahead_.size()); });
    if (stop_) return;
    if (batch_unclaimed()) {
      check_next(lock);
      continue;
    }
    const Bytes tx = ahead_[ahead_next_++];  // a copy: prefetch() may replace ahead_ meanwhile
    ++ahead_in_flight_;
    check(tx, true, lock);
    --ahead_in_flight_;
    done_cv_.notify_all();
  }
}

bool SigVerifier::verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto it = results_.find(sig);
    if (it != results_.end())
      return it->second.ok && it->second.pubkey == pubkey && it->second.sign_bytes == sign_bytes;
    if (!active_ || finished_ == txs_.size()) return false;
    if (batch_unclaimed()) {
      check_next(lock);  // help instead of waiting
      continue;
    }
    done_cv_.wait(lock);
  }
}

std::optional<uint64_t> SigVerifier::Numbers::find(std::string_view address) const {
  std::lock_guard<std::mutex> g(mu_);
  auto it = map_.find(address);
  return it == map_.end() ? std::nullopt : std::optional<uint64_t>(it->second);
}

void SigVerifier::Numbers::put(std::string_view address, uint64_t number) {
  std::lock_guard<std::mutex> g(mu_);
  if (map_.size() >= kCapacity) map_.clear();
  map_.insert_or_assign(std::string(address), number);
}

}  // namespace depai::devnet
