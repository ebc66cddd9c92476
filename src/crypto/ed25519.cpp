#include "crypto/ed25519.h"

#include <sodium.h>

#include "crypto/hash.h"

namespace depai::crypto {

std::optional<KeyPair> KeyFromSeed(std::string_view seed) {
  if (seed.size() != kSeedSize) return std::nullopt;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed.data()));
  sodium_memzero(sk, sizeof sk);
  return KeyPair{Bytes(seed), Bytes(reinterpret_cast<char*>(pk), sizeof pk)};
}

KeyPair GenerateKey() {
  Bytes seed(kSeedSize, '\0');
  randombytes_buf(seed.data(), seed.size());
  return *KeyFromSeed(seed);
}

Bytes Sign(const KeyPair& key, std::string_view msg) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(key.seed.data()));
  Bytes sig(kSignatureSize, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), sk);
  sodium_memzero(sk, sizeof sk);
  return sig;
}

bool Verify(std::string_view pubkey, std::string_view msg, std::string_view sig) {
  if (pubkey.size() != kPubKeySize || sig.size() != kSignatureSize) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                     reinterpret_cast<const unsigned char*>(pubkey.data())) == 0;
}

Bytes AddressOf(std::string_view pubkey) { return Sha256(pubkey).substr(0, 20); }

}  // namespace depai::crypto
