// x/oracle: the aggregation arithmetic (weighted median, MAD, EMA), price_info's staleness and
// quorum rules, feeder-only MsgPostPrice, and the vote-extension path through the App:
// ExtendVote, VerifyVoteExtension, the PrepareProposal injection, ProcessProposal's refusals of a
// missing, duplicated, forged or stuffed injection, and FinalizeBlock's aggregation.
#include <gtest/gtest.h>

#include "ledger_fixture.h"
#include "store/mem_store.h"
#include "x/oracle/module.h"
#include "x/types/sim.h"

using namespace depai;
using depai::test::TestLedger;
namespace ox = depai::x::oracle;
using nlohmann::json;

namespace {

constexpr uint64_t kUsd = 1'000'000'000;  // 1 USD per DPAI in price_e9

const ox::Keeper& OracleKeeper(const TestLedger& L) {
  for (const auto* m : L.app->Modules())
    if (const auto* o = dynamic_cast<const ox::Module*>(m)) return o->keeper();
  throw std::runtime_error("no oracle module");
}

google::protobuf::Any Post(const std::string& feeder, uint64_t price_e9) {
  depai::oracle::v1::MsgPostPrice m;
  m.set_feeder(feeder);
  m.set_price_e9(price_e9);
  return x::PackAny(ox::kTypePostPrice, m);
}

// A ledger whose genesis names accounts 0..2 as feeders, with `params` merged in.
std::unique_ptr<TestLedger> FeederLedger(json params = json::object()) {
  auto L = std::make_unique<TestLedger>(5, "", false);
  json g = L->Genesis();
  json p = {{"feeders", json::array({L->accounts[0].bech32, L->accounts[1].bech32, L->accounts[2].bech32})}};
  for (auto& [k, v] : params.items()) p[k] = v;
  g["oracle"] = {{"params", p}};
  auto req = L->InitRequest();
  req.app_state_bytes = g.dump();
  auto ic = L->app->InitChain(req);
  if (!ic.ok()) throw std::runtime_error(ic.error().message);
  L->Block({});
  return L;
}

int64_t BlockTime(int64_t h) { return 1'700'000'000'000 + h * 1000; }  // TestLedger::Block's clock

}  // namespace

// ---- arithmetic ----------------------------------------------------------------------------

TEST(OracleMath, WeightedMedianIsTheLowerWeightedMedian) {
  using R = ox::Report;
  EXPECT_EQ(ox::WeightedMedian({}), 0u);
  EXPECT_EQ(ox::WeightedMedian({R{7, 1}}), 7u);
  EXPECT_EQ(ox::WeightedMedian({R{3, 1}, R{1, 1}, R{2, 1}}), 2u);
  EXPECT_EQ(ox::WeightedMedian({R{4, 1}, R{1, 1}, R{3, 1}, R{2, 1}}), 2u);  // even count: the lower middle
  // Power decides: one validator with 40 of 70 power is the median whatever the others say.
  EXPECT_EQ(ox::WeightedMedian({R{100, 10}, R{200, 10}, R{300, 10}, R{50, 40}}), 50u);
  EXPECT_EQ(ox::WeightedMedian({R{100, 10}, R{200, 10}, R{300, 10}, R{900, 40}}), 900u);
  // Exactly half the weight at or below: that price.
  EXPECT_EQ(ox::WeightedMedian({R{1, 5}, R{9, 5}}), 1u);
  // An outlier does not move it.
  EXPECT_EQ(ox::WeightedMedian({R{100, 1}, R{101, 1}, R{102, 1}, R{1'000'000, 1}}), 101u);
}

TEST(OracleMath, MadAndEma) {
  using R = ox::Report;
  std::vector<R> r{R{100, 1}, R{101, 1}, R{102, 1}, R{103, 1}};
  EXPECT_EQ(ox::WeightedMad(r, 101), 1u);  // deviations 1, 0, 1, 2 -> lower median 1
  r[3].price_e9 = 1'000'000;
  EXPECT_EQ(ox::WeightedMad(r, 101), 1u);  // an outlier does not widen the band
  EXPECT_EQ(ox::WeightedMad({R{5, 1}}, 5), 0u);
  EXPECT_EQ(ox::Ema(1000, 2000, 1000), 1100u);
  EXPECT_EQ(ox::Ema(1000, 2000, 10000), 2000u);
  EXPECT_EQ(ox::Ema(2000, 1000, 1000), 1900u);
  EXPECT_EQ(ox::Ema(3, 4, 5000), 3u);  // rounds down
  // No overflow at the largest prices.
  const uint64_t big = 1'000'000'000ull * kUsd;
  EXPECT_EQ(ox::Ema(big, big, 1), big);
}

TEST(OracleMath, UsdDecimals) {
  EXPECT_EQ(ox::ParseUsdE9("1").value(), kUsd);
  EXPECT_EQ(ox::ParseUsdE9("0.42").value(), 420'000'000u);
  EXPECT_EQ(ox::ParseUsdE9("12.000000001").value(), 12'000'000'001u);
  EXPECT_FALSE(ox::ParseUsdE9("1.0000000001").ok());
  EXPECT_EQ(ox::ParseUsdE9("1.0000000019", true).value(), 1'000'000'001u);
  for (const char* bad : {"", ".5", "5.", "-1", "1e3", "1,5", "abc", "99999999999999999999", "1.2.3", " 1"})
    EXPECT_FALSE(ox::ParseUsdE9(bad).ok()) << bad;
  EXPECT_EQ(ox::FormatUsdE9(420'000'000), "0.420000000");
  EXPECT_EQ(ox::FormatUsdE9(12'000'000'001), "12.000000001");
  EXPECT_EQ(ox::FormatUsdE9(0), "0.000000000");
}

// ---- feeders (devnet) ----------------------------------------------------------------------

TEST(OracleFeeders, RoundOfPostsIsTheirMedianWithEmaAndConf) {
  auto L = FeederLedger();
  EXPECT_FALSE(L->Query("/oracle/price")["available"].get<bool>());
  EXPECT_NE(L->Query("/oracle/price")["reason"].get<std::string>().find("no price yet"), std::string::npos);
  auto res = L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, 1'000'000'000)}),
                       L->SignAny(1, {Post(L->accounts[1].bech32, 1'200'000'000)}),
                       L->SignAny(2, {Post(L->accounts[2].bech32, 1'400'000'000)})});
  for (const auto& r : res) ASSERT_EQ(r.code, 0u) << r.log;
  json p = L->Query("/oracle/price");
  EXPECT_TRUE(p["available"].get<bool>()) << p.dump();
  EXPECT_EQ(p["price_e9"], "1200000000");
  EXPECT_EQ(p["ema_e9"], "1200000000");  // the first round seeds the EMA
  EXPECT_EQ(p["conf_e9"], "200000000");  // MAD of 1.0, 1.2, 1.4 around 1.2
  EXPECT_EQ(p["price"], "1.200000000");
  EXPECT_EQ(p["reports"], 3);
  EXPECT_EQ(p["source"], "feeders");
  // Next round: one report at 2.2 -> price 2.2, ema = 1.2 + 10% of 1.0, conf = 0.9 * 0.2.
  L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, 2'200'000'000)})});
  p = L->Query("/oracle/price");
  EXPECT_EQ(p["price_e9"], "2200000000");
  EXPECT_EQ(p["ema_e9"], "1300000000");
  EXPECT_EQ(p["conf_e9"], "180000000");
  // A block without posts leaves the price as it was (it ages).
  L->Block({});
  EXPECT_EQ(L->Query("/oracle/price")["price_e9"], "2200000000");
  EXPECT_TRUE(L->app->CheckInvariants().ok());
}

TEST(OracleFeeders, NonFeederZeroAbsurdAndDuplicatePostsAreRefused) {
  auto L = FeederLedger();
  L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, kUsd)})});
  const json before = L->Query("/oracle/price");
  // Account 3 is not a feeder.
  auto r = L->Block({L->SignAny(3, {Post(L->accounts[3].bech32, 5 * kUsd)})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].codespace, "oracle");
  EXPECT_EQ(r[0].code, ox::kErrNotFeeder);
  EXPECT_NE(r[0].log.find("not a feeder"), std::string::npos) << r[0].log;
  // A feeder's name in a tx signed by someone else: the signer check refuses it.
  r = L->Block({L->SignAny(3, {Post(L->accounts[0].bech32, 5 * kUsd)})});
  EXPECT_NE(r[0].code, 0u);
  // 0, and above max_price_e9.
  r = L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, 0)})});
  EXPECT_EQ(r[0].code, ox::kErrInvalidPrice);
  r = L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, ox::DefaultParams().max_price_e9() + 1)})});
  EXPECT_EQ(r[0].code, ox::kErrInvalidPrice);
  EXPECT_NE(r[0].log.find("exceeds max_price_e9"), std::string::npos);
  // Nothing of that changed the price.
  json after = L->Query("/oracle/price");
  EXPECT_EQ(after["price_e9"], before["price_e9"]);
  EXPECT_EQ(after["height"], before["height"]);
  // Two posts of one feeder in one block: the second is refused.
  auto t1 = L->SignAny(1, {Post(L->accounts[1].bech32, 2 * kUsd)});
  L->accounts[1].sequence++;
  auto t2 = L->SignAny(1, {Post(L->accounts[1].bech32, 90 * kUsd)});
  r = L->Block({t1, t2});
  EXPECT_EQ(r[0].code, 0u);
  EXPECT_EQ(r[1].code, ox::kErrAlreadyPosted);
  EXPECT_EQ(L->Query("/oracle/price")["price_e9"], std::to_string(2 * kUsd));
}

TEST(OracleFeeders, StalePriceAndTooFewReportsAreUnavailableWithReasons) {
  auto L = FeederLedger({{"min_reports", 2}, {"max_age_ms", "5000"}});
  const auto& k = OracleKeeper(*L);
  L->Block({L->SignAny(0, {Post(L->accounts[0].bech32, kUsd)})});
  const int64_t h = L->app->last_height();
  auto info = k.price_info(L->app->committed_state(), h + 1, BlockTime(h + 1)).value();
  EXPECT_FALSE(info.available);
  EXPECT_NE(info.reason.find("too few reports"), std::string::npos) << info.reason;
  EXPECT_EQ(info.reports, 1u);
  L->Block(
      {L->SignAny(0, {Post(L->accounts[0].bech32, kUsd)}), L->SignAny(1, {Post(L->accounts[1].bech32, 3 * kUsd)})});
  const int64_t h2 = L->app->last_height();
  info = k.price_info(L->app->committed_state(), h2, BlockTime(h2) + 5000).value();
  EXPECT_TRUE(info.available) << info.reason;
  EXPECT_EQ(info.price_e9, kUsd);  // lower median of 1 and 3
  info = k.price_info(L->app->committed_state(), h2 + 6, BlockTime(h2) + 5001).value();
  EXPECT_FALSE(info.available);
  EXPECT_NE(info.reason.find("price is stale"), std::string::npos) << info.reason;
  EXPECT_EQ(info.price_e9, kUsd);  // the figures stay visible
  // The query judges at the last block's time: after 6 empty blocks (6 s) it is stale too.
  for (int i = 0; i < 6; ++i) L->Block({});
  json p = L->Query("/oracle/price");
  EXPECT_FALSE(p["available"].get<bool>());
  EXPECT_NE(p["reason"].get<std::string>().find("price is stale"), std::string::npos);
}

TEST(OracleFeeders, CorruptPriceRecordIsAFault) {
  store::MemStore s;
  ox::Keeper k;
  s.set("oracle/price", "\xff\xff\xff");
  auto r = k.price_info(s, 5, 5000);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(x::IsFault(r.error()));
  store::MemStore empty;
  auto none = k.price_info(empty, 5, 5000);
  ASSERT_TRUE(none.ok());  // "no price" is an answer, not a fault
  EXPECT_FALSE(none->available);
}

TEST(OracleFeeders, BadParamsInGenesisAreRefused) {
  for (json bad : {json{{"ema_alpha_bps", 0}}, json{{"min_reports", 0}}, json{{"min_power_bps", 10001}},
                   json{{"max_age_ms", "0"}}, json{{"feeders", json::array({"nope"})}}}) {
    TestLedger L(2, "", false);
    json g = L.Genesis();
    g["oracle"] = {{"params", bad}};
    auto req = L.InitRequest();
    req.app_state_bytes = g.dump();
    EXPECT_FALSE(L.app->InitChain(req).ok()) << bad.dump();
  }
}

// ---- vote extensions (CometBFT) ------------------------------------------------------------

namespace {

class FixedFeed : public app::PriceFeed {
 public:
  std::optional<uint64_t> v;
  std::optional<uint64_t> price_e9() const override { return v; }
};

// A 4-validator chain with vote extensions on from height 1: blocks go through PrepareProposal,
// ProcessProposal and FinalizeBlock as CometBFT drives them.
struct VeChain {
  std::unique_ptr<TestLedger> L = std::make_unique<TestLedger>(4, "", false);
  std::vector<crypto::KeyPair> keys;
  std::vector<int64_t> powers{10, 10, 10, 10};

  explicit VeChain(std::vector<int64_t> p = {10, 10, 10, 10}) : powers(std::move(p)) {
    auto req = L->InitRequest();
    for (size_t i = 0; i < powers.size(); ++i) {
      keys.push_back(*crypto::KeyFromSeed(crypto::Sha256("validator-" + std::to_string(i))));
      req.validators.push_back(app::ValidatorUpdate{keys.back().pubkey, powers[i]});
    }
    req.vote_extensions_enable_height = 1;
    auto ic = L->app->InitChain(req);
    if (!ic.ok()) throw std::runtime_error(ic.error().message);
    Finalize({});  // height 1: no extended commit yet
  }

  int64_t next() const { return L->app->last_height() + 1; }

  app::ExtendedVoteInfo Vote(size_t i, std::optional<uint64_t> price, int64_t height, int32_t round = 0) const {
    app::ExtendedVoteInfo v;
    v.validator_address = crypto::AddressOf(keys[i].pubkey);
    v.power = powers[i];
    v.vote_extension = ox::Keeper::EncodeExtension(price);
    v.extension_signature =
        crypto::Sign(keys[i], ox::Keeper::ExtensionSignBytes(v.vote_extension, height, round, TestLedger::kChainId));
    v.block_id_flag = ox::kFlagCommit;
    return v;
  }
  app::ExtendedCommitInfo Commit(const std::vector<std::optional<uint64_t>>& prices) const {
    app::ExtendedCommitInfo c;
    for (size_t i = 0; i < prices.size(); ++i) c.votes.push_back(Vote(i, prices[i], next() - 1));
    return c;
  }
  std::vector<Bytes> Prepare(const app::ExtendedCommitInfo& c, std::vector<Bytes> txs = {}) const {
    app::RequestPrepareProposal pp;
    pp.height = next();
    pp.time_unix_ms = BlockTime(pp.height);
    pp.txs = std::move(txs);
    pp.local_last_commit = c;
    return L->app->PrepareProposal(pp).txs;
  }
  app::ResponseProcessProposal Process(const std::vector<Bytes>& txs) const {
    app::RequestProcessProposal rp;
    rp.txs = txs;
    rp.height = next();
    rp.time_unix_ms = BlockTime(rp.height);
    return L->app->ProcessProposal(rp);
  }
  std::vector<app::ExecTxResult> Finalize(const std::vector<Bytes>& txs) {
    app::RequestFinalizeBlock f;
    f.txs = txs;
    f.height = next();
    f.time_unix_ms = BlockTime(f.height);
    auto r = L->app->FinalizeBlock(f);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    if (!L->app->Commit().ok()) throw std::runtime_error("commit");
    L->SyncSequences();
    return r->tx_results;
  }
  // Prepare + Process (must accept) + Finalize.
  std::vector<app::ExecTxResult> Round(const std::vector<std::optional<uint64_t>>& prices,
                                       std::vector<Bytes> txs = {}) {
    auto block = Prepare(Commit(prices), std::move(txs));
    auto pr = Process(block);
    EXPECT_EQ(pr.status, app::ProposalStatus::kAccept) << pr.reason;
    return Finalize(block);
  }
  ox::InjectedVotes Decode(const Bytes& tx) const { return ox::Keeper::DecodeInjection(tx).value(); }
  void ExpectRejected(const std::vector<Bytes>& txs, const std::string& why) const {
    auto pr = Process(txs);
    EXPECT_EQ(pr.status, app::ProposalStatus::kReject) << "accepted; expected: " << why;
    EXPECT_NE(pr.reason.find(why), std::string::npos) << pr.reason;
  }
};

}  // namespace

TEST(OracleVoteExtensions, ExtendVoteAndVerifyVoteExtension) {
  VeChain c;
  FixedFeed feed;
  EXPECT_TRUE(c.L->app->ExtendVote({}).vote_extension.empty());  // no feed: no price
  c.L->app->set_price_feed(&feed);
  EXPECT_TRUE(c.L->app->ExtendVote({}).vote_extension.empty());  // the feed has none
  feed.v = 420'000'000;
  const Bytes ext = c.L->app->ExtendVote({}).vote_extension;
  EXPECT_EQ(ext, ox::Keeper::EncodeExtension(420'000'000));
  c.L->app->set_price_feed(nullptr);
  auto verify = [&](const Bytes& e) {
    app::RequestVerifyVoteExtension r;
    r.vote_extension = e;
    r.height = c.next();
    return c.L->app->VerifyVoteExtension(r);
  };
  EXPECT_EQ(verify(ext).status, app::VerifyStatus::kAccept);
  EXPECT_EQ(verify("").status, app::VerifyStatus::kAccept);  // "no price" is allowed
  // Tampered or malformed payloads are refused, each with its reason.
  const std::string zero_bytes("\x08\x00", 2);  // price_e9 = 0 written explicitly
  depai::oracle::v1::OracleVoteExtension huge;
  huge.set_price_e9(ox::DefaultParams().max_price_e9() + 1);
  const std::vector<std::pair<Bytes, std::string>> bad{
      {"\xff\xff\xff", "does not decode"},
      {ext + "\x10\x01", "does not decode"},  // an unknown field
      {zero_bytes, "price is 0"},
      {huge.SerializeAsString(), "exceeds max_price_e9"},
      {Bytes(65, '\x08'), "bytes, at most"},
      {ext.substr(0, ext.size() - 1), "does not decode"},         // truncated
      {std::string("\x08\x81\x80\x80\x80\x00", 6), "canonical"},  // 1, in an over-long varint
  };
  for (const auto& [b, why] : bad) {
    auto r = verify(b);
    EXPECT_EQ(r.status, app::VerifyStatus::kReject) << why;
    EXPECT_NE(r.reason.find(why), std::string::npos) << why << ": " << r.reason;
  }
}

TEST(OracleVoteExtensions, InjectedCommitIsAggregatedIntoAPowerWeightedMedian) {
  VeChain c({10, 10, 10, 40});
  auto res = c.Round({1'000'000'000, 1'010'000'000, 1'020'000'000, 1'030'000'000});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].code, 0u) << res[0].log;  // the injection's result
  json p = c.L->Query("/oracle/price");
  EXPECT_TRUE(p["available"].get<bool>()) << p.dump();
  EXPECT_EQ(p["price_e9"], "1030000000");  // the validator with 40 of 70 power
  EXPECT_EQ(p["source"], "vote_extensions");
  EXPECT_EQ(p["power_bps"], 10000);
  EXPECT_EQ(p["reports"], 4);
  // Equal power: the lower median; a tx in the block still runs after the injection.
  VeChain e;
  auto tx = e.L->Send(0, e.L->accounts[1].bech32, "5udpai");
  res = e.Round({1'000'000'000, 1'010'000'000, 1'020'000'000, 1'030'000'000}, {tx});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[1].code, 0u) << res[1].log;
  EXPECT_EQ(e.L->Query("/oracle/price")["price_e9"], "1010000000");
  // An outlier stays out: the median and the band do not follow it.
  e.Round({1'000'000'000, 1'010'000'000, 1'020'000'000, 900 * kUsd});
  p = e.L->Query("/oracle/price");
  EXPECT_EQ(p["price_e9"], "1010000000");
  EXPECT_EQ(p["conf_e9"], "10000000");
  EXPECT_TRUE(e.L->app->CheckInvariants().ok());
}

TEST(OracleVoteExtensions, TooLittleReportedPowerMakesThePriceUnavailable) {
  VeChain c;
  // All four sign their commit votes, but only two carry a price: 5000 bps < 6667.
  c.Round({kUsd, 2 * kUsd, std::nullopt, std::nullopt});
  json p = c.L->Query("/oracle/price");
  EXPECT_FALSE(p["available"].get<bool>());
  EXPECT_NE(p["reason"].get<std::string>().find("too little validator power"), std::string::npos) << p.dump();
  EXPECT_EQ(p["power_bps"], 5000);
  // Three of four (one validator offline: absent, no extension): 7500 bps, available.
  auto commit = c.Commit({kUsd, 2 * kUsd, 3 * kUsd, std::nullopt});
  commit.votes[3] = app::ExtendedVoteInfo{commit.votes[3].validator_address, 10, "", "", ox::kFlagAbsent};
  auto block = c.Prepare(commit);
  ASSERT_EQ(c.Process(block).status, app::ProposalStatus::kAccept) << c.Process(block).reason;
  c.Finalize(block);
  p = c.L->Query("/oracle/price");
  EXPECT_TRUE(p["available"].get<bool>()) << p.dump();
  EXPECT_EQ(p["price_e9"], std::to_string(2 * kUsd));
  EXPECT_EQ(p["power_bps"], 7500);
}

TEST(OracleVoteExtensions, ProcessProposalRejectsMissingDuplicatedAndForgedInjections) {
  VeChain c;
  const auto good = c.Prepare(c.Commit({kUsd, kUsd, kUsd, kUsd}));
  ASSERT_EQ(good.size(), 1u);
  ASSERT_TRUE(ox::Keeper::IsInjection(good[0]));
  ASSERT_EQ(c.Process(good).status, app::ProposalStatus::kAccept) << c.Process(good).reason;
  const auto tx = c.L->Send(0, c.L->accounts[1].bech32, "5udpai");

  // Missing: a proposer that leaves the extended commit out.
  c.ExpectRejected({}, "missing");
  c.ExpectRejected({tx}, "missing");
  // Duplicated, or not first.
  c.ExpectRejected({good[0], good[0]}, "a second one");
  c.ExpectRejected({good[0], tx, good[0]}, "a second one");
  c.ExpectRejected({tx, good[0]}, "missing");
  // Malformed bytes after the magic.
  c.ExpectRejected({std::string(ox::kInjectionMagic) + "\xff\x01garbage"}, "do not decode");

  auto with = [&](const std::function<void(ox::InjectedVotes&)>& edit) {
    auto v = c.Decode(good[0]);
    edit(v);
    return std::vector<Bytes>{ox::Keeper::EncodeInjection(v)};
  };
  // Forged: validator 1's extension changed after it signed (a proposer moving the price).
  c.ExpectRejected(with([&](ox::InjectedVotes& v) {
                     v.mutable_votes(1)->set_vote_extension(ox::Keeper::EncodeExtension(50 * kUsd));
                   }),
                   "does not verify");
  // Forged: validator 2's vote carries a signature made with validator 3's key.
  c.ExpectRejected(with([&](ox::InjectedVotes& v) {
                     const Bytes ext = ox::Keeper::EncodeExtension(50 * kUsd);
                     v.mutable_votes(2)->set_vote_extension(ext);
                     v.mutable_votes(2)->set_extension_signature(crypto::Sign(
                         c.keys[3], ox::Keeper::ExtensionSignBytes(ext, c.next() - 1, 0, TestLedger::kChainId)));
                   }),
                   "does not verify");
  // Signed for another chain, another height (a replay) or another round.
  for (auto [chain, dh, round] : {std::tuple<std::string, int64_t, int32_t>{"other-chain", 0, 0},
                                  {TestLedger::kChainId, -1, 0},
                                  {TestLedger::kChainId, 0, 1}}) {
    c.ExpectRejected(
        with([&, chain = chain, dh = dh, round = round](ox::InjectedVotes& v) {
          auto* vote = v.mutable_votes(0);
          vote->set_extension_signature(crypto::Sign(
              c.keys[0], ox::Keeper::ExtensionSignBytes(vote->vote_extension(), c.next() - 1 + dh, round, chain)));
        }),
        "does not verify");
  }
  // The whole injection of an older height.
  c.ExpectRejected(with([](ox::InjectedVotes& v) { v.set_height(v.height() - 1); }), "votes of height");
  // Stuffed: a vote from a key that is no validator, with a valid signature of its own.
  c.ExpectRejected(
      with([&](ox::InjectedVotes& v) {
        auto fake = *crypto::KeyFromSeed(crypto::Sha256("not-a-validator"));
        v.mutable_votes(3)->set_validator_address(crypto::AddressOf(fake.pubkey));
        v.mutable_votes(3)->set_extension_signature(crypto::Sign(
            fake, ox::Keeper::ExtensionSignBytes(v.votes(3).vote_extension(), c.next() - 1, 0, TestLedger::kChainId)));
      }),
      "not a validator");
  // Stuffed: one validator's vote twice, more votes than validators, an inflated power.
  c.ExpectRejected(with([](ox::InjectedVotes& v) { *v.mutable_votes(3) = v.votes(0); }), "votes twice");
  c.ExpectRejected(with([](ox::InjectedVotes& v) { *v.add_votes() = v.votes(0); }), "votes for 4 validators");
  c.ExpectRejected(with([](ox::InjectedVotes& v) { v.mutable_votes(0)->set_power(1000); }), "the vote claims");
  // An extension on a vote that did not precommit the block; an unknown flag.
  c.ExpectRejected(with([](ox::InjectedVotes& v) { v.mutable_votes(0)->set_block_id_flag(ox::kFlagNil); }),
                   "carries an extension");
  c.ExpectRejected(with([](ox::InjectedVotes& v) { v.mutable_votes(0)->set_block_id_flag(7); }), "block_id_flag");
  // Omitted votes: two of four commit votes are not more than 2/3 of the power.
  c.ExpectRejected(with([](ox::InjectedVotes& v) { v.mutable_votes()->DeleteSubrange(2, 2); }), "more than 2/3");
  // A signed but malformed payload (a byzantine validator colluding with the proposer).
  for (const Bytes& payload : {Bytes("\xff\xff"), Bytes("\x08\x00", 2)}) {
    c.ExpectRejected(with([&](ox::InjectedVotes& v) {
                       v.mutable_votes(0)->set_vote_extension(payload);
                       v.mutable_votes(0)->set_extension_signature(crypto::Sign(
                           c.keys[0], ox::Keeper::ExtensionSignBytes(payload, c.next() - 1, 0, TestLedger::kChainId)));
                     }),
                     "validator ");
  }
  // None of that touched state; the honest proposal still lands.
  c.Finalize(good);
  EXPECT_EQ(c.L->Query("/oracle/price")["price_e9"], std::to_string(kUsd));
}

TEST(OracleVoteExtensions, FinalizeBlockIgnoresAnInjectionThatDoesNotVerify) {
  // A node replaying a block never aggregates a forged injection, even without ProcessProposal.
  VeChain c;
  auto v = c.Decode(c.Prepare(c.Commit({kUsd, kUsd, kUsd, kUsd}))[0]);
  v.mutable_votes(1)->set_vote_extension(ox::Keeper::EncodeExtension(50 * kUsd));
  auto res = c.Finalize({ox::Keeper::EncodeInjection(v)});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].code, ox::kErrInvalidInjection);
  EXPECT_FALSE(c.L->Query("/oracle/price")["available"].get<bool>());
}

TEST(OracleVoteExtensions, WithoutVoteExtensionsAnInjectionIsRefused) {
  // The devnet (no validators, extensions off): PrepareProposal injects nothing and
  // ProcessProposal refuses an injection.
  TestLedger L(2);
  app::RequestPrepareProposal pp;
  pp.height = L.app->last_height() + 1;
  EXPECT_TRUE(L.app->PrepareProposal(pp).txs.empty());
  ox::InjectedVotes v;
  v.set_height(pp.height - 1);
  app::RequestProcessProposal rp;
  rp.height = pp.height;
  rp.txs = {ox::Keeper::EncodeInjection(v)};
  auto r = L.app->ProcessProposal(rp);
  EXPECT_EQ(r.status, app::ProposalStatus::kReject);
  EXPECT_NE(r.reason.find("vote extensions are off"), std::string::npos) << r.reason;
  // And a MsgPostPrice from anyone fails: there are no feeders.
  auto res = L.Block({L.SignAny(0, {Post(L.accounts[0].bech32, kUsd)})});
  EXPECT_EQ(res[0].code, ox::kErrNotFeeder);
}

TEST(OracleVoteExtensions, SignBytesAreCometBftsCanonicalVoteExtension) {
  // varint(len) || CanonicalVoteExtension{1: extension, 2: sfixed64 height, 3: sfixed64 round,
  // 4: chain_id}, zero fields omitted (gogoproto's proto3 encoding).
  const Bytes sb = ox::Keeper::ExtensionSignBytes("\x08\x01", 5, 0, "c");
  const Bytes want = std::string("\x10", 1) + std::string("\x0a\x02\x08\x01", 4) +
                     std::string("\x11\x05\x00\x00\x00\x00\x00\x00\x00", 9) +
                     std::string(
                         "\x22\x01"
                         "c",
                         3);
  EXPECT_EQ(HexEncode(sb), HexEncode(want));
  const Bytes r1 = ox::Keeper::ExtensionSignBytes("", 7, 2, "");
  EXPECT_EQ(HexEncode(r1), "12110700000000000000190200000000000000");
}

TEST(OracleVoteExtensions, GenesisExportRoundTripsValidatorsAndPrice) {
  VeChain c;
  c.Round({kUsd, 2 * kUsd, 3 * kUsd, 4 * kUsd});
  json exported = json::parse(c.L->app->ExportGenesis().value());
  json section = exported["app_state"]["oracle"];
  EXPECT_EQ(section["validators"].size(), 4u);
  EXPECT_EQ(section["vote_extensions_enable_height"], "1");
  EXPECT_EQ(section["price"]["price_e9"], std::to_string(2 * kUsd));
  TestLedger L2(4, "", false);
  auto req = L2.InitRequest();
  req.app_state_bytes = exported["app_state"].dump();
  ASSERT_TRUE(L2.app->InitChain(req).ok());
  L2.Block({});
  json again = json::parse(L2.app->ExportGenesis().value())["app_state"]["oracle"];
  section.erase("clock");
  again.erase("clock");
  EXPECT_EQ(again, section);
}
