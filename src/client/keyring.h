// Keyring: named ed25519 keys under a home directory.
//
// Backends (as in the Cosmos SDK):
//   test  <home>/keyring-test/<name>.json   seed stored UNENCRYPTED (devnets and tests only)
//   file  <home>/keyring-file/<name>.json   seed encrypted with the keystore (argon2id + AEAD)
// Both store name, address and public key in clear, so list/show never need a passphrase.
// Files are written 0600, atomically (temp file + rename). Errors: codespace "keys":
// 2 not found, 3 already exists, 4 wrong passphrase, 5 invalid name, 6 corrupted file.
// Not thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "crypto/keystore.h"
#include "util/result.h"

namespace depai::client {

enum class KeyringBackend { kTest, kFile };

// Asks for a passphrase; `confirm` asks twice (new keys). Returns an error to abort.
using PassphraseFn = std::function<Result<std::string>(const std::string& prompt, bool confirm)>;
// DEPAI_KEYRING_PASSPHRASE if set, else a line from stdin (no echo on a tty; prompt on stderr).
PassphraseFn DefaultPassphraseFn();

struct KeyInfo {
  std::string name;
  std::string address;  // depai1...
  Bytes pubkey;
};

class Keyring {
 public:
  static Result<Keyring> Open(const std::string& home, KeyringBackend backend, PassphraseFn passphrase,
                              crypto::KdfParams kdf = crypto::DefaultKdfParams());
  Result<KeyInfo> add(const std::string& name, std::optional<Bytes> seed = std::nullopt);
  Result<KeyInfo> show(const std::string& name_or_address) const;
  std::vector<KeyInfo> list() const;
  Result<crypto::KeyPair> load(const std::string& name_or_address) const;
  Result<std::string> export_armor(const std::string& name, const std::string& export_passphrase) const;
  Result<KeyInfo> import_armor(const std::string& name, const std::string& armor, const std::string& passphrase);
  Status remove(const std::string& name);
  const std::string& dir() const { return dir_; }
  KeyringBackend backend() const { return backend_; }

 private:
  Keyring(std::string dir, KeyringBackend b, PassphraseFn p, crypto::KdfParams kdf)
      : dir_(std::move(dir)), backend_(b), passphrase_(std::move(p)), kdf_(kdf) {}
  Result<KeyInfo> store(const std::string& name, const crypto::KeyPair& key, const std::string* passphrase);
  std::string path(const std::string& name) const { return dir_ + "/" + name + ".json"; }
  std::string dir_;
  KeyringBackend backend_;
  PassphraseFn passphrase_;
  crypto::KdfParams kdf_;
};

bool ValidKeyName(const std::string& name);

}  // namespace depai::client
