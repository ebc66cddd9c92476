// LtHash16: a homomorphic (lattice-based) multiset hash used as the state commitment.
//
// The state is a vector of 1024 uint16 lanes (2048 bytes). Each (key, value) pair expands to a
// lane vector: d = BLAKE2b-256(len(key)||key||value); lanes = AES-128-CTR keystream with key
// d[0..16) and counter block d[16..32) (OpenSSL, AES-NI).
// Adding a pair adds lane-wise mod 2^16; removing subtracts. So the hash of a set is independent
// of insertion order and can be updated in O(changed keys). See doc/architecture.md#app-hash.
// Value type; not thread-safe for concurrent mutation.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "util/bytes.h"

namespace depai::crypto {

class LtHash {
 public:
  static constexpr size_t kLanes = 1024;
  LtHash() { lanes_.fill(0); }
  void add(std::string_view key, std::string_view value);
  void remove(std::string_view key, std::string_view value);
  // Adds another hash lane-wise: the hash of the union of both multisets (order-free, so partial
  // hashes computed on several threads merge to the same result).
  void merge(const LtHash& other);
  Bytes checksum() const;                         // 32-byte SHA-256 of the lanes (little-endian): the public commitment
  Bytes serialize() const;                        // 2048 bytes
  static LtHash Deserialize(std::string_view b);  // zero hash if size is wrong
  bool operator==(const LtHash&) const = default;

 private:
  void expand(std::string_view key, std::string_view value, uint16_t* out) const;
  std::array<uint16_t, kLanes> lanes_;
};

}  // namespace depai::crypto
