// The devnet's SigVerifier: workers plus the App thread that helps instead of waiting. A block
// run with it gives exactly the results and app hash of the block run without it, including a
// tx whose signature is forged and one whose signer signs twice in the block.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "devnet/sig_verifier.h"
#include "ledger_fixture.h"

using namespace depai;
using depai::test::TestLedger;

namespace {

std::vector<Bytes> MixedBlock(TestLedger& L) {
  std::vector<Bytes> txs;
  for (int round = 0; round < 6; ++round)
    for (size_t i = 0; i < L.accounts.size(); ++i) {
      txs.push_back(L.Send(i, L.accounts[(i + 1) % L.accounts.size()].bech32, "5udpai"));
      ++L.accounts[i].sequence;  // the next tx of this signer in the same block
    }
  Bytes forged = L.Send(0, L.accounts[1].bech32, "7udpai");
  forged[forged.size() - 3] ^= 0x01;  // inside the signature (the last field of TxRaw)
  txs.push_back(forged);              // its sequence is right: only the signature is wrong
  return txs;
}

struct BlockRun {
  std::vector<std::pair<uint32_t, std::string>> results;
  Bytes app_hash;
};

BlockRun RunBlock(unsigned workers) {
  TestLedger L(6);
  auto txs = MixedBlock(L);
  std::unique_ptr<devnet::SigVerifier> v;
  if (workers) {
    v = std::make_unique<devnet::SigVerifier>(workers);
    v->prepare(*L.app, txs);
    L.app->set_sig_cache(v.get());
  }
  BlockRun r;
  for (const auto& res : L.Block(txs)) r.results.emplace_back(res.code, res.codespace);
  L.app->set_sig_cache(nullptr);
  r.app_hash = L.last_app_hash;
  return r;
}

}  // namespace

TEST(SigVerifier, WorkersAndTheHelpingAppThreadGiveTheResultsOfNoCache) {
  const BlockRun plain = RunBlock(0);
  ASSERT_EQ(plain.results.size(), 37u);
  size_t ok = 0;
  for (const auto& [code, cs] : plain.results) ok += code == 0;
  EXPECT_EQ(ok, 36u);                      // every honest transfer
  EXPECT_EQ(plain.results[36].first, 4u);  // the forged signature: unauthorized (root code 4)
  for (unsigned workers : {1u, 2u, 4u}) {
    const BlockRun with = RunBlock(workers);
    EXPECT_EQ(with.results, plain.results) << workers << " workers";
    EXPECT_EQ(with.app_hash, plain.app_hash) << workers << " workers";
  }
}

TEST(SigVerifier, DefaultWorkersLeavesACoreForTheApp) {
  const unsigned cores = std::thread::hardware_concurrency();
  EXPECT_EQ(devnet::SigVerifier::DefaultWorkers(), cores > 1 ? cores - 1 : 1u);
}

// The next block's txs checked ahead (prefetch, as the devnet does with its mempool) are kept by
// the next prepare(): two blocks give the results and app hashes of no cache, including a forged
// signature and a prefetched tx that never comes (the next block differs from the guess).
TEST(SigVerifier, PrefetchedNextBlockGivesTheResultsOfNoCache) {
  size_t reused = 0;
  auto run = [&reused](bool with) {
    TestLedger L(6);
    const auto first = MixedBlock(L);  // advances the fixture's sequences past `first`
    std::vector<Bytes> second;
    for (size_t i = 0; i < L.accounts.size(); ++i) {
      second.push_back(L.Send(i, L.accounts[(i + 2) % L.accounts.size()].bech32, "3udpai"));
      ++L.accounts[i].sequence;
    }
    Bytes forged = L.Send(2, L.accounts[3].bech32, "1udpai");
    forged[forged.size() - 5] ^= 0x40;
    second.push_back(forged);
    const Bytes never = L.Send(3, L.accounts[4].bech32, "9udpai", "11udpai");  // guessed, not included
    std::unique_ptr<devnet::SigVerifier> v;
    if (with) v = std::make_unique<devnet::SigVerifier>(1);
    std::vector<std::pair<uint32_t, std::string>> results;
    std::vector<Bytes> hashes;
    const std::vector<Bytes>* blocks[] = {&first, &second};
    for (const auto* block : blocks) {
      if (v) {
        if (block == &second) {
          // Give the worker time to reach the prefetched txs (well under a millisecond of checks)
          // before prepare() drops whatever it has not started.
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
        v->prepare(*L.app, *block);
        if (block == &first) {
          auto guess = second;
          guess.push_back(never);
          v->prefetch(*L.app, guess);
        }
        L.app->set_sig_cache(v.get());
      }
      for (const auto& res : L.Block(*block)) results.emplace_back(res.code, res.codespace);
      L.app->set_sig_cache(nullptr);
      hashes.push_back(L.last_app_hash);
    }
    if (v) reused = v->reused();
    return std::make_pair(results, hashes);
  };
  const auto plain = run(false), with = run(true);
  ASSERT_EQ(plain.first.size(), 37u + 7u);
  EXPECT_EQ(plain.first.back().first, 4u);  // the forged signature in the second block
  EXPECT_EQ(with.first, plain.first);
  EXPECT_EQ(with.second, plain.second);
  EXPECT_GT(reused, 0u);  // the second block's prefetched signatures were not verified again
}
