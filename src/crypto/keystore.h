// Keystore: passphrase encryption of secrets at rest (libsodium).
//
// Key derivation: argon2id (crypto_pwhash ALG_ARGON2ID13) over the passphrase with a random
// 16-byte salt; the ops/mem limits are stored with the ciphertext so they can be raised later.
// Cipher: XChaCha20-Poly1305-IETF with a random 24-byte nonce; `associated` (e.g. the key name
// and address) is authenticated, so a file cannot be swapped under another name.
// The armor is a JSON object. Decrypt fails with codespace "keys", code 4 on a wrong passphrase
// or any tampering. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/result.h"

namespace depai::crypto {

struct KdfParams {
  uint64_t opslimit;
  size_t memlimit;
};
KdfParams DefaultKdfParams();  // crypto_pwhash_*_INTERACTIVE
KdfParams FastKdfParams();     // crypto_pwhash_*_MIN: tests only

// Returns the armor JSON (one line).
std::string Encrypt(std::string_view secret, std::string_view passphrase, std::string_view associated,
                    KdfParams kdf = DefaultKdfParams());
Result<Bytes> Decrypt(std::string_view armor, std::string_view passphrase, std::string_view associated);

}  // namespace depai::crypto
