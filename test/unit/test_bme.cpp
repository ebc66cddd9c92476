// x/bme: exact burn-and-mint arithmetic (rounding included), every refusal with its reason and
// no state change, the circuit breaker across txs, blocks and window roll-overs, overflow, the
// non-transferability of ucredit, genesis overrides, queries, a corrupt record, and the
// generator run twice from scratch. Keeper tests run on a bare store with the real bank keeper
// and a fake oracle; App tests use the test ledger (whose App has no oracle wired yet).
#include <gtest/gtest.h>

#include "depai/oracle/v1/oracle.pb.h"

#include <map>
#include <set>

#include "client/tx_builder.h"
#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/bank/keeper.h"
#include "x/bme/module.h"
#include "x/types/errors.h"

namespace depai::test {
namespace {

namespace xb = depai::x::bme;
using nlohmann::json;
using x::PriceInfo;

class FakeOracle : public xb::OracleKeeper {
 public:
  Result<PriceInfo> price_info(const store::KVReader&, int64_t height, int64_t time_ms) const override {
    asked_height = height;
    asked_time = time_ms;
    if (fault) return x::Fault(x::kFaultCorruptRecord, "stored oracle price does not decode");
    return p;
  }
  // A fresh, available price: median `price`, EMA `ema`, confidence `conf` (nano-USD per DPAI).
  void Set(uint64_t price, uint64_t ema, uint64_t conf) {
    p = PriceInfo{};
    p.available = true;
    p.price_e9 = price;
    p.ema_e9 = ema;
    p.conf_e9 = conf;
    p.reports = 3;
  }
  PriceInfo p;
  bool fault = false;
  mutable int64_t asked_height = 0, asked_time = 0;
};

class BankAdapter : public xb::BankKeeper {
 public:
  explicit BankAdapter(const x::bank::Keeper* k) : k_(k) {}
  Result<Amount> balance(const store::KVReader& s, std::string_view a, std::string_view d) const override {
    return k_->balance(s, a, d);
  }
  Status mint(x::Context& ctx, std::string_view to, const Coins& c) const override { return k_->mint(ctx, to, c); }
  Status burn(x::Context& ctx, std::string_view from, const Coins& c) const override { return k_->burn(ctx, from, c); }

 private:
  const x::bank::Keeper* k_;
};

Amount A(uint64_t v) { return Amount::Of(v).value(); }

struct Bme : ::testing::Test {
  store::MemStore s;
  x::bank::Keeper bank;
  BankAdapter bank_adapter{&bank};
  FakeOracle oracle;
  xb::Module mod{&oracle, &bank_adapter};
  const xb::Keeper& k = mod.keeper();
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header;
  Bytes alice = Bytes(20, 'a'), bob = Bytes(20, 'b');

  void SetUp() override {
    Init(s);
    Params(1000, 10, 1'000'000);
    oracle.Set(500'000'000, 500'000'000, 10'000'000);  // 0.50 USD, conf 0.01 USD
  }
  // Denoms and 5,000 DPAI each for alice and bob.
  void Init(store::MemStore& st) {
    x::bank::DenomMetadata m;
    m.set_denom("udpai");
    m.set_transferable(true);
    m.set_max_supply("9223372036854775807");
    bank.set_denom(st, m);
    x::bank::DenomMetadata c;
    c.set_denom("ucredit");
    c.set_transferable(false);
    bank.set_denom(st, c);
    Fund(st, alice, 5'000'000'000);
    Fund(st, bob, 5'000'000'000);
  }
  void Fund(store::MemStore& st, const Bytes& who, uint64_t v) {
    x::Context ctx{&st, &gas, &events, &header, false};
    ASSERT_TRUE(bank.mint(ctx, who, Coins::From({Coin{"udpai", A(v)}}).value()).ok());
  }
  void Fund(const Bytes& who, uint64_t v) { Fund(s, who, v); }
  void Params(store::MemStore& st, uint32_t dev_bps, int64_t window, uint64_t cap) {
    xb::Params p = xb::DefaultParams();
    p.set_max_deviation_bps(dev_bps);
    p.set_window_blocks(window);
    p.set_window_cap(std::to_string(cap));
    k.set_params(st, p);
  }
  void Params(uint32_t dev_bps, int64_t window, uint64_t cap) { Params(s, dev_bps, window, cap); }
  x::Context Ctx(int64_t h) {
    header.height = h;
    header.time_unix_ms = 1'700'000'000'000 + h * 1000;
    return x::Context{&s, &gas, &events, &header, false};
  }
  // The pipeline's order: check, then (only if it passed) apply. Returns the credits or the refusal.
  Result<Amount> Burn(const Bytes& who, uint64_t amount, int64_t h) {
    auto ctx = Ctx(h);
    xb::BurnParsed p{who, A(amount)};
    DEPAI_TRY(k.check_burn(s, p, h, header.time_unix_ms));
    return k.burn_for_credits(ctx, p);
  }
  uint64_t Bal(const Bytes& who, const char* denom) { return bank.balance(s, who, denom).value().raw(); }
  uint64_t Supply(const char* denom) { return bank.supply(s, denom).value().raw(); }
  // Refused with `code` and a log containing `text`, and nothing changed.
  void ExpectRefused(const Bytes& who, uint64_t amount, int64_t h, uint32_t code, const std::string& text) {
    const uint64_t u = Bal(who, "udpai"), c = Bal(who, "ucredit"), su = Supply("udpai"), sc = Supply("ucredit");
    const auto w = k.window(s).value();
    auto r = Burn(who, amount, h);
    ASSERT_FALSE(r.ok()) << "burn of " << amount << " at height " << h << " was accepted";
    EXPECT_EQ(r.error().codespace, xb::kCodespace) << r.error().message;
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
    EXPECT_EQ(Bal(who, "udpai"), u);
    EXPECT_EQ(Bal(who, "ucredit"), c);
    EXPECT_EQ(Supply("udpai"), su);
    EXPECT_EQ(Supply("ucredit"), sc);
    EXPECT_EQ(k.window(s).value().burned, w.burned);
  }
};

// ---- arithmetic ------------------------------------------------------------------------------

TEST_F(Bme, MintsFloorOfAmountTimesConservativePriceExactly) {
  Params(1000, 10, 2'000'000'000);
  // conservative = ema - 2*conf = 0.50 - 0.02 = 0.48 USD: 1 DPAI buys 0.48 credits.
  auto r = Burn(alice, 1'000'000, 5);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->raw(), 480'000u);
  EXPECT_EQ(Bal(alice, "udpai"), 5'000'000'000u - 1'000'000u);
  EXPECT_EQ(Bal(alice, "ucredit"), 480'000u);
  EXPECT_EQ(Supply("udpai"), 10'000'000'000u - 1'000'000u);
  EXPECT_EQ(Supply("ucredit"), 480'000u);
  EXPECT_EQ(Bal(bob, "ucredit"), 0u);  // credits go to the burner only
  // Rounding is down, never up: at 0.333333333 USD, 7 udpai are worth 2.333333331 ucredit -> 2.
  oracle.Set(353'333'333, 353'333'333, 10'000'000);  // conservative 0.333333333
  r = Burn(alice, 7, 6);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->raw(), 2u);
  // floor(999'999'999 * 333'333'333 / 1e9) = 333'333'332 (not 333'333'333).
  r = Burn(bob, 999'999'999, 7);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->raw(), 333'333'332u);
  auto t = k.totals(s).value();
  EXPECT_EQ(t.burned.raw(), 1'000'000u + 7u + 999'999'999u);
  EXPECT_EQ(t.minted.raw(), 480'000u + 2u + 333'333'332u);
  EXPECT_EQ(t.burns, 3u);
  EXPECT_TRUE(mod.check_invariants(s).ok());
  EXPECT_TRUE(bank.check_supply_full(s).ok());
}

TEST_F(Bme, ABurnEmitsItsFiguresAndUsesThePriceOfItsBlock) {
  auto r = Burn(alice, 500'000, 9);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(oracle.asked_height, 9);
  EXPECT_EQ(oracle.asked_time, 1'700'000'000'000 + 9 * 1000);
  bool found = false;
  for (const auto& e : events.events()) {
    if (e.type != "bme.burn_for_credits") continue;
    found = true;
    std::map<std::string, std::string> a;
    for (const auto& at : e.attributes) a[at.key] = at.value;
    EXPECT_EQ(a["amount"], "500000");
    EXPECT_EQ(a["credits"], "240000");
    EXPECT_EQ(a["conservative_e9"], "480000000");
    EXPECT_EQ(a["price_e9"], "500000000");
    EXPECT_EQ(a["window_burned"], "500000");
  }
  EXPECT_TRUE(found);
}

// ---- refusals ----------------------------------------------------------------------------------

TEST_F(Bme, StaleOrMissingPriceIsRefusedWithTheOraclesReason) {
  oracle.p.available = false;
  oracle.p.reason = "price is stale: last update at height 7 (time 1700000007000), max_age_ms 60000";
  ExpectRefused(alice, 1'000'000, 100, xb::kErrPriceUnavailable, "price unavailable: price is stale: last update");
  oracle.p.reason = "too few reports: 1 < min_reports 3";
  ExpectRefused(alice, 1'000'000, 100, xb::kErrPriceUnavailable, "too few reports");
  // An attacker cannot mint at the last good price once it is stale: the figures of an
  // unavailable answer are never used, however attractive.
  oracle.p.ema_e9 = oracle.p.price_e9 = 1'000'000'000'000;
  ExpectRefused(alice, 1'000'000, 100, xb::kErrPriceUnavailable, "price unavailable");
}

TEST_F(Bme, ConservativePriceZeroIsRefused) {
  oracle.Set(500'000'000, 500'000'000, 250'000'000);  // ema - 2*conf = 0
  ExpectRefused(alice, 1'000'000, 5, xb::kErrZeroPrice, "conservative price is 0");
  oracle.Set(500'000'000, 500'000'000, 300'000'000);  // wider than the EMA
  ExpectRefused(alice, 1'000'000, 5, xb::kErrZeroPrice, "conservative price is 0");
}

TEST_F(Bme, DeviationFromTheEmaHaltsMintingUntilItSettles) {
  // A manipulated spot price 12% above the EMA: halted (max 10%).
  oracle.Set(560'000'000, 500'000'000, 1'000'000);
  ExpectRefused(alice, 1'000'000, 5, xb::kErrDeviationHalt, "minting halted: price deviates from its EMA by 1200 bps");
  oracle.Set(440'000'000, 500'000'000, 1'000'000);  // 12% below too
  ExpectRefused(alice, 1'000'000, 5, xb::kErrDeviationHalt, "minting halted");
  // Exactly 10% is still inside the band; the price settled.
  oracle.Set(550'000'000, 500'000'000, 1'000'000);
  EXPECT_TRUE(Burn(alice, 1'000'000, 6).ok());
  // 10% + 1 nano-USD is not.
  oracle.Set(550'000'001, 500'000'000, 1'000'000);
  ExpectRefused(alice, 1'000'000, 7, xb::kErrDeviationHalt, "minting halted");
}

TEST_F(Bme, ZeroCreditsAreRefused) {
  // 2 udpai at 0.48 USD = 0.96 ucredit -> 0.
  ExpectRefused(alice, 2, 5, xb::kErrZeroCredits, "buys 0 ucredit");
  EXPECT_TRUE(Burn(alice, 3, 5).ok());  // 1.44 -> 1
}

TEST_F(Bme, AmountTimesPriceOverflowIsRefusedNotWrapped) {
  Params(1000, 10, Amount::kMax);
  Fund(alice, Amount::kMax - 10'000'000'000);             // alice now holds about 2^63
  oracle.Set(10'000'000'000'000, 10'000'000'000'000, 0);  // 10,000 USD per DPAI
  // (2^63 - 2^33) * 10^13 / 10^9 does not fit 63 bits: refused, never wrapped into a small number.
  ExpectRefused(alice, Amount::kMax - 10'000'000'000, 5, xb::kErrCreditOverflow, "credits overflow");
  // The largest burn that fits is exact.
  auto r = Burn(alice, Amount::kMax / 10'000, 5);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->raw(), Amount::kMax / 10'000 * 10'000);
}

TEST_F(Bme, InsufficientFundsIsRefused) {
  auto r = Burn(alice, 5'000'000'001, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, x::kErrInsufficientFunds);
  EXPECT_EQ(Bal(alice, "ucredit"), 0u);
}

// ---- the circuit breaker -----------------------------------------------------------------------

TEST_F(Bme, CircuitBreakerCountsEveryTxOfABlockAndOfTheWindow) {
  // Cap 1,000,000 udpai per 10 blocks. Two accounts splitting their burns in one block, and over
  // the blocks of a window, are counted together.
  ASSERT_TRUE(Burn(alice, 600'000, 21).ok());
  ASSERT_TRUE(Burn(bob, 300'000, 21).ok());  // same block
  ExpectRefused(alice, 100'001, 21, xb::kErrCircuitBreaker, "circuit breaker: burning 100001udpai");
  ExpectRefused(bob, 100'001, 25, xb::kErrCircuitBreaker, "100000udpai left");  // later block, same window
  ASSERT_TRUE(Burn(bob, 100'000, 29).ok());                                     // exactly the cap
  ExpectRefused(alice, 3, 29, xb::kErrCircuitBreaker, "past the cap 1000000udpai per 10 blocks");
  auto w = k.window_at(s, 29).value();
  EXPECT_EQ(w.counted.raw(), 1'000'000u);
  EXPECT_EQ(w.remaining.raw(), 0u);
}

TEST_F(Bme, CircuitBreakerCannotBeDodgedAcrossTheWindowBoundary) {
  // The whole cap at the last block of window 2 (heights 20..29) ...
  ASSERT_TRUE(Burn(alice, 1'000'000, 29).ok());
  // ... still counts in full at the first block of window 3: a fixed window would allow another
  // full cap here (two caps in two blocks).
  ExpectRefused(bob, 1, 30, xb::kErrCircuitBreaker, "circuit breaker");
  auto w = k.window_at(s, 30).value();
  EXPECT_EQ(w.previous.raw(), 1'000'000u);
  EXPECT_EQ(w.counted.raw(), 1'000'000u);
  // Halfway through window 3, half of it has slid out: ceil(1,000,000 * 5 / 10) = 500,000 counted.
  w = k.window_at(s, 35).value();
  EXPECT_EQ(w.counted.raw(), 500'000u);
  ExpectRefused(bob, 500'001, 35, xb::kErrCircuitBreaker, "circuit breaker");
  ASSERT_TRUE(Burn(bob, 500'000, 35).ok());
  // Rounding of the slide is up (never undercounts): at pos 7, ceil(1,000,000 * 3 / 10) = 300,000.
  w = k.window_at(s, 37).value();
  EXPECT_EQ(w.counted.raw(), 300'000u + 500'000u);
  // Window 4 sees window 3's 500,000 as its previous bucket; window 2's burn is gone.
  w = k.window_at(s, 40).value();
  EXPECT_EQ(w.previous.raw(), 500'000u);
  EXPECT_EQ(w.current.raw(), 0u);
  // Two windows later nothing is left.
  w = k.window_at(s, 50).value();
  EXPECT_EQ(w.counted.raw(), 0u);
  ASSERT_TRUE(Burn(alice, 1'000'000, 50).ok());
  auto stored = k.window(s).value();
  EXPECT_EQ(stored.window, 5);
  EXPECT_EQ(stored.burned.raw(), 1'000'000u);
  EXPECT_EQ(stored.prev_burned.raw(), 0u);  // window 4 burned nothing
  EXPECT_TRUE(mod.check_invariants(s).ok());
}

// ---- queries, genesis, records -----------------------------------------------------------------

TEST_F(Bme, StatusQueryShowsParamsWindowAndPrice) {
  ASSERT_TRUE(Burn(alice, 250'000, 3).ok());
  auto q = mod.query(s, "/bme/status");
  ASSERT_TRUE(q && q->ok()) << (q ? q->error().message : "no answer");
  const json& j = q->value();
  EXPECT_EQ(j["params"]["window_cap"], "1000000");
  EXPECT_EQ(j["window"]["burned"], "250000");
  EXPECT_EQ(j["window"]["remaining"], "750000");
  EXPECT_EQ(j["price"]["conservative_e9"], "480000000");
  EXPECT_EQ(j["price"]["conservative"], "0.480000000");
  EXPECT_EQ(j["minting"], true);
  oracle.Set(600'000'000, 500'000'000, 0);
  q = mod.query(s, "/bme/status");
  EXPECT_EQ(q->value()["minting"], false);
  EXPECT_NE(q->value()["halt_reason"].get<std::string>().find("minting halted"), std::string::npos);
  EXPECT_TRUE(mod.query(s, "/bme/params")->ok());
  EXPECT_FALSE(mod.query(s, "/bme/nope")->ok());
  EXPECT_FALSE(mod.query(s, "/bank/supply").has_value());
}

TEST_F(Bme, GenesisOverridesParamsFieldByFieldAndRoundTrips) {
  store::MemStore g;
  x::EventManager ev;
  x::BlockHeader h;
  x::Context ctx{&g, &gas, &ev, &h, false};
  ASSERT_TRUE(mod.init_genesis(ctx, json{{"params", {{"window_blocks", "50"}}}}).ok());
  auto p = k.params(g).value();
  EXPECT_EQ(p.pb.window_blocks(), 50);
  EXPECT_EQ(p.pb.max_deviation_bps(), xb::DefaultParams().max_deviation_bps());
  EXPECT_EQ(p.pb.window_cap(), xb::DefaultParams().window_cap());
  for (const json& bad : {json{{"params", {{"window_blocks", "0"}}}}, json{{"params", {{"window_cap", "0"}}}},
                          json{{"params", {{"max_deviation_bps", 0}}}}, json{{"params", {{"nope", 1}}}},
                          json{{"window", {{"burned", "5"}}}}}) {  // a window burn never burned
    store::MemStore b;
    x::Context c{&b, &gas, &ev, &h, false};
    auto st = mod.init_genesis(c, bad);
    EXPECT_FALSE(st.ok()) << bad.dump();
    if (!st.ok()) {
      EXPECT_EQ(st.error().code, x::kErrInvalidGenesis);
    }
  }
  ASSERT_TRUE(Burn(alice, 400'000, 12).ok());
  auto exported = mod.export_genesis(s).value();
  store::MemStore again;
  x::Context c2{&again, &gas, &ev, &h, false};
  ASSERT_TRUE(mod.init_genesis(c2, exported).ok()) << exported.dump();
  EXPECT_EQ(mod.export_genesis(again).value(), exported);
  EXPECT_EQ(k.window(again).value().burned.raw(), 400'000u);
}

TEST_F(Bme, CorruptRecordOrOracleIsAFaultNotARefusal) {
  s.set("bme/window", "\xff\xff garbage");
  auto r = Burn(alice, 1'000'000, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().codespace, x::kFaultCodespace);
  EXPECT_TRUE(x::IsFault(mod.check_invariants(s)));
  s.del("bme/window");
  oracle.fault = true;
  r = Burn(alice, 1'000'000, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().codespace, x::kFaultCodespace);
}

TEST_F(Bme, GeneratorTwiceFromScratchGivesTheSameResults) {
  auto run = [&](uint64_t seed) {
    store::MemStore st;
    Init(st);
    Params(st, 1000, 10, 20'000'000);
    oracle.Set(500'000'000, 500'000'000, 10'000'000);
    std::vector<std::pair<uint32_t, std::string>> out;
    std::vector<x::SimAccount> accs{{alice, crypto::AddressToBech32(alice)}, {bob, crypto::AddressToBech32(bob)}};
    x::SimRng rng(seed);
    auto routes = mod.routes();
    std::set<uint32_t> codes;
    for (int64_t h = 2; h < 200; ++h) {
      if (h % 50 == 0) oracle.Set(700'000'000, 500'000'000, 0);  // a deviation now and then
      if (h % 50 == 5) oracle.Set(500'000'000, 500'000'000, 10'000'000);
      x::SimState sim{st, accs, rng, h};
      auto m = mod.random_msg(sim);
      if (!m) continue;
      auto parsed = routes[0].decode(m->msg.value());
      Status r = parsed.ok() ? Status() : Status(parsed.error());
      x::Context ctx{&st, &gas, &events, &header, false};
      header.height = h;
      header.time_unix_ms = h * 1000;
      if (r.ok()) r = routes[0].check(x::View{st, header, false}, **parsed);
      if (r.ok()) r = routes[0].apply(ctx, **parsed);
      out.emplace_back(r.ok() ? 0 : r.error().code, r.ok() ? "" : r.error().codespace);
      codes.insert(out.back().first);
    }
    EXPECT_TRUE(codes.count(0)) << "no burn succeeded";
    EXPECT_GE(codes.size(), 3u);
    EXPECT_TRUE(mod.check_invariants(st).ok());
    EXPECT_TRUE(bank.check_supply_full(st).ok());
    return std::make_pair(out, mod.export_genesis(st).value().dump());
  };
  auto a = run(77), b = run(77);
  EXPECT_EQ(a, b);
  EXPECT_NE(run(78).first, a.first);
}

// ---- through the App ---------------------------------------------------------------------------

// Through the App with the real x/oracle: before any price every burn is refused with the
// oracle's reason and nothing changes; after a feeder's post the burn mints exactly
// floor(amount * conservative_e9 / 1e9) credits.
TEST(BmeApp, BurnsWaitForTheOraclesPriceThenMintAtTheConservativePrice) {
  TestLedger L(2, "", false);
  json g = L.Genesis();
  g["oracle"] = {{"params", {{"feeders", json::array({L.accounts[1].bech32})}}}};
  auto req = L.InitRequest();
  req.app_state_bytes = g.dump();
  ASSERT_TRUE(L.app->InitChain(req).ok());
  L.Block({});
  depai::bme::v1::MsgBurnForCredits m;
  m.set_owner(L.accounts[0].bech32);
  m.set_amount("1000000");
  const uint64_t before = L.Balance(L.accounts[0].bech32), credits = L.Balance(L.accounts[0].bech32, "ucredit");
  auto res = L.Block({L.SignAny(0, {x::PackAny(xb::kTypeBurnForCredits, m)})});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].codespace, "bme");
  EXPECT_EQ(res[0].code, xb::kErrPriceUnavailable);
  EXPECT_NE(res[0].log.find("price unavailable: no price yet"), std::string::npos) << res[0].log;
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), before - 10);  // only the fee
  EXPECT_EQ(L.Balance(L.accounts[0].bech32, "ucredit"), credits);
  auto st = L.Query("/bme/status");
  EXPECT_EQ(st["price"]["available"], false);
  EXPECT_EQ(st["minting"], false);
  // The feeder posts $0.05; the next block's burn mints at the conservative price.
  depai::oracle::v1::MsgPostPrice post;
  post.set_feeder(L.accounts[1].bech32);
  post.set_price_e9(50'000'000);
  ASSERT_EQ(L.Block({L.SignAny(1, {x::PackAny("/depai.oracle.v1.MsgPostPrice", post)})})[0].code, 0u);
  auto price = L.Query("/oracle/price");
  ASSERT_EQ(price["available"], true) << price.dump();
  const uint64_t cons = std::stoull(price["conservative_e9"].get<std::string>());
  ASSERT_GT(cons, 0u);
  res = L.Block({L.SignAny(0, {x::PackAny(xb::kTypeBurnForCredits, m)})});
  ASSERT_EQ(res[0].code, 0u) << res[0].log;
  EXPECT_EQ(L.Balance(L.accounts[0].bech32), before - 10 - 10 - 1'000'000);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32, "ucredit"),
            credits + static_cast<uint64_t>(static_cast<unsigned __int128>(1'000'000) * cons / 1'000'000'000));
  EXPECT_TRUE(L.app->CheckInvariants().ok());
  // A malformed amount is refused statelessly.
  m.set_amount("-5");
  res = L.Block({L.SignAny(0, {x::PackAny(xb::kTypeBurnForCredits, m)})});
  EXPECT_EQ(res[0].code, xb::kErrInvalidAmount);
}

TEST(BmeApp, CreditsCannotBeTransferredByAnyUserMessage) {
  TestLedger L(3);
  // MsgSend and MsgMultiSend of ucredit are refused (credits are bound to the buyer who burned).
  auto r = L.Block({L.Send(0, L.accounts[1].bech32, "5ucredit")});
  EXPECT_NE(r[0].code, 0u);
  EXPECT_NE(r[0].log.find("not transferable"), std::string::npos) << r[0].log;
  EXPECT_EQ(L.Balance(L.accounts[1].bech32, "ucredit"), 500u);
  EXPECT_EQ(L.Balance(L.accounts[0].bech32, "ucredit"), 500u);
  depai::bank::v1::MsgMultiSend ms;
  ms.set_from_address(L.accounts[0].bech32);
  auto* o = ms.add_outputs();
  o->set_address(L.accounts[2].bech32);
  auto* c = o->add_coins();
  c->set_denom("ucredit");
  c->set_amount("1");
  r = L.Block({L.SignAny(0, {x::PackAny("/depai.bank.v1.MsgMultiSend", ms)})});
  EXPECT_NE(r[0].code, 0u);
  EXPECT_EQ(L.Balance(L.accounts[2].bech32, "ucredit"), 500u);
}

}  // namespace
}  // namespace depai::test
