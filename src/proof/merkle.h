// Merkle tree over the rows of a compute challenge's C (SHA-256, OpenSSL).
//
//   leaf_i  = SHA-256(0x00 || BE32(i) || BE32(n) || row_i bytes)   (binds index and size)
//   node    = SHA-256(0x01 || left || right)
//   padding = leaves beyond n up to the next power of two are 32 zero bytes.
// A proof is the siblings from the leaf up, exactly log2(padded leaves) of them; the index bits
// choose the side at each level. A proof of another index, of the wrong length, or with a
// sibling that is not 32 bytes does not verify.
// Thread-safety: MerkleTree is immutable after construction; functions are pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "util/bytes.h"

namespace depai::proof {

Bytes LeafHash(uint32_t index, uint32_t n, std::string_view row_bytes);
Bytes NodeHash(std::string_view left, std::string_view right);
// Number of siblings in a proof over n leaves (0 for n == 1).
uint32_t ProofLength(uint32_t n);

class MerkleTree {
 public:
  // leaves: n leaf hashes (32 bytes each), n >= 1.
  explicit MerkleTree(std::vector<Bytes> leaves);
  const Bytes& root() const;
  uint32_t size() const { return n_; }
  std::vector<Bytes> proof(uint32_t index) const;

 private:
  uint32_t n_;
  std::vector<std::vector<Bytes>> levels_;  // levels_[0] = padded leaves
};

bool VerifyProof(std::string_view root, uint32_t n, uint32_t index, std::string_view leaf_hash,
                 const std::vector<Bytes>& proof);

}  // namespace depai::proof
