#include "proof/merkle.h"

#include <cstring>

#include "crypto/hash.h"

namespace depai::proof {

namespace {
constexpr size_t kHash = 32;

void PutBE32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

uint32_t PaddedLeaves(uint32_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return static_cast<uint32_t>(p);
}
}  // namespace

Bytes LeafHash(uint32_t index, uint32_t n, std::string_view row_bytes) {
  Bytes in;
  in.reserve(9 + row_bytes.size());
  in.push_back('\x00');
  PutBE32(in, index);
  PutBE32(in, n);
  in.append(row_bytes);
  return crypto::Sha256(in);
}

Bytes NodeHash(std::string_view left, std::string_view right) {
  char buf[1 + 2 * kHash];
  buf[0] = '\x01';
  // Callers pass 32-byte hashes; anything else is hashed as given (and will not match a tree).
  Bytes in;
  if (left.size() == kHash && right.size() == kHash) {
    std::memcpy(buf + 1, left.data(), kHash);
    std::memcpy(buf + 1 + kHash, right.data(), kHash);
    return crypto::Sha256(std::string_view(buf, sizeof buf));
  }
  in.push_back('\x01');
  in.append(left);
  in.append(right);
  return crypto::Sha256(in);
}

uint32_t ProofLength(uint32_t n) {
  uint32_t len = 0;
  for (uint64_t p = 1; p < n; p <<= 1) ++len;
  return len;
}

MerkleTree::MerkleTree(std::vector<Bytes> leaves) : n_(static_cast<uint32_t>(leaves.size())) {
  const uint32_t padded = PaddedLeaves(n_ == 0 ? 1 : n_);
  leaves.resize(padded, Bytes(kHash, '\0'));
  levels_.push_back(std::move(leaves));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<Bytes> up(below.size() / 2);
    for (size_t k = 0; k < up.size(); ++k) up[k] = NodeHash(below[2 * k], below[2 * k + 1]);
    levels_.push_back(std::move(up));
  }
}

const Bytes& MerkleTree::root() const { return levels_.back()[0]; }

std::vector<Bytes> MerkleTree::proof(uint32_t index) const {
  std::vector<Bytes> out;
  if (index >= n_) return out;
  size_t pos = index;
  for (size_t lv = 0; lv + 1 < levels_.size(); ++lv) {
    out.push_back(levels_[lv][pos ^ 1]);
    pos >>= 1;
  }
  return out;
}

bool VerifyProof(std::string_view root, uint32_t n, uint32_t index, std::string_view leaf_hash,
                 const std::vector<Bytes>& proof) {
  if (n == 0 || index >= n || root.size() != kHash || leaf_hash.size() != kHash) return false;
  if (proof.size() != ProofLength(n)) return false;
  char node[kHash];
  std::memcpy(node, leaf_hash.data(), kHash);
  char buf[1 + 2 * kHash];
  buf[0] = '\x01';
  uint32_t pos = index;
  for (const Bytes& sib : proof) {
    if (sib.size() != kHash) return false;
    if (pos & 1) {
      std::memcpy(buf + 1, sib.data(), kHash);
      std::memcpy(buf + 1 + kHash, node, kHash);
    } else {
      std::memcpy(buf + 1, node, kHash);
      std::memcpy(buf + 1 + kHash, sib.data(), kHash);
    }
    const Bytes h = crypto::Sha256(std::string_view(buf, sizeof buf));
    std::memcpy(node, h.data(), kHash);
    pos >>= 1;
  }
  return std::string_view(node, kHash) == root;
}

}  // namespace depai::proof
