// Determinism: the same seeded sequence of blocks, applied twice from scratch, gives identical
// app hashes at every height, identical results, and identical exported state.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "ledger_fixture.h"
#include "x/types/module.h"

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

// ---- every module's generator --------------------------------------------------------------

namespace {

struct SimChainRun {
  std::vector<Bytes> hashes;
  std::vector<std::vector<std::pair<uint32_t, std::string>>> results;
  std::string exported;
  std::map<std::string, std::set<uint32_t>> codes_by_module;  // module -> result codes seen
};

// Seeded blocks built from the App's own modules' random_msg generators: each tx picks a module
// at random, asks it for a message against the committed state, and signs it. Some txs carry
// two messages from two modules (the second must see the first's writes).
SimChainRun ApplyGenerated(uint64_t seed, int blocks) {
  TestLedger L(8, "", false);
  {
    // The economy runs too: emissions every block, halving every 15, epochs of 7 blocks; two sim
    // accounts feed x/oracle's price (its generator posts from them and from others).
    nlohmann::json g = L.Genesis();
    g["mint"] = {{"params", {{"initial_reward", "1000000"}, {"halving_blocks", "15"}}}};
    g["rewards"] = {{"params", {{"epoch_blocks", "7"}}}};
    g["oracle"] = {{"params", {{"feeders", nlohmann::json::array({L.accounts[0].bech32, L.accounts[1].bech32})}}}};
    // Short challenge periods, so generated channels also settle within the run.
    g["channel"] = {{"params", {{"min_challenge_blocks", "2"}}}};
    auto req = L.InitRequest();
    req.app_state_bytes = g.dump();
    if (!L.app->InitChain(req).ok()) throw std::runtime_error("InitChain");
    L.Block({});
  }
  std::vector<x::SimAccount> accounts;
  for (const auto& a : L.accounts) accounts.push_back(x::SimAccount{a.addr, a.bech32});
  const auto modules = L.app->Modules();
  x::SimRng rng(seed);
  SimChainRun run;
  std::vector<Bytes> pubkeys;
  for (const auto& a : L.accounts) pubkeys.push_back(a.key.pubkey);
  for (int b = 0; b < blocks; ++b) {
    x::SimState sim{L.app->committed_state(), accounts, rng, L.app->last_height() + 1, TestLedger::kChainId, pubkeys};
    std::map<Bytes, uint64_t> wallet_seq;  // agent wallets' sequences within this block
    std::vector<Bytes> txs;
    std::vector<std::string> first_module;
    const uint64_t n = 4 + rng.below(12);
    for (uint64_t i = 0; i < n; ++i) {
      const x::Module* m = modules[rng.below(modules.size())];
      auto msg = m->random_msg(sim);
      if (!msg) continue;
      std::vector<google::protobuf::Any> msgs{msg->msg};
      if (rng.chance(15)) {  // a second message from another module, same signer
        const x::Module* m2 = modules[rng.below(modules.size())];
        auto more = m2->random_msg(sim);
        if (more && more->signer == msg->signer && more->wallet == msg->wallet) msgs.push_back(more->msg);
      }
      if (!msg->wallet.empty()) {  // signed for an agent wallet with a session key
        auto acc = L.Query("/auth/account/" + crypto::AddressToBech32(msg->wallet));
        if (!acc.contains("account_number")) continue;
        auto [it, fresh] = wallet_seq.emplace(msg->wallet, std::stoull(acc["sequence"].get<std::string>()));
        client::SignerData sd{TestLedger::kChainId, std::stoull(acc["account_number"].get<std::string>()), it->second++,
                              msg->wallet};
        client::TxOptions opts;
        opts.fee = Coins::Parse("10udpai").value();
        txs.push_back(client::BuildSignedTx(L.accounts[msg->signer].key, sd, msgs, opts));
        first_module.push_back(m->name());
        continue;
      }
      txs.push_back(L.SignAny(msg->signer, msgs));
      L.accounts[msg->signer].sequence++;
      first_module.push_back(m->name());
    }
    auto res = L.Block(txs);  // resyncs sequences from state afterwards
    run.hashes.push_back(L.AppHash());
    std::vector<std::pair<uint32_t, std::string>> codes;
    for (size_t i = 0; i < res.size(); ++i) {
      codes.emplace_back(res[i].code, res[i].codespace);
      run.codes_by_module[first_module[i]].insert(res[i].code);
    }
    run.results.push_back(codes);
    auto inv = L.app->CheckInvariants();
    EXPECT_TRUE(inv.ok()) << "block " << b << ": " << inv.error().message;
  }
  run.exported = L.app->ExportGenesis().value();
  return run;
}

}  // namespace

TEST(Determinism, EveryModulesGeneratorTwiceFromScratchGivesIdenticalHashesAndExports) {
  SimChainRun a = ApplyGenerated(2026, 40), b = ApplyGenerated(2026, 40);
  ASSERT_EQ(a.hashes.size(), 40u);
  EXPECT_EQ(a.hashes, b.hashes);
  EXPECT_EQ(a.results, b.results);
  EXPECT_EQ(a.exported, b.exported);
  // Every module that has messages took part, with successes and failures.
  for (const char* m : {"bank", "identity", "provider", "market", "verify", "oracle", "bme", "wallet", "channel"}) {
    ASSERT_TRUE(a.codes_by_module.count(m)) << m << " generated nothing";
    EXPECT_TRUE(a.codes_by_module.at(m).count(0)) << m << ": no message succeeded";
    EXPECT_GE(a.codes_by_module.at(m).size(), 2u) << m << ": no message failed";
  }
  EXPECT_NE(a.hashes.front(), a.hashes.back());
  EXPECT_NE(ApplyGenerated(2027, 40).hashes.back(), a.hashes.back());
  // The block-driven modules ran: x/mint minted and x/rewards closed epochs (in the export).
  auto exported = nlohmann::json::parse(a.exported)["app_state"];
  EXPECT_NE(exported["mint"]["minter"]["minted"], "0");
  EXPECT_GE(exported["rewards"]["epochs"].size(), 5u);
}
