#include "crypto/lthash.h"

#include <sodium.h>

#include <cstring>

#include "crypto/hash.h"

namespace depai::crypto {

void LtHash::expand(std::string_view key, std::string_view value, uint16_t* out) const {
  unsigned char seed[32];
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, sizeof seed);
  unsigned char klen[4] = {static_cast<unsigned char>(key.size() >> 24), static_cast<unsigned char>(key.size() >> 16),
                           static_cast<unsigned char>(key.size() >> 8), static_cast<unsigned char>(key.size())};
  crypto_generichash_update(&st, klen, sizeof klen);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(value.data()), value.size());
  crypto_generichash_final(&st, seed, sizeof seed);
  static const unsigned char nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
  unsigned char buf[kLanes * 2];
  crypto_stream_chacha20(buf, sizeof buf, nonce, seed);
  for (size_t i = 0; i < kLanes; ++i) out[i] = static_cast<uint16_t>(buf[2 * i] | (buf[2 * i + 1] << 8));
}

void LtHash::add(std::string_view key, std::string_view value) {
  uint16_t v[kLanes];
  expand(key, value, v);
  for (size_t i = 0; i < kLanes; ++i) lanes_[i] = static_cast<uint16_t>(lanes_[i] + v[i]);
}

void LtHash::remove(std::string_view key, std::string_view value) {
  uint16_t v[kLanes];
  expand(key, value, v);
  for (size_t i = 0; i < kLanes; ++i) lanes_[i] = static_cast<uint16_t>(lanes_[i] - v[i]);
}

Bytes LtHash::serialize() const {
  Bytes b(kLanes * 2, '\0');
  for (size_t i = 0; i < kLanes; ++i) {
    b[2 * i] = static_cast<char>(lanes_[i] & 0xff);
    b[2 * i + 1] = static_cast<char>(lanes_[i] >> 8);
  }
  return b;
}

LtHash LtHash::Deserialize(std::string_view b) {
  LtHash h;
  if (b.size() != kLanes * 2) return h;
  for (size_t i = 0; i < kLanes; ++i)
    h.lanes_[i] = static_cast<uint16_t>(static_cast<uint8_t>(b[2 * i]) | (static_cast<uint8_t>(b[2 * i + 1]) << 8));
  return h;
}

Bytes LtHash::checksum() const { return Sha256(serialize()); }

}  // namespace depai::crypto
