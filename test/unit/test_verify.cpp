// x/verify through the real App on a test ledger: quorum draws never pick a same-owner checker
// or the provider itself; an honest compute challenge passes and pays its checkers exactly; a
// provider that misses its deadline, one whose committed row is wrong, and one that goes offline
// under an SLA are slashed with exact refunds and UNSTABLE closes; an always-pass checker is
// struck, banned and slashed by a dispute; an appeal restores a wrongly failed provider; bad
// messages change nothing.
#include <gtest/gtest.h>

#include <set>

#include "client/market_msgs.h"
#include "client/tx_builder.h"
#include "depai/market/v1/market.pb.h"
#include "depai/provider/v1/provider.pb.h"
#include "depai/verify/v1/verify.pb.h"
#include "proof/compute.h"
#include "proof/merkle.h"
#include "proof/prover.h"
#include "unit/ledger_fixture.h"
#include "x/market/keeper.h"
#include "x/verify/keeper.h"
#include "x/verify/module.h"

namespace depai::test {
namespace {

using nlohmann::json;
namespace vv1 = depai::verify::v1;
namespace pv1 = depai::provider::v1;
namespace mv1 = depai::market::v1;

// Accounts: 0 buyer, 1 and 2 providers, 3..6 checkers, 7 a checker owned by provider 1, 8 and 9 spare.
constexpr size_t kBuyer = 0, kP1 = 1, kP2 = 2, kC0 = 3, kSameOwner = 7;
constexpr uint64_t kCollateral = 10'000'000, kBond = 2'000'000, kReward = 1000, kRate = 500;

class Verify {
 public:
  explicit Verify(json verify_params = json()) : L(10, "", false) {
    json g = L.Genesis();
    json p = {{"quorum", 3},
              {"epoch_blocks", "10"},
              {"compute_every_epochs", 1},
              {"min_checker_bond", "1000000"},
              {"attest_window", "20"},
              {"probe_window", "2"},
              {"sample_rows", 8},
              {"freivalds_rounds", 2},
              {"target_prove_ms", "1"},
              {"min_n", 16},
              {"max_n", 64},
              {"slack_bps", 20000},
              {"base_blocks", "2"},
              {"block_ms", "1000"},
              {"gpu_throughput", json::array({{{"model", "h100"}, {"ops_per_ms", "100000000"}}})},
              {"cpu_ops_per_ms_per_core", "100000"},
              {"max_latency_ms", 2000},
              {"reputation_alpha_bps", 2000},
              {"reputation_prior_bps", 5000},
              {"slash_downtime_bps", 1000},
              {"slash_deception_bps", 5000},
              {"appeal_window", "5"},
              {"strike_window", "1000"},
              {"strikes_to_ban", 2},
              {"ban_blocks", "500"},
              {"reward_per_attestation", std::to_string(kReward)},
              {"checker_slash_bps", 1000},
              {"sla_window_blocks", "100"},
              {"dispute_gas", "100000"},
              {"checker_unbonding_blocks", "10"}};
    for (auto& [k, v] : verify_params.items()) p[k] = v;
    g["verify"] = json{{"params", p}};
    // Fund the checker pool so rewards can be paid.
    g["bank"]["balances"].push_back({{"address", crypto::AddressToBech32(x::verify::PoolAddress())},
                                     {"coins", json::array({{{"denom", "udpai"}, {"amount", "1000000"}}})}});
    auto req = L.InitRequest();
    req.app_state_bytes = g.dump();
    auto r = L.app->InitChain(req);
    if (!r.ok()) throw std::runtime_error(r.error().message);
    Run({});
  }

  app::ResponseFinalizeBlock Run(const std::vector<Bytes>& txs) {
    app::RequestFinalizeBlock req;
    req.txs = txs;
    req.height = L.app->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    req.hash = crypto::Sha256("block-" + std::to_string(req.height));
    auto r = L.app->FinalizeBlock(req);
    if (!r.ok()) throw std::runtime_error("FinalizeBlock: " + r.error().message);
    auto c = L.app->Commit();
    if (!c.ok()) throw std::runtime_error("Commit: " + c.error().message);
    L.SyncSequences();
    for (const auto& e : r->events) events.push_back(e);
    for (const auto& t : r->tx_results)
      for (const auto& e : t.events) events.push_back(e);
    return *r;
  }
  int64_t Height() { return L.app->last_height(); }
  void RunUntil(int64_t h) {
    while (Height() < h) Run({});
  }
  Bytes Sign(size_t who, const google::protobuf::Any& msg, uint64_t gas = 200000) {
    auto& a = L.accounts.at(who);
    client::SignerData sd{TestLedger::kChainId, a.number, a.sequence};
    client::TxOptions opts;
    opts.fee = Coins::Parse("100udpai").value();
    opts.gas_limit = gas;
    return client::BuildSignedTx(a.key, sd, {msg}, opts);
  }
  app::ExecTxResult Tx(size_t who, const google::protobuf::Any& msg, uint64_t gas = 200000) {
    return Run({Sign(who, msg, gas)}).tx_results.at(0);
  }
  const std::string& Addr(size_t i) { return L.accounts.at(i).bech32; }
  uint64_t Bal(size_t i) { return L.Balance(Addr(i)); }
  uint64_t BalOf(const Bytes& raw) { return L.Balance(crypto::AddressToBech32(raw)); }
  json Q(const std::string& p) { return L.Query(p); }

  // Provider `who`: 4 CPU cores, optionally GPUs it may not have.
  void RegisterProvider(size_t who, uint32_t h100s = 0) {
    pv1::MsgRegisterProvider m;
    m.set_owner(Addr(who));
    m.set_endpoint("http://127.0.0.1:" + std::to_string(9000 + who));
    m.set_region("eu-west");
    auto* r = m.mutable_resources();
    r->set_cpu_millicores(4000);
    r->set_memory_mib(8192);
    if (h100s) {
      auto* g = r->add_gpus();
      g->set_vendor("nvidia");
      g->set_model("h100");
      g->set_count(h100s);
      g->set_vram_mib(81920);
    }
    m.mutable_collateral()->set_denom("udpai");
    m.mutable_collateral()->set_amount(std::to_string(kCollateral));
    auto t = Tx(who, client::PackAny(m));
    ASSERT_EQ(t.code, 0u) << t.log;
  }
  void RegisterChecker(size_t who, const std::string& owner = "") {
    vv1::MsgRegisterChecker m;
    m.set_address(Addr(who));
    m.set_owner(owner);
    m.mutable_bond()->set_denom("udpai");
    m.mutable_bond()->set_amount(std::to_string(kBond));
    auto t = Tx(who, client::PackAny(m));
    ASSERT_EQ(t.code, 0u) << t.log;
  }
  // An SLA lease of 1 CPU core from `provider` to the buyer, at kRate per block.
  uint64_t Lease(size_t provider, uint32_t min_uptime_bps = 9892) {
    mv1::MsgCreateOrder m;
    m.set_owner(Addr(kBuyer));
    auto* g = m.add_groups();
    g->set_name("job");
    g->set_count(1);
    g->mutable_units()->set_cpu_millicores(1000);
    g->mutable_units()->set_memory_mib(1024);
    m.mutable_max_price_per_block()->set_denom("udpai");
    m.mutable_max_price_per_block()->set_amount(std::to_string(kRate));
    m.mutable_deposit()->set_denom("udpai");
    m.mutable_deposit()->set_amount("5000000");
    m.set_bid_window_blocks(5);
    m.set_manifest_hash(crypto::Sha256("manifest"));
    m.mutable_sla()->set_min_uptime_bps(min_uptime_bps);
    auto t = Tx(kBuyer, client::PackMsgCreateOrder(m));
    EXPECT_EQ(t.code, 0u) << t.log;
    auto orders = Q("/market/orders")["orders"];
    const uint64_t oid = std::stoull(orders.back()["id"].get<std::string>());
    EXPECT_EQ(Tx(provider, client::PackMsgCreateBid(Addr(provider), oid, Amount::Of(kRate).value())).code, 0u);
    auto lt = Tx(kBuyer, client::PackMsgCreateLease(Addr(kBuyer), oid, Addr(provider)));
    EXPECT_EQ(lt.code, 0u) << lt.log;
    auto leases = Q("/market/leases")["leases"];
    return std::stoull(leases.back()["lease"]["id"].get<std::string>());
  }

  json Challenges(size_t provider, const std::string& kind) {
    json out = json::array();
    const json all = Q("/verify/challenges?provider=" + Addr(provider));
    for (const auto& c : all["challenges"])
      if (c["kind"] == kind) out.push_back(c);
    return out;
  }
  std::optional<size_t> AccountOf(const std::string& bech32) {
    for (size_t i = 0; i < L.accounts.size(); ++i)
      if (L.accounts[i].bech32 == bech32) return i;
    return std::nullopt;
  }
  // The product of challenge `c`, honest or with `corrupt` rows changed.
  struct Answer {
    proof::Product product;
    std::unique_ptr<proof::MerkleTree> tree;
  };
  Answer Prove(const json& c, const std::set<uint32_t>& corrupt = {}) {
    const Bytes seed = *HexDecode(c["seed"].get<std::string>());
    const uint32_t n = c["n"].get<uint32_t>();
    Answer a;
    a.product = proof::ProveCpu(seed, n, 1);
    for (uint32_t r : corrupt) a.product.c[static_cast<size_t>(r) * n] ^= 1;
    a.tree = std::make_unique<proof::MerkleTree>(proof::BuildTree(a.product));
    return a;
  }
  app::ExecTxResult CommitRoot(size_t provider, uint64_t id, const Bytes& root) {
    vv1::MsgCommitRoot m;
    m.set_provider(Addr(provider));
    m.set_challenge_id(id);
    m.set_root(root);
    return Tx(provider, client::PackAny(m));
  }
  // What an honest checker does with the sampled rows of `c` (served from `a`).
  vv1::MsgAttest Check(size_t checker, const json& c, const Answer& a) {
    const Bytes seed = *HexDecode(c["seed"].get<std::string>());
    const uint32_t n = c["n"].get<uint32_t>();
    const Bytes root = *HexDecode(c["root"].get<std::string>());
    proof::Freivalds fv(seed, n, crypto::Sha256("r-" + std::to_string(checker)), 2);
    vv1::MsgAttest m;
    m.set_checker(Addr(checker));
    m.set_challenge_id(std::stoull(c["id"].get<std::string>()));
    m.set_pass(true);
    for (const auto& jr : c["sample_rows"]) {
      const uint32_t r = jr.get<uint32_t>();
      const uint32_t* row = &a.product.c[static_cast<size_t>(r) * n];
      const Bytes rb = proof::RowBytes(row, n);
      if (!proof::VerifyProof(root, n, r, proof::LeafHash(r, n, rb), a.tree->proof(r))) {
        m.set_pass(false);
        m.set_reason_code(vv1::REASON_BAD_PROOF);
        m.set_failing_row(r);
        m.set_reason("row " + std::to_string(r) + " has a bad Merkle path");
        break;
      }
      if (!fv.check_row(r, row)) {
        m.set_pass(false);
        m.set_reason_code(vv1::REASON_FREIVALDS);
        m.set_failing_row(r);
        m.set_reason("row " + std::to_string(r) + " fails Freivalds");
        break;
      }
      m.set_rows_checked(m.rows_checked() + 1);
    }
    return m;
  }
  bool HasEvent(const std::string& type, const std::string& key = "", const std::string& value = "") {
    for (const auto& e : events) {
      if (e.type != type) continue;
      if (key.empty()) return true;
      for (const auto& a : e.attributes)
        if (a.key == key && a.value == value) return true;
    }
    return false;
  }

  TestLedger L;
  std::vector<x::Event> events;
};

uint64_t U(const json& j) { return std::stoull(j.get<std::string>()); }

// Registers providers 1 and 2 and checkers 3..6 (and 7, owned by provider 1).
void SetupNetwork(Verify& V, uint32_t p1_h100s = 0) {
  V.RegisterProvider(kP1, p1_h100s);
  V.RegisterProvider(kP2);
  for (size_t c = kC0; c < kC0 + 4; ++c) V.RegisterChecker(c);
  V.RegisterChecker(kSameOwner, V.Addr(kP1));
}

// x/verify's standing view (what x/rewards pays by) of a provider over [1, now].
x::verify::Standing StandingOf(Verify& V, size_t who) {
  for (const auto* m : V.L.app->Modules())
    if (const auto* vm = dynamic_cast<const x::verify::Module*>(m))
      return vm->keeper().standing(V.L.app->committed_state(), V.L.accounts.at(who).addr, 1, V.Height()).value();
  throw std::runtime_error("no verify module");
}

TEST(Verify, QuorumNeverHoldsTheProviderOrASameOwnerChecker) {
  Verify V;
  SetupNetwork(V);
  V.RegisterChecker(kP2);  // provider 2 is also a checker: never assigned to itself
  V.RunUntil(100);
  size_t seen = 0;
  const json all = V.Q("/verify/challenges");
  for (const auto& c : all["challenges"]) {
    ++seen;
    ASSERT_EQ(c["quorum"].size(), 3u);
    std::set<std::string> q;
    for (const auto& m : c["quorum"]) q.insert(m.get<std::string>());
    EXPECT_EQ(q.size(), 3u);
    EXPECT_FALSE(q.count(c["provider"].get<std::string>())) << c.dump();
    if (c["provider"] == V.Addr(kP1)) EXPECT_FALSE(q.count(V.Addr(kSameOwner))) << c.dump();
  }
  EXPECT_GE(seen, 10u);
}

TEST(Verify, HonestComputePassesAndPaysEachCheckerExactly) {
  Verify V;
  SetupNetwork(V);
  V.RunUntil(10);
  auto cs = V.Challenges(kP1, "CHALLENGE_KIND_COMPUTE");
  ASSERT_EQ(cs.size(), 1u);
  const uint64_t id = U(cs[0]["id"]);
  auto ans = V.Prove(cs[0]);
  // Bad roots change nothing.
  EXPECT_NE(V.CommitRoot(kP1, id, Bytes(31, 'x')).code, 0u);
  EXPECT_NE(V.CommitRoot(kP2, id, ans.tree->root()).code, 0u);  // not its challenge
  ASSERT_EQ(V.CommitRoot(kP1, id, ans.tree->root()).code, 0u);
  V.Run({});  // the sample is drawn in the next block
  auto c = V.Q("/verify/challenges/" + std::to_string(id));
  ASSERT_EQ(c["state"], "CHALLENGE_STATE_AWAITING_ATTESTATIONS") << c.dump();
  ASSERT_EQ(c["sample_rows"].size(), 8u);
  std::map<size_t, uint64_t> before;
  for (const auto& q : c["quorum"]) before[*V.AccountOf(q.get<std::string>())] = 0;
  for (auto& [who, b] : before) b = V.Bal(who);
  // An outsider cannot attest.
  size_t outsider = kC0;
  while (before.count(outsider) || outsider == kSameOwner) ++outsider;
  EXPECT_NE(V.Tx(outsider, client::PackAny(V.Check(outsider, c, ans))).code, 0u);
  for (auto& [who, b] : before) {
    auto m = V.Check(who, c, ans);
    EXPECT_TRUE(m.pass());
    auto t = V.Tx(who, client::PackAny(m));
    ASSERT_EQ(t.code, 0u) << t.log;
    EXPECT_NE(V.Tx(who, client::PackAny(m)).code, 0u);  // twice: refused
  }
  c = V.Q("/verify/challenges/" + std::to_string(id));
  ASSERT_EQ(c["state"], "CHALLENGE_STATE_DECIDED");
  auto v = V.Q("/verify/verdicts/" + c["verdict_id"].get<std::string>());
  EXPECT_TRUE(v["pass"].get<bool>()) << v.dump();
  EXPECT_NE(v["reason"].get<std::string>().find("verified 8 sampled rows"), std::string::npos) << v["reason"];
  // The EMA from the prior: 5000 * (1 - 0.2) + 10000 * 0.2.
  auto rep = V.Q("/verify/reputation/" + V.Addr(kP1));
  EXPECT_EQ(rep["bps"].get<uint32_t>(), (5000u * 8000 + 10000u * 2000) / 10000) << rep.dump();
  V.RunUntil(U(v["final_height"]));
  for (auto& [who, b] : before) EXPECT_EQ(V.Bal(who), b - 2 * 100 + kReward) << who;  // two tx fees paid
  // x/rewards sees verified capacity: the passing challenge's claimed throughput, and no failure.
  const auto st = StandingOf(V, kP1);
  EXPECT_FALSE(st.failed);
  EXPECT_EQ(st.verified_ops_per_ms, U(c["claimed_ops_per_ms"]));
  EXPECT_GT(st.verified_ops_per_ms, 0u);
}

TEST(Verify, ProviderClaimingHardwareItLacksMissesTheDeadlineAndIsSlashedWithRefund) {
  Verify V;
  SetupNetwork(V, /*p1_h100s=*/8);
  const uint64_t lease = V.Lease(kP1);
  const json l0 = V.Q("/market/leases/" + std::to_string(lease));
  const int64_t start = std::stoll(l0["lease"]["start_height"].get<std::string>());
  V.RunUntil(10);
  auto cs = V.Challenges(kP1, "CHALLENGE_KIND_COMPUTE");
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_NE(cs[0]["hardware"].get<std::string>().find("nvidia h100 x8"), std::string::npos) << cs[0].dump();
  const int64_t deadline = std::stoll(cs[0]["deadline_height"].get<std::string>());
  const int64_t created = std::stoll(cs[0]["created_height"].get<std::string>());
  const uint64_t b0 = V.Bal(kBuyer), t0 = V.BalOf(x::verify::TreasuryAddress());
  // No root. The provider answers liveness, so the miss is a false hardware claim; the chain
  // decides it once the round's liveness challenge is settled too (here: its deadline, unattested).
  V.RunUntil(deadline);
  for (int i = 0;
       i < 60 && V.Q("/verify/challenges/" + cs[0]["id"].get<std::string>())["state"] != "CHALLENGE_STATE_DECIDED"; ++i)
    V.Run({});
  auto c = V.Q("/verify/challenges/" + cs[0]["id"].get<std::string>());
  ASSERT_EQ(c["state"], "CHALLENGE_STATE_DECIDED");
  auto v = V.Q("/verify/verdicts/" + c["verdict_id"].get<std::string>());
  EXPECT_FALSE(v["pass"].get<bool>());
  EXPECT_EQ(v["reason_code"], "REASON_ROOT_LATE");
  EXPECT_NE(
      v["reason"].get<std::string>().find("deadline +" + std::to_string(deadline - created) + " for nvidia h100 x8"),
      std::string::npos)
      << v["reason"];
  EXPECT_EQ(v["fault"], "FAULT_DECEPTION");
  const uint64_t slash = kCollateral * 5000 / 10000;
  EXPECT_EQ(U(v["slashed"]), slash);
  const int64_t from = std::max(start + 1, created), vh = std::stoll(v["height"].get<std::string>());
  EXPECT_GE(vh, deadline);
  const uint64_t refund = static_cast<uint64_t>(vh - from + 1) * kRate;
  ASSERT_EQ(v["refunds"].size(), 1u);
  EXPECT_EQ(U(v["refunds"][0]["amount"]), refund);
  EXPECT_EQ(U(v["to_treasury"]), slash - refund);
  auto l = V.Q("/market/leases/" + std::to_string(lease));
  EXPECT_EQ(l["lease"]["state"], "LEASE_STATE_CLOSED");
  EXPECT_EQ(l["lease"]["close_reason"], "CLOSE_REASON_PROVIDER_UNSTABLE");
  auto pr = V.Q("/provider/providers/" + V.Addr(kP1));
  EXPECT_EQ(U(pr["provider"]["collateral"]), kCollateral - slash) << pr.dump();
  // The refund and the treasury's share are paid when the verdict is final (no appeal here).
  const uint64_t b_closed = V.Bal(kBuyer);
  V.RunUntil(U(v["final_height"]));
  EXPECT_EQ(V.Bal(kBuyer) - b_closed, refund);
  EXPECT_GE(b_closed, b0);  // the lease close returned the rest of the escrow
  EXPECT_EQ(V.BalOf(x::verify::TreasuryAddress()) - t0 >= slash - refund, true);
  EXPECT_EQ(V.BalOf(x::verify::SlashAddress()), 0u);
  ASSERT_TRUE(V.L.app->CheckInvariants().ok());
  // Failed verification: x/rewards pays this provider nothing for the epoch, and no capacity.
  const auto st = StandingOf(V, kP1);
  EXPECT_TRUE(st.failed);
  EXPECT_EQ(st.verified_ops_per_ms, 0u);
}

TEST(Verify, OfflineProviderBreachesItsSlaAndAlwaysPassCheckerIsBanned) {
  Verify V(json{{"compute_every_epochs", 1000}});  // liveness only
  SetupNetwork(V);
  const uint64_t lease = V.Lease(kP1);
  const int64_t start =
      std::stoll(V.Q("/market/leases/" + std::to_string(lease))["lease"]["start_height"].get<std::string>());
  // Two epochs; in each, the quorum sees provider 1 offline, except one checker that always says pass.
  std::optional<size_t> liar;
  int strikes = 0;
  for (int64_t epoch : {10, 20, 30}) {
    V.RunUntil(epoch);
    auto cs = V.Challenges(kP1, "CHALLENGE_KIND_LIVENESS");
    ASSERT_FALSE(cs.empty());
    auto c = cs.back();
    V.RunUntil(std::stoll(c["probe_from"].get<std::string>()));
    std::vector<Bytes> txs;
    for (const auto& q : c["quorum"]) {
      const size_t who = *V.AccountOf(q.get<std::string>());
      if (!liar) liar = who;
      vv1::MsgAttest m;
      m.set_checker(V.Addr(who));
      m.set_challenge_id(U(c["id"]));
      const bool offline = epoch == 10 && who != *liar;
      m.set_pass(!offline);
      m.set_answered(!offline);
      m.set_latency_ms(offline ? 0 : 15);
      m.set_reason_code(offline ? vv1::REASON_OFFLINE : vv1::REASON_OK);
      m.set_reason(offline ? "/health did not answer within 2000 ms" : "");
      if (!offline && who == *liar && epoch == 10) ++strikes;
      txs.push_back(V.Sign(who, client::PackAny(m)));
    }
    const auto res = V.Run(txs);
    for (const auto& t : res.tx_results) ASSERT_EQ(t.code, 0u) << t.log;
    if (epoch == 10) {
      auto v = V.Q("/verify/verdicts/" +
                   V.Q("/verify/challenges/" + c["id"].get<std::string>())["verdict_id"].get<std::string>());
      EXPECT_FALSE(v["pass"].get<bool>()) << v.dump();
      EXPECT_EQ(v["fault"], "FAULT_DOWNTIME");
      EXPECT_NE(v["reason"].get<std::string>().find("2 of 3 checkers: /health did not answer"), std::string::npos)
          << v["reason"];
      const uint64_t slash = kCollateral * 1000 / 10000;
      EXPECT_EQ(U(v["slashed"]), slash);
      const int64_t vh = std::stoll(v["height"].get<std::string>());
      ASSERT_EQ(v["refunds"].size(), 1u);
      EXPECT_EQ(U(v["refunds"][0]["amount"]), static_cast<uint64_t>(vh - start) * kRate) << v.dump();
      EXPECT_EQ(V.Q("/market/leases/" + std::to_string(lease))["lease"]["close_reason"],
                "CLOSE_REASON_PROVIDER_UNSTABLE");
      const uint64_t b = V.Bal(kBuyer);
      V.RunUntil(U(v["final_height"]));
      EXPECT_EQ(V.Bal(kBuyer) - b, static_cast<uint64_t>(vh - start) * kRate);
      auto liar_rec = V.Q("/verify/checkers/" + V.Addr(*liar));
      EXPECT_EQ(liar_rec["strike_heights"].size(), 1u) << liar_rec.dump();
      EXPECT_EQ(liar_rec["rewards"], "0");
    }
  }
  ASSERT_TRUE(liar);
  EXPECT_EQ(strikes, 1);
  ASSERT_TRUE(V.L.app->CheckInvariants().ok());
}

TEST(Verify, AnOfflineProviderMissingItsRootIsDownNotLying) {
  Verify V;
  SetupNetwork(V);
  V.RunUntil(10);
  auto cs = V.Challenges(kP2, "CHALLENGE_KIND_COMPUTE");
  auto ls = V.Challenges(kP2, "CHALLENGE_KIND_LIVENESS");
  ASSERT_EQ(cs.size(), 1u);
  ASSERT_EQ(ls.size(), 1u);
  // The whole liveness quorum finds provider 2 down; it posts no root either.
  V.RunUntil(std::stoll(ls[0]["probe_from"].get<std::string>()));
  std::vector<Bytes> txs;
  for (const auto& q : ls[0]["quorum"]) {
    const size_t who = *V.AccountOf(q.get<std::string>());
    vv1::MsgAttest m;
    m.set_checker(V.Addr(who));
    m.set_challenge_id(U(ls[0]["id"]));
    m.set_pass(false);
    m.set_reason_code(vv1::REASON_OFFLINE);
    m.set_reason("/health did not answer");
    txs.push_back(V.Sign(who, client::PackAny(m)));
  }
  const auto res = V.Run(txs);
  for (const auto& t : res.tx_results) ASSERT_EQ(t.code, 0u) << t.log;
  const uint64_t collateral = U(V.Q("/provider/providers/" + V.Addr(kP2))["provider"]["collateral"]);
  for (int i = 0;
       i < 60 && V.Q("/verify/challenges/" + cs[0]["id"].get<std::string>())["state"] != "CHALLENGE_STATE_DECIDED"; ++i)
    V.Run({});
  auto c = V.Q("/verify/challenges/" + cs[0]["id"].get<std::string>());
  ASSERT_EQ(c["state"], "CHALLENGE_STATE_DECIDED");
  auto v = V.Q("/verify/verdicts/" + c["verdict_id"].get<std::string>());
  EXPECT_FALSE(v["pass"].get<bool>());
  EXPECT_EQ(v["reason_code"], "REASON_OFFLINE") << v.dump();
  EXPECT_NE(v["reason"].get<std::string>().find("the provider was offline"), std::string::npos) << v["reason"];
  EXPECT_EQ(v["fault"], "FAULT_NONE");
  EXPECT_EQ(U(V.Q("/provider/providers/" + V.Addr(kP2))["provider"]["collateral"]), collateral);  // no deception slash
  // Down is not deception: not failed, but a failed probe (zero uptime) and no verified capacity.
  const auto st = StandingOf(V, kP2);
  EXPECT_FALSE(st.failed);
  EXPECT_GE(st.liveness_probes, 1u);
  EXPECT_EQ(st.liveness_passes, 0u);
  EXPECT_EQ(st.verified_ops_per_ms, 0u);
}

TEST(Verify, WrongRowsAreCaughtAndAPassingCheckerIsSlashedByADispute) {
  Verify V;
  SetupNetwork(V);
  const uint64_t lease = V.Lease(kP1);
  V.RunUntil(10);
  auto cs = V.Challenges(kP1, "CHALLENGE_KIND_COMPUTE");
  ASSERT_EQ(cs.size(), 1u);
  const uint64_t id = U(cs[0]["id"]);
  const uint32_t n = cs[0]["n"].get<uint32_t>();
  std::set<uint32_t> corrupt;
  for (uint32_t r = 0; r < n; r += 2) corrupt.insert(r);  // half the rows are wrong
  auto ans = V.Prove(cs[0], corrupt);
  ASSERT_EQ(V.CommitRoot(kP1, id, ans.tree->root()).code, 0u);
  V.Run({});
  auto c = V.Q("/verify/challenges/" + std::to_string(id));
  std::vector<size_t> q;
  for (const auto& m : c["quorum"]) q.push_back(*V.AccountOf(m.get<std::string>()));
  // q[0] always says pass; the others check honestly.
  vv1::MsgAttest lie;
  lie.set_checker(V.Addr(q[0]));
  lie.set_challenge_id(id);
  lie.set_pass(true);
  lie.set_rows_checked(8);
  ASSERT_EQ(V.Tx(q[0], client::PackAny(lie)).code, 0u);
  uint32_t bad_row = 0;
  for (size_t i = 1; i < q.size(); ++i) {
    auto m = V.Check(q[i], c, ans);
    ASSERT_FALSE(m.pass());
    EXPECT_EQ(m.reason_code(), vv1::REASON_FREIVALDS);
    bad_row = m.failing_row();
    ASSERT_EQ(V.Tx(q[i], client::PackAny(m)).code, 0u);
  }
  auto v = V.Q("/verify/verdicts/" + V.Q("/verify/challenges/" + std::to_string(id))["verdict_id"].get<std::string>());
  EXPECT_FALSE(v["pass"].get<bool>());
  EXPECT_EQ(v["reason"], "2 of 3 checkers: row " + std::to_string(bad_row) + " fails Freivalds");
  EXPECT_EQ(V.Q("/market/leases/" + std::to_string(lease))["lease"]["close_reason"], "CLOSE_REASON_PROVIDER_UNSTABLE");
  // A dispute with the committed opening of the wrong row: the chain recomputes it and slashes the liar.
  vv1::MsgDispute d;
  d.set_sender(V.Addr(q[1]));
  d.set_challenge_id(id);
  d.set_row_index(bad_row);
  d.set_row(proof::RowBytes(&ans.product.c[static_cast<size_t>(bad_row) * n], n));
  for (const auto& s : ans.tree->proof(bad_row)) d.add_proof(s);
  vv1::MsgDispute forged = d;
  forged.set_row_index(bad_row + 1);  // the proof of another index does not verify
  EXPECT_NE(V.Tx(q[1], client::PackAny(forged), 400000).code, 0u);
  // Outsiders cannot make the chain recompute rows, and neither can anyone for a row that was
  // neither sampled nor cited.
  size_t outsider = kC0;
  while (std::find(q.begin(), q.end(), outsider) != q.end() || outsider == kSameOwner) ++outsider;
  auto od = d;
  od.set_sender(V.Addr(outsider));
  EXPECT_NE(V.Tx(outsider, client::PackAny(od), 400000).log.find("only the provider and the quorum"),
            std::string::npos);
  uint32_t unsampled = 0;
  while (std::find(c["sample_rows"].begin(), c["sample_rows"].end(), json(unsampled)) != c["sample_rows"].end())
    ++unsampled;
  auto ud = d;
  ud.set_row_index(unsampled);
  ud.set_row(proof::RowBytes(&ans.product.c[static_cast<size_t>(unsampled) * n], n));
  ud.clear_proof();
  for (const auto& s : ans.tree->proof(unsampled)) ud.add_proof(s);
  EXPECT_NE(V.Tx(q[1], client::PackAny(ud), 400000).log.find("neither sampled nor cited"), std::string::npos);
  auto t = V.Tx(q[1], client::PackAny(d), 400000);
  ASSERT_EQ(t.code, 0u) << t.log;
  EXPECT_TRUE(V.HasEvent("verify.dispute", "result", "row wrong"));
  auto liar = V.Q("/verify/checkers/" + V.Addr(q[0]));
  EXPECT_EQ(U(liar["bond"]), kBond - kBond * 1000 / 10000);
  EXPECT_EQ(U(liar["slashed"]), kBond * 1000 / 10000);
  EXPECT_NE(V.Tx(q[1], client::PackAny(d), 400000).code, 0u);  // the same row again: refused
  V.RunUntil(U(v["final_height"]));
  liar = V.Q("/verify/checkers/" + V.Addr(q[0]));
  EXPECT_EQ(liar["rewards"], "0");
  EXPECT_EQ(liar["strike_heights"].size(), 1u);
  ASSERT_TRUE(V.L.app->CheckInvariants().ok());
}

TEST(Verify, AppealByAWronglyFailedProviderRestoresIt) {
  Verify V;
  SetupNetwork(V);
  V.RegisterChecker(8);
  V.RegisterChecker(9);  // six checkers can serve provider 2: an appeal finds three fresh ones
  V.RunUntil(10);
  auto cs = V.Challenges(kP2, "CHALLENGE_KIND_COMPUTE");
  ASSERT_EQ(cs.size(), 1u);
  const uint64_t id = U(cs[0]["id"]);
  auto ans = V.Prove(cs[0]);
  ASSERT_EQ(V.CommitRoot(kP2, id, ans.tree->root()).code, 0u);
  V.Run({});
  auto c = V.Q("/verify/challenges/" + std::to_string(id));
  // The whole quorum colludes: "row 0 fails Freivalds".
  for (const auto& m : c["quorum"]) {
    const size_t who = *V.AccountOf(m.get<std::string>());
    vv1::MsgAttest a;
    a.set_checker(V.Addr(who));
    a.set_challenge_id(id);
    a.set_pass(false);
    a.set_reason_code(vv1::REASON_FREIVALDS);
    a.set_failing_row(0);
    a.set_reason("row 0 fails Freivalds");
    ASSERT_EQ(V.Tx(who, client::PackAny(a)).code, 0u);
  }
  const uint64_t vid = U(V.Q("/verify/challenges/" + std::to_string(id))["verdict_id"]);
  auto v = V.Q("/verify/verdicts/" + std::to_string(vid));
  ASSERT_FALSE(v["pass"].get<bool>());
  const uint64_t slash = kCollateral * 5000 / 10000;
  EXPECT_EQ(U(V.Q("/provider/providers/" + V.Addr(kP2))["provider"]["collateral"]), kCollateral - slash);
  vv1::MsgAppeal ap;
  ap.set_provider(V.Addr(kP2));
  ap.set_verdict_id(vid);
  EXPECT_NE(V.Tx(kP1, client::PackAny([&] {
                   auto x = ap;
                   x.set_provider(V.Addr(kP1));
                   return x;
                 }()))
                .code,
            0u);  // someone else's verdict
  auto t = V.Tx(kP2, client::PackAny(ap));
  ASSERT_EQ(t.code, 0u) << t.log;
  v = V.Q("/verify/verdicts/" + std::to_string(vid));
  ASSERT_EQ(v["state"], "VERDICT_STATE_APPEALED");
  const uint64_t aid = U(v["appeal_challenge"]);
  auto ac = V.Q("/verify/challenges/" + std::to_string(aid));
  for (const auto& m : ac["quorum"])
    for (const auto& o : c["quorum"]) EXPECT_NE(m, o);
  auto ans2 = V.Prove(ac);
  ASSERT_EQ(V.CommitRoot(kP2, aid, ans2.tree->root()).code, 0u);
  V.Run({});
  ac = V.Q("/verify/challenges/" + std::to_string(aid));
  for (const auto& m : ac["quorum"]) {
    const size_t who = *V.AccountOf(m.get<std::string>());
    ASSERT_EQ(V.Tx(who, client::PackAny(V.Check(who, ac, ans2))).code, 0u);
  }
  v = V.Q("/verify/verdicts/" + std::to_string(vid));
  EXPECT_EQ(v["state"], "VERDICT_STATE_OVERTURNED");
  EXPECT_EQ(U(V.Q("/provider/providers/" + V.Addr(kP2))["provider"]["collateral"]), kCollateral);
  EXPECT_GE(V.Q("/verify/reputation/" + V.Addr(kP2))["bps"].get<uint32_t>(), 5000u);
  // The schedule goes on: a later compute round challenges provider 2 again.
  const int64_t overturned_at = V.Height();
  bool rechallenged = false;
  for (int i = 0; i < 80 && !rechallenged; ++i) {
    V.Run({});
    for (const auto& x : V.Challenges(kP2, "CHALLENGE_KIND_COMPUTE"))
      if (std::stoll(x["created_height"].get<std::string>()) > overturned_at && x["appeal_of"] == "0")
        rechallenged = true;
  }
  EXPECT_TRUE(rechallenged);
  // The colluders were struck once each.
  for (const auto& m : c["quorum"])
    EXPECT_EQ(V.Q("/verify/checkers/" + m.get<std::string>())["strike_heights"].size(), 1u);
  ASSERT_TRUE(V.L.app->CheckInvariants().ok());
}

TEST(Verify, BadMessagesAreRefusedAndChangeNothing) {
  Verify V;
  V.RegisterProvider(kP1);
  const Bytes h0 = V.L.AppHash();
  vv1::MsgRegisterChecker low;
  low.set_address(V.Addr(kC0));
  low.mutable_bond()->set_denom("udpai");
  low.mutable_bond()->set_amount("5");
  auto t = V.Tx(kC0, client::PackAny(low));
  EXPECT_EQ(t.codespace, "verify");
  EXPECT_NE(t.log.find("below min_checker_bond"), std::string::npos) << t.log;
  vv1::MsgAttest a;
  a.set_checker(V.Addr(kC0));
  a.set_challenge_id(99);
  a.set_pass(true);
  EXPECT_NE(V.Tx(kC0, client::PackAny(a)).log.find("challenge 99 not found"), std::string::npos);
  a.set_pass(false);  // a fail needs a failure reason
  EXPECT_NE(V.Tx(kC0, client::PackAny(a)).code, 0u);
  vv1::MsgAppeal ap;
  ap.set_provider(V.Addr(kP1));
  ap.set_verdict_id(7);
  EXPECT_NE(V.Tx(kP1, client::PackAny(ap)).log.find("verdict 7 not found"), std::string::npos);
  EXPECT_NE(V.Q("/verify/challenges/abc").value("log", "").find("invalid id"), std::string::npos);
  // Only fees moved: the verify state is as before.
  EXPECT_EQ(V.Q("/verify/checkers")["checkers"].size(), 0u);
  (void)h0;
}

TEST(Verify, SizingFollowsClaimedFreeCapacity) {
  auto p = x::verify::DefaultParams();
  pv1::Resources r;
  r.set_cpu_millicores(2000);
  auto cpu = x::verify::SizeChallenge(p, r, {});
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->hardware, "cpu 2000m");
  EXPECT_EQ(cpu->n % 8, 0u);
  EXPECT_LE(static_cast<uint64_t>(cpu->n) * cpu->n * cpu->n, 2000ull * p.target_prove_ms() * 1000);
  auto* g = r.add_gpus();
  g->set_vendor("nvidia");
  g->set_model("h100");
  g->set_count(8);
  auto gpu = x::verify::SizeChallenge(p, r, {});
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->hardware, "nvidia h100 x8 + cpu 2000m");
  EXPECT_EQ(gpu->n, p.max_n());
  EXPECT_LT(gpu->deadline_blocks, cpu->deadline_blocks + 100);
  // Fully leased: nothing to challenge.
  x::verify::LeaseInfo l;
  l.cpu_millicores = 2000;
  l.gpus = {{"h100", 8}};
  EXPECT_FALSE(x::verify::SizeChallenge(p, r, {l}));
}

}  // namespace
}  // namespace depai::test
