// VerifiedSigs: only triples that verified are remembered; eviction is bounded; and the ABCI
// handler's pre-verification changes no result (same codes and app hash as without it).
#include <gtest/gtest.h>

#include "abci/server.h"
#include "abci/translate.h"
#include "ledger_fixture.h"

using namespace depai;

TEST(AbciSigCache, RemembersOnlyValidSignatures) {
  crypto::InitCrypto();
  auto key = *crypto::KeyFromSeed(crypto::Sha256("sig-cache"));
  std::string msg = "sign bytes";
  Bytes sig = crypto::Sign(key, msg);
  abci::VerifiedSigs cache(4);
  EXPECT_FALSE(cache.verified(key.pubkey, msg, sig));
  Bytes bad = sig;
  bad[0] ^= 1;
  EXPECT_FALSE(cache.verify_and_record(key.pubkey, msg, bad));
  EXPECT_FALSE(cache.verified(key.pubkey, msg, bad));
  EXPECT_TRUE(cache.verify_and_record(key.pubkey, msg, sig));
  EXPECT_TRUE(cache.verified(key.pubkey, msg, sig));
  EXPECT_FALSE(cache.verified(key.pubkey, "other bytes", sig));  // same signature, other message
  // Bounded: the oldest entry goes first.
  for (int i = 0; i < 4; ++i) {
    std::string m = "m" + std::to_string(i);
    EXPECT_TRUE(cache.verify_and_record(key.pubkey, m, crypto::Sign(key, m)));
  }
  EXPECT_EQ(cache.size(), 4u);
  EXPECT_FALSE(cache.verified(key.pubkey, msg, sig));
  EXPECT_TRUE(cache.verified(key.pubkey, "m3", crypto::Sign(key, "m3")));
}

TEST(AbciSigCache, HandlerPreVerificationChangesNoResult) {
  // Two ledgers, same txs: one driven through the ABCI handler (pre-verifying CheckTx
  // signatures into the cache), one called directly. Codes and app hashes must match.
  test::TestLedger direct, via_abci;
  abci::VerifiedSigs sigs;
  std::mutex mu;
  abci::Handler handler(*via_abci.app, mu, &sigs);
  via_abci.app->set_sig_cache(&sigs);
  std::vector<Bytes> txs;
  for (int i = 0; i < 6; ++i) txs.push_back(direct.Send(i % 4, direct.accounts[(i + 1) % 4].bech32, "5udpai"));
  Bytes forged = direct.Send(0, direct.accounts[1].bech32, "5udpai", "10udpai", test::TestLedger::kChainId, 99);
  forged[forged.size() - 3] ^= 1;  // corrupt the signature
  txs.push_back(forged);
  for (const auto& tx : txs) {
    ::tendermint::abci::Request req;
    req.mutable_check_tx()->set_tx(tx);
    bool fault = false;
    auto resp = handler.Handle(req, &fault);
    EXPECT_FALSE(fault);
    EXPECT_EQ(resp.check_tx().code(), direct.app->CheckTx({tx, app::CheckTxType::kNew}).code);
  }
  EXPECT_GT(sigs.size(), 0u);
  auto r1 = direct.Block(txs);
  auto r2 = via_abci.Block(txs);
  ASSERT_EQ(r1.size(), r2.size());
  for (size_t i = 0; i < r1.size(); ++i) EXPECT_EQ(r1[i].code, r2[i].code) << i;
  EXPECT_NE(r1.back().code, 0u);
  EXPECT_EQ(direct.last_app_hash, via_abci.last_app_hash);
  via_abci.app->set_sig_cache(nullptr);
}
