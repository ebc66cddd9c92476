// Determinism: the same seeded sequence of blocks, applied twice from scratch, gives identical
// app hashes at every height, identical results, and identical exported state.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "crypto/ed25519.h"
#include "ledger_fixture.h"

using namespace depai;
using depai::test::TestLedger;

namespace {

// Generates a block of mixed valid and invalid txs from a seeded PRNG (test-only randomness).
std::vector<Bytes> RandomBlock(TestLedger& L, std::mt19937_64& rng) {
  std::vector<Bytes> txs;
  size_t n = rng() % 20;
  std::vector<uint64_t> seq(L.accounts.size());
  for (size_t i = 0; i < L.accounts.size(); ++i) seq[i] = L.accounts[i].sequence;
  for (size_t t = 0; t < n; ++t) {
    size_t from = rng() % L.accounts.size(), to = rng() % L.accounts.size();
    uint64_t amount = rng() % 2'000'000'000;  // sometimes more than the balance
    int kind = static_cast<int>(rng() % 10);
    std::string denom = kind == 7 ? "ufoo" : "udpai";
    std::string chain = kind == 8 ? "wrong-chain" : TestLedger::kChainId;
    uint64_t s = kind == 9 ? seq[from] + 3 : seq[from];
    Bytes tx = L.Send(from, L.accounts[to].bech32, std::to_string(amount + 1) + denom, "10udpai", chain, s);
    if (kind == 6) tx[tx.size() - 3] ^= 0x40;  // corrupt the signature
    if (kind < 6) ++seq[from];
    txs.push_back(tx);
  }
  return txs;
}

struct ChainRun {
  std::vector<Bytes> hashes;
  std::vector<std::vector<std::pair<uint32_t, std::string>>> results;
  std::string exported;
};

ChainRun Apply(uint64_t seed, const app::SigCache* cache = nullptr) {
  TestLedger L(6);
  L.app->set_sig_cache(cache);
  std::mt19937_64 rng(seed);
  ChainRun run;
  for (int h = 0; h < 40; ++h) {
    auto res = L.Block(RandomBlock(L, rng));
    run.hashes.push_back(L.AppHash());
    std::vector<std::pair<uint32_t, std::string>> codes;
    for (const auto& r : res) codes.emplace_back(r.code, r.codespace);
    run.results.push_back(codes);
    EXPECT_TRUE(L.app->CheckInvariants().ok());
  }
  run.exported = L.app->ExportGenesis().value();
  return run;
}

// A cache that really verifies (like the devnet's parallel pre-verifier) and remembers.
class RecordingCache : public app::SigCache {
 public:
  bool verified(std::string_view pk, std::string_view msg, std::string_view sig) const override {
    return crypto::Verify(pk, msg, sig);
  }
};

}  // namespace

TEST(Determinism, SeededBlocksTwiceGiveIdenticalAppHashes) {
  ChainRun a = Apply(42), b = Apply(42);
  ASSERT_EQ(a.hashes.size(), 40u);
  EXPECT_EQ(a.hashes, b.hashes);
  EXPECT_EQ(a.results, b.results);
  EXPECT_EQ(a.exported, b.exported);
  // The run exercised both successes and failures, and the state moved.
  std::set<uint32_t> codes;
  for (const auto& blk : a.results)
    for (const auto& [c, cs] : blk) codes.insert(c);
  EXPECT_TRUE(codes.count(0));
  EXPECT_GE(codes.size(), 3u);
  EXPECT_NE(a.hashes.front(), a.hashes.back());
}

TEST(Determinism, DifferentSeedsDiverge) {
  ChainRun a = Apply(1), b = Apply(2);
  EXPECT_NE(a.hashes.back(), b.hashes.back());
}

TEST(Determinism, SignatureCacheDoesNotChangeResults) {
  RecordingCache cache;
  ChainRun a = Apply(7), b = Apply(7, &cache);
  EXPECT_EQ(a.hashes, b.hashes);
  EXPECT_EQ(a.results, b.results);
}
