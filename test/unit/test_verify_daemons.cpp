// x/verify's off-chain side against the fake chain: the message builders and event parsers, the
// provider daemon's challenge responder (prove, commit, openings, restart, disputes, appeals)
// and the checker daemon (compute checks through the responder's openings, liveness probes, at
// most one attestation per challenge across restarts).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "checker/checker.h"
#include "checker/config.h"
#include "client/verify_msgs.h"
#include "fake_chain.h"
#include "proof/compute.h"
#include "proof/merkle.h"
#include "proof/prover.h"
#include "provider/challenge_responder.h"
#include "provider/config.h"
#include "provider_fixture.h"

namespace depai::test {
namespace {

namespace vv1 = depai::verify::v1;
using provider::ChallengeResponder;

constexpr uint32_t kN = 16;

Bytes Seed(char c) { return Bytes(32, c); }

std::map<std::string, std::string> CreatedAttrs(uint64_t id, const std::string& provider, const std::string& quorum,
                                                const Bytes& seed, uint32_t n, const std::string& kind = "compute") {
  return {{"challenge_id", std::to_string(id)},
          {"kind", kind},
          {"provider", provider},
          {"quorum", quorum},
          {"seed", HexEncode(seed)},
          {"n", std::to_string(n)},
          {"deadline_height", "20"},
          {"hardware", "cpu 4000m"},
          {"attest_deadline", "40"},
          {"probe_from", "5"},
          {"probe_to", "8"},
          {"appeal_of", "0"},
          {"endpoint", "http://127.0.0.1:1"}};
}

Bytes RootOf(const Bytes& seed, uint32_t n) { return proof::BuildTree(proof::ProveCpu(seed, n, 1)).root(); }

// A prover that gets row `bad` wrong.
provider::ProveFn Cheat(uint32_t bad) {
  return [bad](const Bytes& seed, uint32_t n) -> Result<std::vector<uint32_t>> {
    auto p = proof::ProveCpu(seed, n, 1);
    p.c[size_t{bad} * n] = (p.c[size_t{bad} * n] + 1) % proof::kPrime;
    return p.c;
  };
}

TEST(VerifyMsgs, ParsesTheChallengeAndRootEvents) {
  client::ChainEvent e{7, "verify.challenge_created", CreatedAttrs(3, "depai1p", "a,b,c", Seed('s'), kN)};
  auto c = client::ParseChallengeCreated(e);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id, 3u);
  EXPECT_EQ(c->kind, vv1::CHALLENGE_KIND_COMPUTE);
  EXPECT_EQ(c->quorum, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(c->in_quorum("b"));
  EXPECT_FALSE(c->in_quorum("d"));
  EXPECT_EQ(c->seed, Seed('s'));
  EXPECT_EQ(c->n, kN);
  EXPECT_EQ(c->deadline_height, 20);
  e.attributes["seed"] = "zz";
  EXPECT_FALSE(client::ParseChallengeCreated(e).ok());

  client::ChainEvent r{9,
                       "verify.root_committed",
                       {{"challenge_id", "3"},
                        {"provider", "depai1p"},
                        {"root", HexEncode(Seed('r'))},
                        {"height", "9"},
                        {"sample_rows", "4,0,15"},
                        {"attest_deadline", "30"}}};
  auto rc = client::ParseRootCommitted(r);
  ASSERT_TRUE(rc.ok()) << rc.error().message;
  EXPECT_EQ(rc->sample_rows, (std::vector<uint32_t>{4, 0, 15}));
  EXPECT_EQ(rc->attest_deadline, 30);
  EXPECT_EQ(client::ParseReasonCode("freivalds").value(), vv1::REASON_FREIVALDS);
  EXPECT_EQ(client::ParseReasonCode("REASON_BAD_PROOF").value(), vv1::REASON_BAD_PROOF);
  EXPECT_EQ(client::ParseReasonCode("bad-proof").value(), vv1::REASON_BAD_PROOF);
  EXPECT_FALSE(client::ParseReasonCode("nonsense").ok());
}

TEST(VerifyMsgs, DecodesChallengesWithHexOrBase64Bytes) {
  nlohmann::json j{{"challenge",
                    {{"id", "5"},
                     {"kind", "CHALLENGE_KIND_COMPUTE"},
                     {"n", 16},
                     {"seed", HexEncode(Seed('a'))},
                     {"root", crypto::Base64Encode(Seed('b'))},
                     {"sample_rows", {1, 2}}}}};
  auto c = client::DecodeChallenge(j);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->id(), 5u);
  EXPECT_EQ(c->seed(), Seed('a'));
  EXPECT_EQ(c->root(), Seed('b'));
  EXPECT_EQ(c->sample_rows_size(), 2);
}

TEST(VerifyMsgs, RowOpeningsRoundTrip) {
  client::RowOpening o{7, 12, 16, Bytes(64, '\1'), {Seed('x'), Seed('y')}};
  auto j = client::RowOpeningToJson(o);
  EXPECT_EQ(j["challenge_id"], "7");
  auto back = client::RowOpeningFromJson(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->index, 12u);
  EXPECT_EQ(back->row, o.row);
  EXPECT_EQ(back->proof, o.proof);
  j["proof"][0] = "abcd";
  EXPECT_FALSE(client::RowOpeningFromJson(j).ok());
}

class ResponderTest : public ::testing::Test {
 protected:
  ResponderTest() : me(NewAddress()), chain(me) { chain.SetHeight(10); }
  std::unique_ptr<ChallengeResponder> Make(provider::ProveFn f = nullptr) {
    return std::make_unique<ChallengeResponder>(cfg, chain, home.path + "/verify", std::move(f));
  }
  void Created(uint64_t id, const Bytes& seed, uint32_t n = kN) {
    chain.AddEvent(10, "verify.challenge_created", CreatedAttrs(id, me, "c1,c2,c3", seed, n));
  }
  client::ChainEvent CreatedEvent(uint64_t id, const Bytes& seed, uint32_t n = kN) {
    return client::ChainEvent{10, "verify.challenge_created", CreatedAttrs(id, me, "c1,c2,c3", seed, n)};
  }
  TempHome home;
  std::string me;
  FakeChain chain;
  provider::VerifyConfig cfg;
};

TEST_F(ResponderTest, ProvesCommitsAndServesOpenings) {
  auto r = Make();
  r->OnEvent(CreatedEvent(1, Seed('s')));
  EXPECT_EQ(r->Drain(), 1u);
  auto roots = chain.Sent<vv1::MsgCommitRoot>();
  ASSERT_EQ(roots.size(), 1u);
  EXPECT_EQ(roots[0].challenge_id(), 1u);
  EXPECT_EQ(roots[0].provider(), me);
  const Bytes root = RootOf(Seed('s'), kN);
  EXPECT_EQ(roots[0].root(), root);
  for (uint32_t i : {0u, 5u, kN - 1}) {
    auto o = r->Opening(1, i);
    ASSERT_TRUE(o.ok()) << o.error().message;
    EXPECT_EQ(o->n, kN);
    EXPECT_TRUE(proof::VerifyProof(root, kN, i, proof::LeafHash(i, kN, o->row), o->proof));
    auto want = proof::ComputeRow(Seed('s'), kN, i);
    EXPECT_EQ(o->row, proof::RowBytes(want.data(), kN));
  }
  EXPECT_EQ(r->Opening(1, kN).error().code, ChallengeResponder::kNotFound);
  EXPECT_EQ(r->Opening(2, 0).error().code, ChallengeResponder::kNotFound);
  // Another provider's challenge and a replayed event are ignored.
  r->OnEvent(client::ChainEvent{10, "verify.challenge_created", CreatedAttrs(3, NewAddress(), "c1", Seed('t'), kN)});
  r->OnEvent(CreatedEvent(1, Seed('s')));
  EXPECT_EQ(r->Drain(), 0u);
  EXPECT_EQ(chain.Sent<vv1::MsgCommitRoot>().size(), 1u);
}

TEST_F(ResponderTest, SurvivesARestartWithQueuedJobsAndProducts) {
  {
    auto r = Make();
    r->OnEvent(CreatedEvent(1, Seed('s')));
    r->Drain();
    r->OnEvent(CreatedEvent(2, Seed('u')));  // queued, not run: the daemon "crashes"
  }
  auto r = Make();
  auto o = r->Opening(1, 3);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_TRUE(proof::VerifyProof(RootOf(Seed('s'), kN), kN, 3, proof::LeafHash(3, kN, o->row), o->proof));
  EXPECT_EQ(r->Drain(), 1u);
  auto roots = chain.Sent<vv1::MsgCommitRoot>();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[1].challenge_id(), 2u);
  EXPECT_EQ(r->StatusJson()["products"].size(), 2u);
}

TEST_F(ResponderTest, AnAppealReRunWithTheSameSeedReusesTheProduct) {
  int runs = 0;
  auto r = Make([&runs](const Bytes& seed, uint32_t n) -> Result<std::vector<uint32_t>> {
    ++runs;
    return proof::ProveCpu(seed, n, 1).c;
  });
  r->OnEvent(CreatedEvent(1, Seed('s')));
  r->OnEvent(CreatedEvent(2, Seed('s')));
  r->Drain();
  EXPECT_EQ(runs, 1);
  auto roots = chain.Sent<vv1::MsgCommitRoot>();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0].root(), roots[1].root());
  EXPECT_TRUE(r->Opening(2, 1).ok());
}

TEST_F(ResponderTest, AWrongVerdictIsDisputedAndAppealed) {
  auto r = Make();
  r->OnEvent(CreatedEvent(1, Seed('s')));
  r->Drain();
  vv1::Challenge c;
  c.set_id(1);
  c.set_kind(vv1::CHALLENGE_KIND_COMPUTE);
  c.set_provider(me);
  c.set_n(kN);
  c.set_seed(Seed('s'));
  c.set_root(RootOf(Seed('s'), kN));
  c.add_sample_rows(2);
  c.add_sample_rows(9);
  c.set_state(vv1::CHALLENGE_STATE_DECIDED);
  chain.PutChallenge(c);
  vv1::Verdict v;
  v.set_id(4);
  v.set_challenge_id(1);
  v.set_provider(me);
  v.set_kind(vv1::CHALLENGE_KIND_COMPUTE);
  v.set_pass(false);
  v.set_state(vv1::VERDICT_STATE_PENDING);
  for (int k = 0; k < 2; ++k) {  // two lying checkers cite row 9
    auto* m = v.add_measurements();
    m->set_checker("c" + std::to_string(k));
    m->set_pass(false);
    m->set_reason_code(vv1::REASON_FREIVALDS);
    m->set_failing_row(9);
  }
  chain.PutVerdict(v);
  client::ChainEvent ev{12,
                        "verify.verdict",
                        {{"verdict_id", "4"},
                         {"challenge_id", "1"},
                         {"provider", me},
                         {"kind", "compute"},
                         {"pass", "false"},
                         {"reason_code", "REASON_FREIVALDS"},
                         {"reason", "row 9 fails Freivalds"}}};
  r->OnEvent(ev);
  r->Drain();
  auto disputes = chain.Sent<vv1::MsgDispute>();
  ASSERT_EQ(disputes.size(), 1u);
  EXPECT_EQ(disputes[0].row_index(), 9u);
  auto want = proof::ComputeRow(Seed('s'), kN, 9);
  EXPECT_EQ(disputes[0].row(), proof::RowBytes(want.data(), kN));
  EXPECT_TRUE(proof::VerifyProof(c.root(), kN, 9, proof::LeafHash(9, kN, disputes[0].row()),
                                 {disputes[0].proof().begin(), disputes[0].proof().end()}));
  auto appeals = chain.Sent<vv1::MsgAppeal>();
  ASSERT_EQ(appeals.size(), 1u);
  EXPECT_EQ(appeals[0].verdict_id(), 4u);
  r->OnEvent(ev);  // replayed: nothing more
  r->Drain();
  EXPECT_EQ(chain.Sent<vv1::MsgAppeal>().size(), 1u);
  EXPECT_EQ(chain.Sent<vv1::MsgDispute>().size(), 1u);
}

TEST_F(ResponderTest, AProviderWithAWrongRowNeitherDisputesNorAppeals) {
  auto r = Make(Cheat(9));
  r->OnEvent(CreatedEvent(1, Seed('s')));
  r->Drain();
  auto roots = chain.Sent<vv1::MsgCommitRoot>();
  ASSERT_EQ(roots.size(), 1u);
  vv1::Challenge c;
  c.set_id(1);
  c.set_kind(vv1::CHALLENGE_KIND_COMPUTE);
  c.set_n(kN);
  c.set_seed(Seed('s'));
  c.set_root(roots[0].root());
  c.add_sample_rows(9);
  chain.PutChallenge(c);
  vv1::Verdict v;
  v.set_id(4);
  v.set_challenge_id(1);
  v.set_pass(false);
  v.set_state(vv1::VERDICT_STATE_PENDING);
  auto* m = v.add_measurements();
  m->set_pass(false);
  m->set_reason_code(vv1::REASON_FREIVALDS);
  m->set_failing_row(9);
  chain.PutVerdict(v);
  r->OnEvent(client::ChainEvent{
      12,
      "verify.verdict",
      {{"verdict_id", "4"}, {"challenge_id", "1"}, {"provider", me}, {"kind", "compute"}, {"pass", "false"}}});
  r->Drain();
  EXPECT_TRUE(chain.Sent<vv1::MsgDispute>().empty());
  EXPECT_TRUE(chain.Sent<vv1::MsgAppeal>().empty());
}

TEST_F(ResponderTest, AVerdictOnAChallengeWeDidNotAnswerIsOnlyLogged) {
  auto r = Make();
  vv1::Challenge c;
  c.set_id(9);
  c.set_kind(vv1::CHALLENGE_KIND_COMPUTE);
  c.set_n(kN);
  chain.PutChallenge(c);  // no root: it was never committed (ROOT_LATE)
  vv1::Verdict v;
  v.set_id(5);
  v.set_challenge_id(9);
  v.set_pass(false);
  v.set_reason_code(vv1::REASON_ROOT_LATE);
  chain.PutVerdict(v);
  client::ChainEvent ev{12,
                        "verify.verdict",
                        {{"verdict_id", "5"},
                         {"challenge_id", "9"},
                         {"provider", me},
                         {"kind", "compute"},
                         {"pass", "false"},
                         {"reason_code", "REASON_ROOT_LATE"}}};
  r->OnEvent(ev);
  EXPECT_EQ(r->Drain(), 1u);  // and returns: the review never waits on its own lock
  r->OnEvent(ev);
  EXPECT_EQ(r->Drain(), 0u);  // reviewed once
  EXPECT_TRUE(chain.Broadcasts().empty());
  // A product with another root than the chain's is not disputed either.
  r->OnEvent(CreatedEvent(9, Seed('s')));
  r->Drain();
  chain.ClearBroadcasts();
  v.set_id(6);
  chain.PutVerdict(v);
  ev.attributes["verdict_id"] = "6";
  r->OnEvent(ev);
  EXPECT_EQ(r->Drain(), 1u);
  EXPECT_TRUE(chain.Broadcasts().empty());
}

// ---- the checker ----------------------------------------------------------------------------

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() : provider(NewAddress()), me(NewAddress()), pchain(provider), chain(me) {
    pchain.SetHeight(10);
    chain.SetHeight(10);
    ccfg.start_height = 1;
    ccfg.fetch_attempts = 1;
    vv1::Params p;
    p.set_freivalds_rounds(2);
    p.set_max_latency_ms(1000);
    chain.SetVerifyParams(p);
  }
  // The provider side answers the challenge; the chain learns its root and samples.
  void ProviderAnswers(uint64_t id, provider::ProveFn f, std::vector<uint32_t> rows) {
    responder = std::make_unique<ChallengeResponder>(vcfg, pchain, home.path + "/pv", std::move(f));
    responder->OnEvent(
        client::ChainEvent{10, "verify.challenge_created", CreatedAttrs(id, provider, "x," + me, Seed('s'), kN)});
    responder->Drain();
    auto roots = pchain.Sent<vv1::MsgCommitRoot>();
    ASSERT_FALSE(roots.empty());
    vv1::Challenge c;
    c.set_id(id);
    c.set_kind(vv1::CHALLENGE_KIND_COMPUTE);
    c.set_provider(provider);
    c.set_n(kN);
    c.set_seed(Seed('s'));
    c.set_root(roots.back().root());
    for (auto r : rows) c.add_sample_rows(r);
    c.set_state(vv1::CHALLENGE_STATE_AWAITING_ATTESTATIONS);
    chain.PutChallenge(c);
    chain.AddEvent(3, "verify.challenge_created", CreatedAttrs(id, provider, "x," + me, Seed('s'), kN));
    std::string list;
    for (auto r : rows) list += (list.empty() ? "" : ",") + std::to_string(r);
    chain.AddEvent(5, "verify.root_committed",
                   {{"challenge_id", std::to_string(id)},
                    {"provider", provider},
                    {"root", HexEncode(c.root())},
                    {"height", "5"},
                    {"sample_rows", list},
                    {"attest_deadline", "40"}});
  }
  checker::HttpGet ServeFromResponder() {
    return [this](const std::string&, const std::string& path, int) -> Result<client::HttpResponse> {
      // /verify/v1/challenges/{id}/rows/{i}
      auto rest = path.substr(22);
      uint64_t id = std::stoull(rest.substr(0, rest.find('/')));
      uint32_t i = static_cast<uint32_t>(std::stoul(rest.substr(rest.rfind('/') + 1)));
      auto o = responder->Opening(id, i);
      if (!o.ok()) return client::HttpResponse{404, "{}", {}};
      return client::HttpResponse{200, client::RowOpeningToJson(*o).dump(), {}};
    };
  }
  std::unique_ptr<checker::Checker> MakeChecker(checker::HttpGet get) {
    return std::make_unique<checker::Checker>(ccfg, chain, home.path + "/checker", std::move(get));
  }
  TempHome home;
  std::string provider, me;
  FakeChain pchain, chain;
  provider::VerifyConfig vcfg;
  checker::CheckerConfig ccfg;
  std::unique_ptr<ChallengeResponder> responder;
  std::atomic<bool> stop{false};
};

TEST_F(CheckerTest, AnHonestProviderPassesOnce) {
  ProviderAnswers(1, nullptr, {3, 0, 11});
  auto c = MakeChecker(ServeFromResponder());
  ASSERT_TRUE(c->Tick(stop).ok());
  auto att = chain.Sent<vv1::MsgAttest>();
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].checker(), me);
  EXPECT_EQ(att[0].challenge_id(), 1u);
  EXPECT_TRUE(att[0].pass()) << att[0].reason();
  EXPECT_EQ(att[0].rows_checked(), 3u);
  EXPECT_EQ(att[0].reason_code(), vv1::REASON_OK);
  ASSERT_TRUE(c->Tick(stop).ok());
  c = MakeChecker(ServeFromResponder());  // restart, even from an old height: no second attestation
  ASSERT_TRUE(c->Tick(stop).ok());
  EXPECT_EQ(chain.Sent<vv1::MsgAttest>().size(), 1u);
  EXPECT_EQ(c->StatusJson()["attestations"], 1u);
}

TEST_F(CheckerTest, AWrongRowFailsFreivaldsWithItsIndex) {
  ProviderAnswers(1, Cheat(7), {2, 7, 12});
  auto c = MakeChecker(ServeFromResponder());
  ASSERT_TRUE(c->Tick(stop).ok());
  auto att = chain.Sent<vv1::MsgAttest>();
  ASSERT_EQ(att.size(), 1u);
  EXPECT_FALSE(att[0].pass());
  EXPECT_EQ(att[0].reason_code(), vv1::REASON_FREIVALDS);
  EXPECT_EQ(att[0].failing_row(), 7u);
  EXPECT_EQ(att[0].reason(), "row 7 fails Freivalds");
}

TEST_F(CheckerTest, AForgedOpeningFailsTheProofAndAMissingOneIsReported) {
  ProviderAnswers(1, nullptr, {4});
  auto forged = [this](const std::string& b, const std::string& p, int t) -> Result<client::HttpResponse> {
    auto r = ServeFromResponder()(b, p, t);
    auto j = nlohmann::json::parse(r->body);
    auto o = client::RowOpeningFromJson(j).value();
    auto row = proof::ComputeRow(Seed('s'), kN, 5);  // a true row, but another one
    o.row = proof::RowBytes(row.data(), kN);
    return client::HttpResponse{200, client::RowOpeningToJson(o).dump(), {}};
  };
  auto c = MakeChecker(forged);
  ASSERT_TRUE(c->Tick(stop).ok());
  auto att = chain.Sent<vv1::MsgAttest>();
  ASSERT_EQ(att.size(), 1u);
  EXPECT_EQ(att[0].reason_code(), vv1::REASON_BAD_PROOF);
  EXPECT_EQ(att[0].failing_row(), 4u);

  vv1::Challenge ch = chain.GetChallenge(1).value();
  checker::Assignment a;
  a.id = 1;
  a.endpoint = "http://127.0.0.1:1";
  auto gone = MakeChecker([](const std::string&, const std::string&, int) -> Result<client::HttpResponse> {
    return Error{"client", 2, "connection refused"};
  });
  auto o = gone->CheckCompute(a, ch, 1);
  EXPECT_FALSE(o.pass);
  EXPECT_EQ(o.reason_code, vv1::REASON_OPENING_MISSING);
}

TEST_F(CheckerTest, LivenessProbesAtTheDrawnHeight) {
  chain.AddEvent(3, "verify.challenge_created", CreatedAttrs(2, provider, me, Seed('l'), 0, "liveness"));
  chain.SetHeight(4);  // before probe_from = 5
  int probes = 0;
  auto c =
      MakeChecker([&probes](const std::string& base, const std::string& path, int) -> Result<client::HttpResponse> {
        ++probes;
        EXPECT_EQ(path, "/health");
        return client::HttpResponse{200, "{}", {}};
      });
  ASSERT_TRUE(c->Tick(stop).ok());
  EXPECT_EQ(probes, 0);
  chain.SetHeight(8);
  ASSERT_TRUE(c->Tick(stop).ok());
  EXPECT_EQ(probes, 1);
  auto att = chain.Sent<vv1::MsgAttest>();
  ASSERT_EQ(att.size(), 1u);
  EXPECT_TRUE(att[0].pass());
  EXPECT_TRUE(att[0].answered());

  checker::Assignment a;
  a.id = 9;
  a.endpoint = "http://127.0.0.1:1";
  auto down = MakeChecker([](const std::string&, const std::string&, int) -> Result<client::HttpResponse> {
    return Error{"client", 2, "connection refused"};
  });
  auto o = down->Probe(a, 1000);
  EXPECT_FALSE(o.pass);
  EXPECT_FALSE(o.answered);
  EXPECT_EQ(o.reason_code, vv1::REASON_OFFLINE);
}

TEST_F(CheckerTest, ATransportFailureIsRetriedAndAChainRejectionIsNot) {
  ProviderAnswers(1, nullptr, {1});
  chain.FailNext(client::PackMsgAttest(vv1::MsgAttest()).type_url(), Error{"client", 2, "connection refused"});
  auto c = MakeChecker(ServeFromResponder());
  ASSERT_TRUE(c->Tick(stop).ok());
  ASSERT_TRUE(c->Tick(stop).ok());
  EXPECT_EQ(chain.Sent<vv1::MsgAttest>().size(), 2u);  // the first never reached the node
  ASSERT_TRUE(c->Tick(stop).ok());
  EXPECT_EQ(chain.Sent<vv1::MsgAttest>().size(), 2u);
}

// A server that accepts the connection and never answers: the probe's deadline still holds.
TEST(VerifyProbe, ASilentServerTimesOut) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);  // the kernel completes the handshake; nobody ever reads
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto t0 = std::chrono::steady_clock::now();
  auto r = client::HttpRequest(url, "GET", "/health", "", 300);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out"), std::string::npos) << r.error().message;
  EXPECT_LT(ms, 3000);
}

TEST(VerifyConfig, ParsesTheProviderAndCheckerSections) {
  const std::string base = R"(key = "p"
[inventory]
cpu_millicores = 1000
memory_mib = 512
)";
  auto c = provider::ParseConfig(base + "[verify]\nprover = \"builtin\"\nthreads = 2\nappeal = false\n", "/tmp");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->verify.threads, 2u);
  EXPECT_FALSE(c->verify.appeal);
  EXPECT_TRUE(c->verify.dispute);
  EXPECT_FALSE(provider::ParseConfig(base + "[verify]\nprover = \"/nonexistent/prover\"\n", "/tmp").ok());
  EXPECT_FALSE(provider::ParseConfig(base + "[verify]\nbogus = 1\n", "/tmp").ok());

  auto k = checker::ParseCheckerConfig("key = \"c\"\n[checker]\nprobe_timeout_ms = 800\nfreivalds_rounds = 3\n");
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(k->probe_timeout_ms, 800);
  EXPECT_EQ(k->freivalds_rounds, 3u);
  EXPECT_FALSE(checker::ParseCheckerConfig("[checker]\n").ok());  // no key
  EXPECT_FALSE(checker::ParseCheckerConfig("key = \"c\"\n[checker]\npoll_interval_ms = 1\n").ok());
  EXPECT_FALSE(checker::ParseCheckerConfig("key = \"c\"\nsurprise = true\n").ok());
}

}  // namespace
}  // namespace depai::test
