// x/rewards: the epoch distribution sums exactly to the pool (remainders carried, never lost),
// work and availability shares follow their formulas, failed verification earns nothing, lease
// payments become revenue and work at the right USD value, and the epoch record shows revenue,
// subsidy and their ratio exactly. The keeper runs on a real bank keeper over a MemStore, with
// fakes for mint, oracle, verify, providers and market. The app-level test runs a chain.
#include <gtest/gtest.h>

#include <map>

#include "crypto/bech32.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/bank/keeper.h"
#include "x/mint/keeper.h"
#include "x/rewards/keeper.h"

namespace depai {
namespace {

using nlohmann::json;
using test::TestLedger;
using x::rewards::Leased;
using x::rewards::Standing;

struct Bank : x::rewards::BankKeeper {
  const x::bank::Keeper* k;
  explicit Bank(const x::bank::Keeper* b) : k(b) {}
  Result<Amount> balance(const store::KVReader& s, std::string_view a, std::string_view d) const override {
    return k->balance(s, a, d);
  }
  Status send(x::Context& ctx, std::string_view f, std::string_view t, const Coins& c) const override {
    return k->send(ctx, f, t, c, false);
  }
  Result<Amount> supply(const store::KVReader& s, std::string_view d) const override { return k->supply(s, d); }
  Result<Amount> minted_total(const store::KVReader& s, std::string_view d) const override {
    return k->minted_total(s, d);
  }
  Result<Amount> burned_total(const store::KVReader& s, std::string_view d) const override {
    return k->burned_total(s, d);
  }
};
struct Mint : x::rewards::MintKeeper {
  uint64_t minted = 0;
  Result<Amount> minted_total(const store::KVReader&) const override { return Amount::Of(minted); }
};
struct Oracle : x::rewards::OracleKeeper {
  x::PriceInfo p;
  Result<x::PriceInfo> price_info(const store::KVReader&, int64_t, int64_t) const override { return p; }
};
struct Verify : x::rewards::VerifyKeeper {
  std::map<Bytes, Standing> by;
  Result<Standing> standing(const store::KVReader&, std::string_view p, int64_t, int64_t) const override {
    auto it = by.find(Bytes(p));
    return it == by.end() ? Standing{} : it->second;
  }
};
struct Providers : x::rewards::ProviderKeeper {
  std::map<Bytes, depai::provider::v1::Provider> all;
  Status for_each(
      const store::KVReader&,
      const std::function<bool(std::string_view, const depai::provider::v1::Provider&)>& fn) const override {
    for (const auto& [a, p] : all)
      if (!fn(a, p)) break;
    return {};
  }
};
struct Market : x::rewards::MarketKeeper {
  std::map<Bytes, Leased> by;
  Result<Leased> leased(const store::KVReader&, std::string_view p) const override {
    auto it = by.find(Bytes(p));
    return it == by.end() ? Leased{} : it->second;
  }
};

class RewardsFixture : public ::testing::Test {
 protected:
  store::MemStore s;
  x::bank::Keeper bank_keeper;
  Bank bank{&bank_keeper};
  Mint mint;
  Oracle oracle;
  Verify verify;
  Providers providers;
  Market market;
  x::rewards::Keeper k{{&bank, &mint, &oracle, &verify, &providers, &market}};
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header{"c", 1, 1'700'000'000'000, {}, {}};

  x::Context Ctx() { return x::Context{&s, &gas, &events, &header, false}; }
  static Bytes A(char c) { return Bytes(20, c); }
  static Amount Am(uint64_t v) { return Amount::Of(v).value(); }
  uint64_t Bal(const Bytes& a) { return bank_keeper.balance(s, a, "udpai").value().raw(); }

  void SetUp() override {
    for (const char* d : {"udpai", "ucredit"}) {
      x::bank::DenomMetadata m;
      m.set_denom(d);
      m.set_transferable(std::string(d) == "udpai");
      m.set_max_supply(std::to_string(Amount::kMax));
      bank_keeper.set_denom(s, m);
      bank_keeper.set_mint_burn(s, d, Amount(), Amount(), Amount());
    }
    x::rewards::Params p = x::rewards::DefaultParams();
    p.set_epoch_blocks(10);
    k.set_params(s, p);
    auto ctx = Ctx();
    ASSERT_TRUE(k.start(ctx, 0, 1).ok());
    oracle.p.available = true;
    oracle.p.price_e9 = 50'000'000;  // $0.05 per DPAI
  }
  // Emits `amount` udpai into the pending pool, as x/mint would.
  void Emit(uint64_t amount) {
    auto ctx = Ctx();
    ASSERT_TRUE(
        bank_keeper.mint(ctx, x::rewards::PendingAddress(), Coins::Parse(std::to_string(amount) + "udpai").value())
            .ok());
    mint.minted += amount;
  }
  void Provider(char c, uint64_t cpu = 1000) {
    depai::provider::v1::Provider p;
    p.set_owner(crypto::AddressToBech32(A(c)));
    p.mutable_resources()->set_cpu_millicores(cpu);
    providers.all[A(c)] = p;
  }
  void Paid(char buyer, char provider, uint64_t to_provider, uint64_t take, const char* denom = "udpai") {
    auto ctx = Ctx();
    auto st = k.on_paid(ctx, A(buyer), A(provider), 1, Coin{denom, Am(to_provider)}, Coin{denom, Am(take)},
                        std::string(denom) == "ucredit");
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  x::rewards::EpochRecord EndEpoch() {
    header.height = 10;
    auto ctx = Ctx();
    auto st = k.end_block(ctx);
    EXPECT_TRUE(st.ok()) << st.error().message;
    auto r = k.epoch(s, 0).value();
    EXPECT_TRUE(r.has_value());
    return r.value_or(x::rewards::EpochRecord{});
  }
};

TEST_F(RewardsFixture, DistributionSumsExactlyToThePoolAndFollowsTheFormula) {
  Provider('a');
  Provider('b');
  Provider('c');
  verify.by[A('a')] = Standing{false, 300, 4, 4};  // verified, 100% uptime
  verify.by[A('b')] = Standing{false, 100, 4, 2};  // verified, 50% uptime
  verify.by[A('c')] = Standing{false, 0, 0, 0};    // unverified capacity: work only
  Emit(1'000'003);
  Paid('x', 'a', 98, 2);               // $0.000005: 100 udpai at $0.05 = 5 uusd
  Paid('y', 'c', 196'000, 4'000);      // 200000 udpai = 10000 uusd
  Paid('x', 'b', 490, 10, "ucredit");  // 500 uusd, burned
  auto r = EndEpoch();
  const uint64_t pool = 1'000'003, work_pool = pool * 5000 / 10000, avail_pool = pool * 2500 / 10000;
  const uint64_t W = 5 + 10000 + 500;
  const uint64_t wa = work_pool * 5 / W, wb = work_pool * 500 / W, wc = work_pool * 10000 / W;
  const uint64_t C = 300 * 10000 + 100 * 5000;
  const uint64_t aa = avail_pool * 3'000'000 / C, ab = avail_pool * 500'000 / C;
  EXPECT_EQ(Bal(A('a')), wa + aa);
  EXPECT_EQ(Bal(A('b')), wb + ab);
  EXPECT_EQ(Bal(A('c')), wc);
  const uint64_t checkers = pool / 10, validators = pool / 10, treasury = pool * 500 / 10000;
  EXPECT_EQ(Bal(x::rewards::CheckerPoolAddress()), checkers);
  EXPECT_EQ(Bal(x::rewards::ValidatorPoolAddress()), validators);
  EXPECT_EQ(Bal(x::rewards::TreasuryAddress()), treasury);
  const uint64_t paid = wa + aa + wb + ab + wc + checkers + validators + treasury;
  EXPECT_EQ(Bal(x::rewards::PendingAddress()), pool - paid);  // remainders stay, none lost
  EXPECT_EQ(r.carried_out(), std::to_string(pool - paid));
  EXPECT_EQ(r.pool(), std::to_string(pool));
  EXPECT_EQ(r.emissions(), std::to_string(pool));
  EXPECT_EQ(r.work_rewards(), std::to_string(wa + wb + wc));
  EXPECT_EQ(r.availability_rewards(), std::to_string(aa + ab));
  // Revenue quality: 200100 udpai + 500 ucredit; USD 5 + 10000 + 500 = 10505 uusd.
  EXPECT_EQ(r.revenue_udpai(), "200100");
  EXPECT_EQ(r.revenue_ucredit(), "500");
  EXPECT_EQ(r.revenue_uusd(), "10505");
  EXPECT_EQ(r.subsidy_uusd(), std::to_string(pool * 50'000'000 / 1'000'000'000));  // 50000 uusd
  EXPECT_EQ(r.revenue_to_subsidy_e9(), 10505ull * 1000000000 / 50000);
  EXPECT_EQ(r.paying_buyers(), 2u);
  EXPECT_EQ(r.rewarded_providers(), 3u);
  EXPECT_EQ(k.provider_rewards(s, A('c')).value()->work(), std::to_string(wc));
  // The next epoch starts clean and carries the remainder in.
  EXPECT_EQ(k.work(s, A('a')).value().raw(), 0u);
  auto st = k.state(s).value();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->epoch(), 1u);
  EXPECT_EQ(st->start_height(), 11);
  EXPECT_EQ(st->paying_buyers(), 0u);
}

TEST_F(RewardsFixture, FailedVerificationEarnsNothing) {
  Provider('a');
  Provider('b');
  verify.by[A('a')] = Standing{true, 500, 5, 5};  // a failed compute challenge this epoch
  verify.by[A('b')] = Standing{false, 100, 1, 1};
  Emit(10'000);
  Paid('x', 'a', 1'000'000, 0);  // lots of billed work: still nothing
  Paid('x', 'b', 20, 0);
  auto r = EndEpoch();
  EXPECT_EQ(Bal(A('a')), 0u);
  EXPECT_EQ(Bal(A('b')), 10'000u * 5000 / 10000 + 10'000u * 2500 / 10000);  // both pools go to b
  EXPECT_EQ(r.providers_failed(), 1u);
  EXPECT_EQ(r.rewarded_providers(), 1u);
}

TEST_F(RewardsFixture, NoEligibleProviderCarriesThePoolIntoTheNextEpoch) {
  Emit(1000);
  auto r = EndEpoch();
  EXPECT_EQ(r.work_rewards(), "0");
  EXPECT_EQ(r.carried_out(), std::to_string(1000 - 100 - 100 - 50));  // checkers, validators, treasury paid
  Emit(500);
  header.height = 20;
  auto ctx = Ctx();
  ASSERT_TRUE(k.end_block(ctx).ok());
  auto r1 = k.epoch(s, 1).value();
  ASSERT_TRUE(r1.has_value());
  EXPECT_EQ(r1->emissions(), "500");
  EXPECT_EQ(r1->carried_in(), "750");
  EXPECT_EQ(r1->pool(), "1250");
}

TEST_F(RewardsFixture, StalePriceUsesTheLastKnownPriceAndSaysSo) {
  oracle.p.available = false;
  oracle.p.reason = "price is stale";
  oracle.p.price_e9 = 40'000'000;
  Provider('a');
  Emit(1000);
  Paid('x', 'a', 1000, 0);
  auto r = EndEpoch();
  EXPECT_FALSE(r.price_available());
  EXPECT_EQ(r.price_e9(), 40'000'000u);
  EXPECT_EQ(r.revenue_uusd(), "40");
}

TEST_F(RewardsFixture, UtilizationIsLeasedOverVerifiedByKind) {
  Provider('a', 4000);
  Provider('b', 1000);
  providers.all[A('a')].set_active_leases(1);
  verify.by[A('a')] = Standing{false, 10, 1, 1};
  verify.by[A('b')] = Standing{false, 10, 1, 1};
  market.by[A('a')] = Leased{1000, 0, 0};
  Emit(100);
  auto r = EndEpoch();
  ASSERT_EQ(r.utilization_size(), 3);
  EXPECT_EQ(r.utilization(0).kind(), "cpu_millicores");
  EXPECT_EQ(r.utilization(0).leased(), "1000");
  EXPECT_EQ(r.utilization(0).verified(), "5000");
  EXPECT_EQ(r.utilization(0).bps(), 2000u);
}

// A chain: emissions at a fixed rate, epochs of 10 blocks, records for each, supply invariant.
TEST(RewardsChain, EpochRecordsEmissionsAndPoolsOnAChain) {
  TestLedger L(4, "", false);
  json g = L.Genesis();
  g["mint"] = json{{"params", {{"initial_reward", "1000"}, {"halving_blocks", "1000000"}}}};
  g["rewards"] = json{{"params", {{"epoch_blocks", "10"}}}};
  auto req = L.InitRequest();
  req.app_state_bytes = g.dump();
  ASSERT_TRUE(L.app->InitChain(req).ok());
  for (int i = 0; i < 25; ++i) L.Block({});
  auto e = L.Query("/economy/epochs");
  ASSERT_EQ(e["epochs"].size(), 2u) << e.dump();
  const json e0 = e["epochs"][0];
  EXPECT_EQ(e0["start_height"], "1");
  EXPECT_EQ(e0["end_height"], "10");
  EXPECT_EQ(e0["emissions"], "10000");
  EXPECT_EQ(e0["minted_udpai"], "10000");
  EXPECT_EQ(e0["net_supply_change"], "10000");
  EXPECT_EQ(e0["checker_rewards"], "1000");
  EXPECT_EQ(e0["treasury_rewards"], "500");
  EXPECT_EQ(e0["revenue_uusd"], "0");
  // No provider: the work and availability shares (75%) carry into epoch 1's pool.
  EXPECT_EQ(e0["carried_out"], "7500");
  EXPECT_EQ(e["epochs"][1]["pool"], "17500");
  EXPECT_EQ(L.Balance(crypto::AddressToBech32(x::rewards::ValidatorPoolAddress())), 1000u + 1750u);
  EXPECT_EQ(L.Query("/economy/epochs/1")["carried_in"], e0["carried_out"]);
  EXPECT_EQ(L.Query("/economy/epochs/7")["codespace"], "rewards");
  EXPECT_TRUE(L.app->CheckInvariants().ok());
}

}  // namespace
}  // namespace depai
