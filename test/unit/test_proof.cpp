// The compute challenge's arithmetic, Merkle commitments and the CPU prover (src/proof).
// Known-answer values were computed once by an independent implementation (Python: hashlib and
// the `cryptography` package's RFC 8439 ChaCha20, see doc/modules/verify-compute.md).
#include <gtest/gtest.h>
#include <sodium.h>

#include <set>

#include "crypto/hash.h"
#include "proof/compute.h"
#include "proof/merkle.h"
#include "proof/prover.h"

namespace depai::proof {
namespace {

std::string Seed(uint8_t start = 0) {
  std::string s(32, '\0');
  for (int i = 0; i < 32; ++i) s[i] = static_cast<char>(start + i);
  return s;
}

// The naive product from Full(A) and Full(B): the reference every prover is compared with.
std::vector<uint32_t> NaiveProduct(const std::string& seed, uint32_t n) {
  const auto a = Full(seed, n, Matrix::A);
  const auto b = Full(seed, n, Matrix::B);
  std::vector<uint32_t> c(static_cast<size_t>(n) * n);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      uint64_t acc = 0;
      for (uint32_t k = 0; k < n; ++k) acc += static_cast<uint64_t>(a[i * n + k]) * b[k * n + j];
      c[i * n + j] = static_cast<uint32_t>(acc % kPrime);
    }
  return c;
}

// Deterministic pseudo-random bytes for trial t.
Bytes TrialBytes(uint32_t t, uint32_t rounds) {
  return crypto::Sha256("trial " + std::to_string(t) + " " + std::to_string(rounds));
}

// ---- PRG ------------------------------------------------------------------------------------

TEST(ProofPrg, LibsodiumIsRfc8439BlockFunction) {
  // RFC 8439 section 2.3.2: key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1.
  unsigned char key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<unsigned char>(i);
  const unsigned char nonce[12] = {0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0};
  unsigned char block[64] = {};
  crypto_stream_chacha20_ietf_xor_ic(block, block, 64, nonce, 1, key);
  EXPECT_EQ(HexEncode(std::string_view(reinterpret_cast<char*>(block), 16)), "10f1e7e4d13b5915500fdd1fa32071c4");
}

TEST(ProofPrg, KnownAnswers) {
  const std::string seed = Seed();
  EXPECT_EQ(MatrixKey(seed, Matrix::A).size(), 32u);
  EXPECT_NE(MatrixKey(seed, Matrix::A), MatrixKey(seed, Matrix::B));
  const std::vector<uint32_t> a0 = {565919, 936588, 2835869, 6826137, 3567267, 251593, 2247222, 1650138};
  const std::vector<uint32_t> b0 = {4854702, 164620, 7216580, 3620136, 8268564, 3884110, 4552554, 4747032};
  std::vector<uint32_t> row(8);
  Row(seed, 8, Matrix::A, 0, row.data());
  EXPECT_EQ(row, a0);
  Row(seed, 8, Matrix::B, 0, row.data());
  EXPECT_EQ(row, b0);
  EXPECT_EQ(Entry(seed, 8, Matrix::A, 7, 7), 5781165u);
  EXPECT_EQ(Entry(seed, 24, Matrix::A, 7, 19), 3723788u);
  EXPECT_EQ(Entry(seed, 24, Matrix::B, 23, 23), 8108765u);
  EXPECT_EQ(ComputeRow(seed, 8, 0),
            (std::vector<uint32_t>{4633787, 2255373, 2966357, 7337098, 6778463, 317714, 2512011, 4817407}));
  EXPECT_EQ(ComputeRow(seed, 8, 5),
            (std::vector<uint32_t>{2510242, 2343341, 4479684, 569681, 3618523, 5828469, 907933, 7095456}));
  EXPECT_EQ(SampleRows(std::string(32, '\x07'), 1000, 10),
            (std::vector<uint32_t>{891, 132, 283, 437, 286, 402, 685, 588, 914, 460}));
  EXPECT_EQ(HexEncode(BuildTree(ProveCpu(seed, 8, 1)).root()),
            "dee3d3d2b83c78763fcb61e85818dce96daded907d9ab121043207c72bdea3e1");
}

TEST(ProofPrg, EveryPathAgrees) {
  const std::string seed = Seed(40);
  for (uint32_t n : {8u, 24u, 100u, 257u}) {  // rows that start mid-block, and a padded prover size
    for (Matrix m : {Matrix::A, Matrix::B}) {
      const auto full = Full(seed, n, m);
      ASSERT_EQ(full.size(), static_cast<size_t>(n) * n);
      for (unsigned t : {1u, 2u, 3u}) EXPECT_EQ(FullParallel(seed, n, m, t), full) << n << " threads " << t;
      std::vector<uint32_t> row(n);
      for (uint32_t i = 0; i < n; ++i) {
        Row(seed, n, m, i, row.data());
        ASSERT_TRUE(std::equal(row.begin(), row.end(), full.begin() + static_cast<size_t>(i) * n)) << n << " row " << i;
      }
      for (uint32_t i = 0; i < n; i += 7)
        for (uint32_t j = 0; j < n; j += 5) ASSERT_EQ(Entry(seed, n, m, i, j), full[i * n + j]);
      // Arbitrary ranges (odd starts and lengths) agree with Full.
      for (uint64_t first : {0ull, 1ull, 15ull, 16ull, 17ull, 33ull}) {
        const uint64_t count = std::min<uint64_t>(full.size() - first, 61);
        std::vector<uint32_t> part(count);
        Entries(seed, n, m, first, count, part.data());
        EXPECT_TRUE(std::equal(part.begin(), part.end(), full.begin() + first));
      }
      for (uint32_t v : full) ASSERT_LT(v, kPrime);
    }
    // The prover's internal generation: its product equals the one from Full.
    EXPECT_EQ(ProveCpu(seed, n, 2).c, NaiveProduct(seed, n)) << n;
  }
  EXPECT_NE(Full(Seed(1), 8, Matrix::A), Full(Seed(2), 8, Matrix::A));
}

// ---- ComputeRow vs the prover ---------------------------------------------------------------

TEST(ProofProver, ComputeRowMatchesProveCpu) {
  const std::string seed = Seed(9);
  for (uint32_t n : {64u, 100u, 256u}) {
    const auto naive = n <= 100 ? NaiveProduct(seed, n) : std::vector<uint32_t>{};
    std::vector<uint32_t> first;
    for (unsigned threads : {1u, 2u, 3u}) {
      const Product p = ProveCpu(seed, n, threads);
      ASSERT_EQ(p.n, n);
      ASSERT_EQ(p.c.size(), static_cast<size_t>(n) * n);
      if (first.empty()) first = p.c;
      EXPECT_EQ(p.c, first) << "n " << n << " threads " << threads;
      if (!naive.empty()) {
        EXPECT_EQ(p.c, naive);
      }
    }
    for (uint32_t i : {0u, 1u, n / 2, n - 1}) {
      const auto row = ComputeRow(seed, n, i);
      EXPECT_TRUE(std::equal(row.begin(), row.end(), first.begin() + static_cast<size_t>(i) * n)) << n << " " << i;
    }
  }
}

TEST(ProofProver, CudaReportsItsAbsence) {
  if (CudaAvailable()) GTEST_SKIP() << "a CUDA device is present (scripts/gpu-check.sh compares it)";
  auto r = ProveCuda(Seed(), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.error().message.empty());
}

// ---- rows -----------------------------------------------------------------------------------

TEST(ProofRow, ParseRowRoundTripAndRejects) {
  const std::vector<uint32_t> row = {0, 1, kPrime - 1, 12345, 7, 8, 9, 10};
  const Bytes b = RowBytes(row.data(), 8);
  ASSERT_EQ(b.size(), 32u);
  EXPECT_EQ(static_cast<uint8_t>(b[4]), 1);  // little-endian
  std::vector<uint32_t> out;
  ASSERT_TRUE(ParseRow(b, 8, &out));
  EXPECT_EQ(out, row);
  EXPECT_FALSE(ParseRow(b, 7, &out));
  EXPECT_FALSE(ParseRow(b, 9, &out));
  EXPECT_FALSE(ParseRow(b.substr(0, 31), 8, &out));
  EXPECT_FALSE(ParseRow(b + "x", 8, &out));
  EXPECT_FALSE(ParseRow("", 8, &out));
  for (uint32_t bad : {kPrime, kPrime + 1, 0xffffffffu}) {
    auto r = row;
    r[5] = bad;
    EXPECT_FALSE(ParseRow(RowBytes(r.data(), 8), 8, &out)) << bad;
  }
}

// ---- Merkle ---------------------------------------------------------------------------------

TEST(ProofMerkle, ProofsVerifyAndForgeriesFail) {
  for (uint32_t n : {1u, 2u, 3u, 5u, 8u, 1000u}) {
    std::vector<Bytes> leaves;
    for (uint32_t i = 0; i < n; ++i) leaves.push_back(LeafHash(i, n, "row " + std::to_string(i)));
    const MerkleTree tree(leaves);
    ASSERT_EQ(tree.size(), n);
    ASSERT_EQ(tree.root().size(), 32u);
    const uint32_t len = ProofLength(n);
    uint32_t expect_len = 0;
    while ((1u << expect_len) < n) ++expect_len;
    EXPECT_EQ(len, expect_len);
    Bytes other_root = tree.root();
    other_root[0] ^= 1;
    for (uint32_t i = 0; i < n; i += (n > 50 ? 37 : 1)) {
      const auto proof = tree.proof(i);
      ASSERT_EQ(proof.size(), len);
      EXPECT_TRUE(VerifyProof(tree.root(), n, i, leaves[i], proof)) << n << " " << i;
      // the wrong index (another valid one, and out of range)
      if (n > 1) {
        EXPECT_FALSE(VerifyProof(tree.root(), n, (i + 1) % n, leaves[i], proof));
        EXPECT_FALSE(VerifyProof(tree.root(), n, (i + 1) % n, leaves[(i + 1) % n], proof));
      }
      EXPECT_FALSE(VerifyProof(tree.root(), n, n, leaves[i], proof));
      EXPECT_FALSE(VerifyProof(tree.root(), n, i + (1u << len), leaves[i], proof));
      // the wrong length
      auto longer = proof;
      longer.push_back(Bytes(32, '\0'));
      EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i], longer));
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i], shorter));
        // a flipped byte in each sibling; a sibling of the wrong size
        for (size_t s = 0; s < proof.size(); ++s) {
          auto bad = proof;
          bad[s][31 - s % 32] ^= 0x80;
          EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i], bad)) << n << " " << i << " sib " << s;
          bad = proof;
          bad[s].push_back('\0');
          EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i], bad));
          bad = proof;
          bad[s].pop_back();
          EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i], bad));
        }
      }
      // the wrong root, the wrong leaf, the wrong n, malformed root/leaf
      EXPECT_FALSE(VerifyProof(other_root, n, i, leaves[i], proof));
      Bytes bad_leaf = leaves[i];
      bad_leaf[3] ^= 4;
      EXPECT_FALSE(VerifyProof(tree.root(), n, i, bad_leaf, proof));
      EXPECT_FALSE(VerifyProof(tree.root().substr(0, 31), n, i, leaves[i], proof));
      EXPECT_FALSE(VerifyProof(tree.root(), n, i, leaves[i].substr(0, 31), proof));
      EXPECT_FALSE(VerifyProof(tree.root(), 0, i, leaves[i], proof));
    }
    EXPECT_TRUE(tree.proof(n).empty());
  }
}

TEST(ProofMerkle, LeafBindsIndexAndSize) {
  EXPECT_NE(LeafHash(0, 4, "abc"), LeafHash(1, 4, "abc"));
  EXPECT_NE(LeafHash(0, 4, "abc"), LeafHash(0, 5, "abc"));
  EXPECT_NE(LeafHash(0, 4, "abc"), LeafHash(0, 4, "abd"));
  // n = 1: the root is the leaf, the proof is empty.
  const MerkleTree one({LeafHash(0, 1, "r")});
  EXPECT_EQ(one.root(), LeafHash(0, 1, "r"));
  EXPECT_TRUE(one.proof(0).empty());
  // padding: 3 leaves pad with 32 zero bytes.
  std::vector<Bytes> l = {LeafHash(0, 3, "a"), LeafHash(1, 3, "b"), LeafHash(2, 3, "c")};
  const MerkleTree three(l);
  EXPECT_EQ(three.root(), NodeHash(NodeHash(l[0], l[1]), NodeHash(l[2], Bytes(32, '\0'))));
}

TEST(ProofMerkle, BuildTreeOverRows) {
  const std::string seed = Seed(3);
  const uint32_t n = 40;
  const Product p = ProveCpu(seed, n);
  const MerkleTree tree = BuildTree(p);
  ASSERT_EQ(tree.size(), n);
  for (uint32_t i = 0; i < n; ++i) {
    const auto row = ComputeRow(seed, n, i);
    EXPECT_TRUE(VerifyProof(tree.root(), n, i, LeafHash(i, n, RowBytes(row.data(), n)), tree.proof(i)));
  }
}

// ---- sampling -------------------------------------------------------------------------------

TEST(ProofSample, DistinctDeterministicInRange) {
  for (uint32_t n : {8u, 100u, 4096u}) {
    for (uint32_t s : {1u, 5u, 8u, 32u}) {
      const uint32_t want = std::min(s, n);
      const auto rows = SampleRows("sample seed", n, s);
      ASSERT_EQ(rows.size(), want);
      EXPECT_EQ(SampleRows("sample seed", n, s), rows);
      std::set<uint32_t> uniq(rows.begin(), rows.end());
      EXPECT_EQ(uniq.size(), rows.size());
      for (uint32_t r : rows) EXPECT_LT(r, n);
      // a prefix of a longer draw
      const auto more = SampleRows("sample seed", n, want + 1);
      EXPECT_TRUE(std::equal(rows.begin(), rows.end(), more.begin()));
    }
  }
  EXPECT_EQ(SampleRows("x", 8, 8).size(), 8u);  // s == n terminates: a permutation
  EXPECT_NE(SampleRows("seed a", 4096, 8), SampleRows("seed b", 4096, 8));
}

// ---- Freivalds ------------------------------------------------------------------------------

TEST(ProofFreivalds, HonestRowsPass) {
  const std::string seed = Seed(5);
  const uint32_t n = 64;
  const Product p = ProveCpu(seed, n);
  for (uint32_t rounds : {1u, 2u}) {
    const Freivalds f(seed, n, "checker r", rounds);
    EXPECT_EQ(f.n(), n);
    for (uint32_t i = 0; i < n; ++i) EXPECT_TRUE(f.check_row(i, p.c.data() + i * n)) << i;
    // a correct row presented as another index fails
    EXPECT_FALSE(f.check_row(1, p.c.data()));
    EXPECT_FALSE(f.check_row(n, p.c.data()));
  }
}

TEST(ProofFreivalds, CatchesASingleWrongEntry) {
  const std::string seed = Seed(6);
  const uint32_t n = 96;
  const Product p = ProveCpu(seed, n);
  uint32_t trials = 0;
  for (uint32_t rounds : {1u, 2u}) {
    for (uint32_t t = 0; t < 150; ++t) {
      // A random row, column and nonzero error, from a deterministic stream.
      const Bytes h = TrialBytes(t, rounds);
      const uint32_t i = GetU64BE(h) % n;
      const uint32_t j = GetU64BE(h.substr(8)) % n;
      const uint32_t delta = 1 + static_cast<uint32_t>(GetU64BE(h.substr(16)) % (kPrime - 1));
      std::vector<uint32_t> row(p.c.begin() + static_cast<size_t>(i) * n, p.c.begin() + static_cast<size_t>(i + 1) * n);
      row[j] = static_cast<uint32_t>((static_cast<uint64_t>(row[j]) + delta) % kPrime);
      const Freivalds f(seed, n, "r" + std::to_string(t), rounds);
      EXPECT_FALSE(f.check_row(i, row.data())) << "trial " << t << " row " << i << " col " << j;
      // the same row, uncorrupted, passes under the same r
      EXPECT_TRUE(f.check_row(i, p.c.data() + static_cast<size_t>(i) * n));
      ++trials;
    }
  }
  EXPECT_EQ(trials, 300u);
  // a non-canonical value (>= p) is rejected even when congruent to the right one
  std::vector<uint32_t> row(p.c.begin(), p.c.begin() + n);
  row[0] += kPrime;
  EXPECT_FALSE(Freivalds(seed, n, "r", 2).check_row(0, row.data()));
}

}  // namespace
}  // namespace depai::proof
