#include "crypto/keystore.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace depai::crypto {

using nlohmann::json;

namespace {
Error Wrong() { return Error{"keys", 4, "wrong passphrase or corrupted key file"}; }
Error Corrupt(const std::string& why) { return Error{"keys", 6, "corrupted key file: " + why}; }
}  // namespace

KdfParams DefaultKdfParams() { return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE}; }
KdfParams FastKdfParams() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

std::string Encrypt(std::string_view secret, std::string_view passphrase, std::string_view associated, KdfParams kdf) {
  unsigned char salt[crypto_pwhash_SALTBYTES];
  randombytes_buf(salt, sizeof salt);
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  if (crypto_pwhash(key, sizeof key, passphrase.data(), passphrase.size(), salt, kdf.opslimit, kdf.memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id: out of memory");
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  randombytes_buf(nonce, sizeof nonce);
  std::string ct(secret.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long ctlen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(ct.data()), &ctlen, reinterpret_cast<const unsigned char*>(secret.data()),
      secret.size(), reinterpret_cast<const unsigned char*>(associated.data()), associated.size(), nullptr, nonce, key);
  sodium_memzero(key, sizeof key);
  ct.resize(ctlen);
  json j{{"version", 1},
         {"kdf", "argon2id"},
         {"opslimit", kdf.opslimit},
         {"memlimit", kdf.memlimit},
         {"salt", Base64Encode(std::string_view(reinterpret_cast<char*>(salt), sizeof salt))},
         {"cipher", "xchacha20poly1305-ietf"},
         {"nonce", Base64Encode(std::string_view(reinterpret_cast<char*>(nonce), sizeof nonce))},
         {"ciphertext", Base64Encode(ct)}};
  return j.dump();
}

Result<Bytes> Decrypt(std::string_view armor, std::string_view passphrase, std::string_view associated) {
  json j = json::parse(armor, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt("not JSON");
  if (j.value("kdf", "") != "argon2id" || j.value("cipher", "") != "xchacha20poly1305-ietf")
    return Corrupt("unsupported kdf or cipher");
  if (!j.contains("opslimit") || !j["opslimit"].is_number_unsigned() || !j.contains("memlimit") ||
      !j["memlimit"].is_number_unsigned())
    return Corrupt("missing kdf limits");
  uint64_t ops = j["opslimit"].get<uint64_t>();
  uint64_t mem = j["memlimit"].get<uint64_t>();
  if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE || mem < crypto_pwhash_MEMLIMIT_MIN ||
      mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
    return Corrupt("kdf limits out of range");
  auto salt = Base64Decode(j.value("salt", ""));
  auto nonce = Base64Decode(j.value("nonce", ""));
  auto ct = Base64Decode(j.value("ciphertext", ""));
  if (!salt || salt->size() != crypto_pwhash_SALTBYTES || !nonce ||
      nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES || !ct ||
      ct->size() < crypto_aead_xchacha20poly1305_ietf_ABYTES)
    return Corrupt("bad salt, nonce or ciphertext");
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  if (crypto_pwhash(key, sizeof key, passphrase.data(), passphrase.size(),
                    reinterpret_cast<const unsigned char*>(salt->data()), ops, static_cast<size_t>(mem),
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Corrupt("argon2id failed");
  Bytes pt(ct->size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long ptlen = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      reinterpret_cast<unsigned char*>(pt.data()), &ptlen, nullptr, reinterpret_cast<const unsigned char*>(ct->data()),
      ct->size(), reinterpret_cast<const unsigned char*>(associated.data()), associated.size(),
      reinterpret_cast<const unsigned char*>(nonce->data()), key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) return Wrong();
  pt.resize(ptlen);
  return pt;
}

}  // namespace depai::crypto
