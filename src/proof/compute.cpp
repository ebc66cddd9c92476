#include "proof/compute.h"

#include <endian.h>
#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "crypto/hash.h"

namespace depai::proof {

namespace {

constexpr uint32_t kWordsPerBlock = 16;  // a ChaCha20 block is 64 bytes = 16 LE u32
constexpr unsigned char kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};

// x mod p for any u32 x, branch-free (vectorises): x = hi * 2^23 + lo and 2^23 = 2^13 - 1 (mod p),
// so x = lo + hi * (2^13 - 1) (mod p), which is < 2^23 + 2^22 < 2p: one conditional subtraction.
inline uint32_t ReduceWord(uint32_t x) {
  const uint32_t hi = x >> 23, lo = x & ((1u << 23) - 1);
  const uint32_t t = lo + (hi << 13) - hi;
  return t >= kPrime ? t - kPrime : t;
}

inline uint32_t FromLE(uint32_t w) {
  if constexpr (std::endian::native == std::endian::little) return w;
  return le32toh(w);
}

// One ChaCha20 block (16 words) at block counter `block`.
void OneBlock(const unsigned char* key, uint64_t block, uint32_t out[kWordsPerBlock]) {
  std::memset(out, 0, 4 * kWordsPerBlock);
  auto* b = reinterpret_cast<unsigned char*>(out);
  crypto_stream_chacha20_ietf_xor_ic(b, b, 4 * kWordsPerBlock, kZeroNonce, static_cast<uint32_t>(block), key);
}

// Entries [first, first + count) of the matrix keyed by `key`: keystream words reduced mod p.
// Whole blocks are generated in place in out (a zeroed buffer XORed with the keystream; libsodium's
// SIMD path works on many blocks per call) in 16 KiB chunks, each reduced while it is in L1; an
// unaligned head or tail costs one extra block.
void KeyEntries(const Bytes& key, uint64_t first, uint64_t count, uint32_t* out) {
  // libsodium picks its SIMD ChaCha20 in sodium_init (idempotent, thread-safe); without it the
  // reference code runs at a third of the speed. Same bytes either way.
  static const bool sodium_ready = sodium_init() >= 0;
  (void)sodium_ready;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  uint64_t w = first;
  uint64_t left = count;
  if (left > 0 && w % kWordsPerBlock != 0) {  // the partial first block
    uint32_t block[kWordsPerBlock];
    OneBlock(k, w / kWordsPerBlock, block);
    const uint64_t off = w % kWordsPerBlock;
    const uint64_t take = std::min<uint64_t>(kWordsPerBlock - off, left);
    for (uint64_t t = 0; t < take; ++t) out[t] = ReduceWord(FromLE(block[off + t]));
    out += take;
    w += take;
    left -= take;
  }
  constexpr uint64_t kChunkWords = 1u << 12;
  while (left >= kWordsPerBlock) {
    const uint64_t words = std::min<uint64_t>(left / kWordsPerBlock * kWordsPerBlock, kChunkWords);
    auto* bytes = reinterpret_cast<unsigned char*>(out);
    std::memset(bytes, 0, words * 4);
    crypto_stream_chacha20_ietf_xor_ic(bytes, bytes, words * 4, kZeroNonce, static_cast<uint32_t>(w / kWordsPerBlock),
                                       k);
    for (uint64_t t = 0; t < words; ++t) out[t] = ReduceWord(FromLE(out[t]));
    out += words;
    w += words;
    left -= words;
  }
  if (left > 0) {  // the partial last block
    uint32_t block[kWordsPerBlock];
    OneBlock(k, w / kWordsPerBlock, block);
    for (uint64_t t = 0; t < left; ++t) out[t] = ReduceWord(FromLE(block[t]));
  }
}

// r_k of Freivalds round k: the keystream under SHA-256("depai/compute/r" || r_seed || BE32(k)),
// word j mod p.
std::vector<uint32_t> FreivaldsVector(std::string_view r_seed, uint32_t round, uint32_t n) {
  Bytes in = "depai/compute/r";
  in.append(r_seed);
  for (int s = 24; s >= 0; s -= 8) in.push_back(static_cast<char>((round >> s) & 0xff));
  std::vector<uint32_t> r(n);
  KeyEntries(crypto::Sha256(in), 0, n, r.data());
  return r;
}

}  // namespace

Bytes MatrixKey(std::string_view seed, Matrix m) {
  Bytes in = m == Matrix::A ? "depai/compute/A" : "depai/compute/B";
  in.append(seed);
  return crypto::Sha256(in);
}

uint32_t Entry(std::string_view seed, uint32_t n, Matrix m, uint32_t i, uint32_t j) {
  uint32_t v = 0;
  KeyEntries(MatrixKey(seed, m), static_cast<uint64_t>(i) * n + j, 1, &v);
  return v;
}

void Row(std::string_view seed, uint32_t n, Matrix m, uint32_t i, uint32_t* out) {
  KeyEntries(MatrixKey(seed, m), static_cast<uint64_t>(i) * n, n, out);
}

void Entries(std::string_view seed, uint32_t n, Matrix m, uint64_t first, uint64_t count, uint32_t* out) {
  KeyEntries(MatrixKey(seed, m), first, count, out);
}

std::vector<uint32_t> Full(std::string_view seed, uint32_t n, Matrix m) {
  std::vector<uint32_t> out(static_cast<size_t>(n) * n);
  KeyEntries(MatrixKey(seed, m), 0, out.size(), out.data());
  return out;
}

std::vector<uint32_t> ComputeRow(std::string_view seed, uint32_t n, uint32_t i) {
  std::vector<uint32_t> a(n), b(n);
  Row(seed, n, Matrix::A, i, a.data());
  const Bytes key_b = MatrixKey(seed, Matrix::B);
  std::vector<uint64_t> acc(n, 0);  // n * (p-1)^2 < 2^62: no reduction until the end
  for (uint32_t k = 0; k < n; ++k) {
    KeyEntries(key_b, static_cast<uint64_t>(k) * n, n, b.data());  // row k of B
    const uint64_t ak = a[k];
    const uint32_t* bk = b.data();
    uint64_t* c = acc.data();
    for (uint32_t j = 0; j < n; ++j) c[j] += ak * bk[j];
  }
  std::vector<uint32_t> out(n);
  for (uint32_t j = 0; j < n; ++j) out[j] = static_cast<uint32_t>(acc[j] % kPrime);
  return out;
}

Bytes RowBytes(const uint32_t* row, uint32_t n) {
  Bytes out(static_cast<size_t>(n) * 4, '\0');
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t v = row[j];
    out[4 * j] = static_cast<char>(v & 0xff);
    out[4 * j + 1] = static_cast<char>((v >> 8) & 0xff);
    out[4 * j + 2] = static_cast<char>((v >> 16) & 0xff);
    out[4 * j + 3] = static_cast<char>((v >> 24) & 0xff);
  }
  return out;
}

bool ParseRow(std::string_view bytes, uint32_t n, std::vector<uint32_t>* out) {
  if (bytes.size() != static_cast<size_t>(n) * 4) return false;
  std::vector<uint32_t> row(n);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (uint32_t j = 0; j < n; ++j) {
    const uint32_t v = static_cast<uint32_t>(b[4 * j]) | (static_cast<uint32_t>(b[4 * j + 1]) << 8) |
                       (static_cast<uint32_t>(b[4 * j + 2]) << 16) | (static_cast<uint32_t>(b[4 * j + 3]) << 24);
    if (v >= kPrime) return false;
    row[j] = v;
  }
  if (out) *out = std::move(row);
  return true;
}

std::vector<uint32_t> SampleRows(std::string_view sample_seed, uint32_t n, uint32_t s) {
  std::vector<uint32_t> out;
  if (n == 0) return out;
  s = std::min(s, n);
  out.reserve(s);
  std::vector<bool> seen(n, false);
  Bytes in = "depai/compute/sample";
  in.append(sample_seed);
  const size_t prefix = in.size();
  for (uint32_t counter = 0; out.size() < s; ++counter) {
    in.resize(prefix);
    for (int sh = 24; sh >= 0; sh -= 8) in.push_back(static_cast<char>((counter >> sh) & 0xff));
    const Bytes h = crypto::Sha256(in);
    uint64_t v = 0;
    for (int b = 7; b >= 0; --b) v = (v << 8) | static_cast<uint8_t>(h[b]);  // LE64 of h[0..8]
    const auto idx = static_cast<uint32_t>(v % n);
    if (!seen[idx]) {
      seen[idx] = true;
      out.push_back(idx);
    }
  }
  return out;
}

Freivalds::Freivalds(std::string_view seed, uint32_t n, std::string_view r_seed, uint32_t rounds) : seed_(seed), n_(n) {
  for (uint32_t k = 0; k < rounds; ++k) r_.push_back(FreivaldsVector(r_seed, k, n));
  // B r_k, regenerating B one row at a time (memory O(n)).
  br_.assign(rounds, std::vector<uint32_t>(n));
  const Bytes key_b = MatrixKey(seed, Matrix::B);
  std::vector<uint32_t> b(n);
  for (uint32_t i = 0; i < n; ++i) {
    KeyEntries(key_b, static_cast<uint64_t>(i) * n, n, b.data());
    for (uint32_t k = 0; k < rounds; ++k) {
      const uint32_t* r = r_[k].data();
      uint64_t acc = 0;
      for (uint32_t j = 0; j < n; ++j) acc += static_cast<uint64_t>(b[j]) * r[j];
      br_[k][i] = static_cast<uint32_t>(acc % kPrime);
    }
  }
}

bool Freivalds::check_row(uint32_t i, const uint32_t* c_row) const {
  if (i >= n_) return false;
  for (uint32_t j = 0; j < n_; ++j)
    if (c_row[j] >= kPrime) return false;  // not a canonical row (ParseRow rejects these too)
  std::vector<uint32_t> a(n_);
  Row(seed_, n_, Matrix::A, i, a.data());
  for (size_t k = 0; k < r_.size(); ++k) {
    const uint32_t* r = r_[k].data();
    const uint32_t* br = br_[k].data();
    uint64_t lhs = 0, rhs = 0;  // each sum < n * (p-1)^2 < 2^62
    for (uint32_t j = 0; j < n_; ++j) {
      lhs += static_cast<uint64_t>(a[j]) * br[j];
      rhs += static_cast<uint64_t>(c_row[j]) * r[j];
    }
    if (lhs % kPrime != rhs % kPrime) return false;
  }
  return true;
}

}  // namespace depai::proof
