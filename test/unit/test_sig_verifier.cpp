// The devnet's SigVerifier: workers plus the App thread that helps instead of waiting. A block
// run with it gives exactly the results and app hash of the block run without it, including a
// tx whose signature is forged and one whose signer signs twice in the block.
#include <gtest/gtest.h>

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
