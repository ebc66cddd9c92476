// A row opening as the checker and the chain decode it (proof/compute.h ParseRow, proof/merkle.h
// VerifyProof): never crashes; an opening that parses and verifies against the committed root is
// exactly the committed row (anything else would be a SHA-256 collision).
// Input: n = 8 * (1 + in[0] % 4); index = in[1]; siblings = in[2] % 16, each one length byte
// (% 41) and that many bytes; the rest is the row. The tree is over C of a fixed seed (00..1f).
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "proof/compute.h"
#include "proof/merkle.h"

namespace {
struct Committed {
  std::vector<std::vector<uint32_t>> rows;
  depai::Bytes root;
};

const Committed& TreeFor(uint32_t n) {
  static std::map<uint32_t, Committed> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  std::string seed(32, '\0');
  for (int i = 0; i < 32; ++i) seed[i] = static_cast<char>(i);
  Committed c;
  std::vector<depai::Bytes> leaves;
  for (uint32_t i = 0; i < n; ++i) {
    c.rows.push_back(depai::proof::ComputeRow(seed, n, i));
    leaves.push_back(depai::proof::LeafHash(i, n, depai::proof::RowBytes(c.rows.back().data(), n)));
  }
  c.root = depai::proof::MerkleTree(std::move(leaves)).root();
  return cache.emplace(n, std::move(c)).first->second;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint32_t n = 8 * (1 + data[0] % 4);
  const uint32_t index = data[1];
  const unsigned nsib = data[2] % 16;
  size_t pos = 3;
  std::vector<depai::Bytes> proof;
  for (unsigned s = 0; s < nsib && pos < size; ++s) {
    const size_t len = data[pos++] % 41;
    const size_t take = std::min(len, size - pos);
    proof.emplace_back(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
  }
  const std::string_view row_bytes(reinterpret_cast<const char*>(data + pos), size - pos);
  std::vector<uint32_t> row;
  const bool parsed = depai::proof::ParseRow(row_bytes, n, &row);
  if (parsed && (row.size() != n || depai::proof::RowBytes(row.data(), n) != row_bytes)) std::abort();
  const Committed& c = TreeFor(n);
  const bool verified = depai::proof::VerifyProof(c.root, n, index, depai::proof::LeafHash(index, n, row_bytes), proof);
  if (verified && (index >= n || proof.size() != depai::proof::ProofLength(n))) std::abort();
  if (verified && parsed && row != c.rows[index]) std::abort();
  return 0;
}
