#include "abci/sig_cache.h"

#include "crypto/ed25519.h"
#include "crypto/hash.h"

namespace depai::abci {

std::string VerifiedSigs::Key(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) {
  std::string k;
  k.reserve(pubkey.size() + sig.size() + 32);
  k.append(pubkey);
  k.append(sig);
  k.append(crypto::Sha256(sign_bytes));
  return k;
}

bool VerifiedSigs::verify_and_record(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) {
  if (!crypto::Verify(pubkey, sign_bytes, sig)) return false;
  auto k = Key(pubkey, sign_bytes, sig);
  std::lock_guard<std::mutex> lock(mu_);
  if (set_.insert(k).second) {
    order_.push_back(std::move(k));
    while (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }
  return true;
}

bool VerifiedSigs::verified(std::string_view pubkey, std::string_view sign_bytes, std::string_view sig) const {
  auto k = Key(pubkey, sign_bytes, sig);
  std::lock_guard<std::mutex> lock(mu_);
  return set_.count(k) > 0;
}

size_t VerifiedSigs::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return set_.size();
}

}  // namespace depai::abci
