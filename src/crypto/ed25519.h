// ed25519 signatures (libsodium). Keys are raw bytes: a 32-byte seed is the private key,
// from which the 32-byte public key derives. Signatures are 64 bytes. Thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "util/bytes.h"

namespace depai::crypto {

inline constexpr size_t kPubKeySize = 32;
inline constexpr size_t kSeedSize = 32;
inline constexpr size_t kSignatureSize = 64;

struct KeyPair {
  Bytes seed;    // 32 bytes: the secret
  Bytes pubkey;  // 32 bytes
};

KeyPair GenerateKey();                                      // from the OS CSPRNG
std::optional<KeyPair> KeyFromSeed(std::string_view seed);  // nullopt unless 32 bytes
Bytes Sign(const KeyPair& key, std::string_view msg);
bool Verify(std::string_view pubkey, std::string_view msg, std::string_view sig);

// Address bytes of a public key: first 20 bytes of SHA-256(pubkey).
Bytes AddressOf(std::string_view pubkey);

}  // namespace depai::crypto
