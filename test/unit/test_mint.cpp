// x/mint: the halving schedule against its closed form (both modes, up to the cap), the chain's
// emissions block by block against the same closed form, the bank's max_supply clip, and genesis
// validation.
#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "x/mint/keeper.h"
#include "x/rewards/keeper.h"

namespace depai {
namespace {

using nlohmann::json;
using test::TestLedger;
using x::mint::ParsedParams;
namespace mv1 = depai::mint::v1;

ParsedParams P(uint64_t r, int64_t h, uint64_t cap, mv1::HalvingMode mode = mv1::HALVING_MODE_BLOCKS) {
  ParsedParams p;
  p.initial_reward = Amount::Of(r).value();
  p.halving_blocks = h;
  p.max_emission = Amount::Of(cap).value();
  p.mode = mode;
  return p;
}

// The schedule applied one block at a time (what begin_block does, without the bank clip).
std::vector<uint64_t> Iterate(const ParsedParams& p, uint64_t n) {
  std::vector<uint64_t> totals{0};
  Amount m;
  for (uint64_t b = 0; b < n; ++b) {
    m = m.add(x::mint::ScheduledReward(p, b, m)).value();
    totals.push_back(m.raw());
  }
  return totals;
}

TEST(Mint, BlocksModeTotalEqualsClosedFormForEveryN) {
  for (auto p : {P(1000, 7, 1'000'000'000), P(1000, 7, 12'345), P(1, 3, 100), P(999'999, 1, 5'000'000)}) {
    auto it = Iterate(p, 800);
    for (uint64_t n = 0; n <= 800; ++n) ASSERT_EQ(x::mint::TotalAfter(p, n).raw(), it[n]) << "n=" << n;
  }
  // Closed form by hand for one case: R=1000, H=7: eras of 7 blocks at 1000, 500, 250, ...
  auto p = P(1000, 7, 1'000'000'000);
  EXPECT_EQ(x::mint::TotalAfter(p, 7).raw(), 7000u);
  EXPECT_EQ(x::mint::TotalAfter(p, 10).raw(), 7000u + 3 * 500);
  EXPECT_EQ(x::mint::TotalAfter(p, 21).raw(), 7u * (1000 + 500 + 250));
  // The geometric limit: sum over eras of 7 * (1000 >> k) = 7 * 1994 (integer halvings).
  EXPECT_EQ(x::mint::TotalAfter(p, 7 * 100).raw(), 7u * 1994);
  EXPECT_EQ(x::mint::TotalAfter(p, 1'000'000'000'000ULL).raw(), 7u * 1994);
  // The cap binds: minting stops exactly at it.
  EXPECT_EQ(x::mint::TotalAfter(P(1000, 7, 12'345), 1'000'000).raw(), 12'345u);
}

TEST(Mint, IssuanceModeHalvesAtFractionsOfTheCap) {
  for (auto p : {P(1000, 0, 100'000, mv1::HALVING_MODE_ISSUANCE), P(7, 0, 1000, mv1::HALVING_MODE_ISSUANCE),
                 P(64, 0, 1 << 20, mv1::HALVING_MODE_ISSUANCE)}) {
    auto it = Iterate(p, 3000);
    for (uint64_t n = 0; n <= 3000; ++n) ASSERT_EQ(x::mint::TotalAfter(p, n).raw(), it[n]) << "n=" << n;
  }
  // Bittensor's shape: 1000/block until half the cap (50 blocks), 500/block until 3/4 (50 more).
  auto p = P(1000, 0, 100'000, mv1::HALVING_MODE_ISSUANCE);
  EXPECT_EQ(x::mint::Era(p, 0, Amount::Of(49'999).value()), 0u);
  EXPECT_EQ(x::mint::Era(p, 0, Amount::Of(50'000).value()), 1u);
  EXPECT_EQ(x::mint::Era(p, 0, Amount::Of(75'000).value()), 2u);
  EXPECT_EQ(x::mint::TotalAfter(p, 50).raw(), 50'000u);
  EXPECT_EQ(x::mint::TotalAfter(p, 100).raw(), 75'000u);
  EXPECT_EQ(x::mint::TotalAfter(p, 150).raw(), 87'500u);
  // Never past the cap.
  EXPECT_LE(x::mint::TotalAfter(p, 100'000'000).raw(), 100'000u);
}

json MintGenesis(TestLedger& L, const json& mint, const std::string& udpai_max = "1000000000000000000") {
  json g = L.Genesis();
  g["mint"] = json{{"params", mint}};
  g["rewards"] = json{{"params", {{"epoch_blocks", "1000000"}}}};
  g["bank"]["denom_metadata"][0]["max_supply"] = udpai_max;
  return g;
}

void Init(TestLedger& L, const json& g) {
  auto req = L.InitRequest();
  req.app_state_bytes = g.dump();
  auto r = L.app->InitChain(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(Mint, ChainEmissionsFollowTheClosedFormBlockByBlock) {
  TestLedger L(4, "", false);
  Init(L, MintGenesis(L, {{"initial_reward", "1000"}, {"halving_blocks", "5"}, {"max_emission", "8888"}}));
  const auto pending = crypto::AddressToBech32(x::mint::RewardsPendingAddress());
  const auto p = P(1000, 5, 8888);
  uint64_t supply0 = 0;
  for (uint64_t n = 1; n <= 40; ++n) {
    L.Block({});
    auto st = L.Query("/mint/status");
    ASSERT_EQ(st["minter"]["minted"], std::to_string(x::mint::TotalAfter(p, n).raw())) << "block " << n;
    ASSERT_EQ(L.Balance(pending), x::mint::TotalAfter(p, n).raw());
    auto sup = L.Query("/bank/supply")["supply"];
    uint64_t s = 0;
    for (const auto& c : sup)
      if (c["denom"] == "udpai") s = std::stoull(c["amount"].get<std::string>());
    if (n == 1) supply0 = s - 1000;
    ASSERT_EQ(s, supply0 + x::mint::TotalAfter(p, n).raw());
  }
  EXPECT_EQ(L.Query("/mint/status")["minter"]["minted"], "8888");  // 5*(1000+500+250+125) = 9375 > cap
  EXPECT_EQ(L.Query("/mint/status")["remaining"], "0");
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Mint, NeverMintsPastTheBanksMaxSupply) {
  TestLedger L(4, "", false);
  const uint64_t genesis_supply = 4 * TestLedger::kInitialBalance;
  Init(L,
       MintGenesis(L, {{"initial_reward", "1000"}, {"halving_blocks", "100"}}, std::to_string(genesis_supply + 2500)));
  for (int i = 0; i < 5; ++i) L.Block({});  // 1000, 1000, 500 (clipped), 0, 0: never a halt
  EXPECT_EQ(L.Query("/mint/status")["minter"]["minted"], "2500");
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

TEST(Mint, BadGenesisIsRefusedWithTheField) {
  TestLedger L(4, "", false);
  auto req = L.InitRequest();
  req.app_state_bytes = MintGenesis(L, {{"halving_blocks", "0"}}).dump();
  auto r = L.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("halving_blocks"), std::string::npos) << r.error().message;
  req.app_state_bytes = MintGenesis(L, {{"initial_reward", "-5"}}).dump();
  r = L.app->InitChain(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("initial_reward"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace depai
