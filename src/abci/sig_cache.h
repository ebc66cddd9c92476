// VerifiedSigs: the ed25519 signatures this node has already verified for CheckTx, so that
// FinalizeBlock does not verify the same (pubkey, sign bytes, signature) again.
//
// The ABCI server verifies a new transaction's signature OUTSIDE the App mutex (so mempool
// admission overlaps block execution on another core), records it here, and the App's ante handler
// then finds it through app::SigCache::verified(). A triple is recorded only after a successful
// libsodium verify of exactly those bytes, so an answer of true is always correct and an answer of
// false only means "verify it yourself": results never depend on this cache. Bounded (oldest
// entries evicted first). Thread-safe. Not consensus code: lives outside src/app and src/x.
#pragma once

#include <deque>
#include <mutex>
#include <set>
#include <string>

#include "app/app.h"

namespace depai::abci {

class VerifiedSigs : public app::SigCache {
 public:
  explicit VerifiedSigs(size_t capacity = 200000) : capacity_(capacity) {}
  // Verifies the triple with libsodium; records and returns true when it is valid.
  bool verify_and_record(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig);
  bool verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const override;
  size_t size() const;

 private:
  static std::string Key(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig);
  size_t capacity_;
  mutable std::mutex mu_;
  std::set<std::string, std::less<>> set_;
  std::deque<std::string> order_;
};

}  // namespace depai::abci
