#include "crypto/hash.h"

#include <openssl/evp.h>
#include <sodium.h>

namespace depai::crypto {

bool InitCrypto() { return sodium_init() >= 0; }

Bytes Sha256(std::string_view data) {
  // Fetch the implementation once: OpenSSL 3's one-shot SHA256() looks it up on every call.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  Bytes out(32, '\0');
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), nullptr, md, nullptr);
  return out;
}

Bytes Sha256Iter(std::string_view data, uint64_t times) {
  if (times == 0) return Bytes(data);
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char buf[32];
  EVP_Digest(data.data(), data.size(), buf, nullptr, md, nullptr);
  for (uint64_t i = 1; i < times; ++i) EVP_Digest(buf, sizeof buf, buf, nullptr, md, nullptr);
  return Bytes(reinterpret_cast<const char*>(buf), sizeof buf);
}

Bytes Blake2b256(std::string_view data) {
  Bytes out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), 32,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr, 0);
  return out;
}

Bytes Blake2b256(std::string_view a, std::string_view b) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  Bytes out(32, '\0');
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(out.data()), 32);
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out(sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // drop NUL
  return out;
}

std::optional<Bytes> Base64Decode(std::string_view b64) {
  Bytes out(b64.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(), b64.size(), nullptr, &len,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  if (end != b64.data() + b64.size()) return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace depai::crypto
