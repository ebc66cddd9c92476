// The compute-capacity challenge's arithmetic (doc/modules/verify.md, "Compute challenge").
//
// Field: F_p with p = 8380417 = 2^23 - 2^13 + 1. Entries are u32 < p; a product is < 2^46, so
// a u64 accumulator holds 2^18 products without reduction (n <= kMaxN).
//
// Inputs: A and B (n x n, row-major) come from the challenge seed (32 bytes) by a PRG, so any
// entry can be regenerated alone:
//   key_A = SHA-256("depai/compute/A" || seed), key_B = SHA-256("depai/compute/B" || seed);
//   word k of a matrix = the k-th little-endian u32 of the IETF ChaCha20 keystream (RFC 8439)
//   under its key, nonce = 12 zero bytes, starting at block counter 0;
//   entry (i, j) = word (i*n + j) mod p.
// Output rows: C_i = A_i * B mod p, serialised as n little-endian u32 (RowBytes).
// Sampling: SampleRows(sample_seed, n, s) = the first s distinct values of
//   LE64(SHA-256("depai/compute/sample" || sample_seed || BE32(counter))[0..8]) mod n, counter = 0, 1, ...
// Freivalds (checker side): r from the checker's own seed; the check of row i is
//   A_i . (B r) == C_i . r (mod p), for each of `rounds` independent r. A wrong row passes one
//   round with probability <= 1/p.
//
// Deterministic and single-threaded: x/verify uses ComputeRow for on-chain disputes. The
// multi-threaded and CUDA provers live in proof/prover.h. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.h"

namespace depai::proof {

inline constexpr uint32_t kPrime = 8380417;
inline constexpr uint32_t kMinN = 8;
inline constexpr uint32_t kMaxN = 1u << 16;  // and n^2 entries must fit in memory

enum class Matrix { A, B };

// The 32-byte ChaCha20 key of matrix m for `seed`.
Bytes MatrixKey(std::string_view seed, Matrix m);
// Entry (i, j) of m. O(1): one ChaCha20 block.
uint32_t Entry(std::string_view seed, uint32_t n, Matrix m, uint32_t i, uint32_t j);
// Row i of m (n entries) into out.
void Row(std::string_view seed, uint32_t n, Matrix m, uint32_t i, uint32_t* out);
// The whole matrix (n*n entries, row-major).
std::vector<uint32_t> Full(std::string_view seed, uint32_t n, Matrix m);
// Entries [first, first + count) of m in row-major order (entry (i, j) is number i*n + j) into
// out: what Full, Row and Entry compute, for any range (the provers split generation by it).
void Entries(std::string_view seed, uint32_t n, Matrix m, uint64_t first, uint64_t count, uint32_t* out);

// Row i of C = A*B, recomputed from the seed: n^2 multiply-adds (the chain's dispute path).
std::vector<uint32_t> ComputeRow(std::string_view seed, uint32_t n, uint32_t i);

// n little-endian u32 <-> bytes. ParseRow fails (false) unless bytes.size() == 4n and every
// value is < p.
Bytes RowBytes(const uint32_t* row, uint32_t n);
bool ParseRow(std::string_view bytes, uint32_t n, std::vector<uint32_t>* out);

// s distinct row indices in [0, n) (s <= n), in draw order.
std::vector<uint32_t> SampleRows(std::string_view sample_seed, uint32_t n, uint32_t s);

// The checker's precomputation: r_k (from r_seed) and B r_k for each round. O(rounds * n^2)
// after regenerating B once.
class Freivalds {
 public:
  Freivalds(std::string_view seed, uint32_t n, std::string_view r_seed, uint32_t rounds);
  // True when row i of C (n values) passes every round.
  bool check_row(uint32_t i, const uint32_t* c_row) const;
  uint32_t n() const { return n_; }

 private:
  std::string seed_;
  uint32_t n_;
  std::vector<std::vector<uint32_t>> r_, br_;
};

}  // namespace depai::proof
