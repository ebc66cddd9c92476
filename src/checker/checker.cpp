#include "checker/checker.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "proof/compute.h"
#include "proof/merkle.h"
#include "util/bytes.h"
#include "util/files.h"

namespace depai::checker {

using nlohmann::json;
namespace fs = std::filesystem;
namespace vv1 = depai::verify::v1;

namespace {

json AssignmentToJson(const Assignment& a) {
  return json{{"id", a.id},
              {"kind", a.kind},
              {"provider", a.provider},
              {"endpoint", a.endpoint},
              {"seed", HexEncode(a.seed)},
              {"n", a.n},
              {"created_height", a.created_height},
              {"deadline_height", a.deadline_height},
              {"attest_deadline", a.attest_deadline},
              {"probe_from", a.probe_from},
              {"probe_to", a.probe_to},
              {"probe_height", a.probe_height},
              {"root_seen", a.root_seen}};
}

Assignment AssignmentFromJson(const json& j) {
  Assignment a;
  a.id = j.value("id", uint64_t{0});
  a.kind = j.value("kind", "");
  a.provider = j.value("provider", "");
  a.endpoint = j.value("endpoint", "");
  a.seed = HexDecode(j.value("seed", "")).value_or("");
  a.n = j.value("n", uint32_t{0});
  a.created_height = j.value("created_height", int64_t{0});
  a.deadline_height = j.value("deadline_height", int64_t{0});
  a.attest_deadline = j.value("attest_deadline", int64_t{0});
  a.probe_from = j.value("probe_from", int64_t{0});
  a.probe_to = j.value("probe_to", int64_t{0});
  a.probe_height = j.value("probe_height", int64_t{0});
  a.root_seen = j.value("root_seen", false);
  return a;
}

int64_t DrawHeight(int64_t from, int64_t to) {
  if (to <= from) return from;
  uint64_t span = static_cast<uint64_t>(to - from) + 1;
  return from + static_cast<int64_t>(randombytes_uniform(static_cast<uint32_t>(std::min<uint64_t>(span, 1u << 31))));
}

bool TransportError(const Error& e) { return e.codespace == "client" || e.codespace == "http"; }

std::string Short(const Bytes& b) { return HexEncode(b).substr(0, 16); }

}  // namespace

Checker::Checker(CheckerConfig cfg, client::ChainClient& chain, std::string dir, HttpGet get)
    : cfg_(std::move(cfg)), chain_(chain), dir_(std::move(dir)), get_(std::move(get)) {
  if (!get_)
    get_ = [](const std::string& base, const std::string& path, int timeout_ms) {
      client::HttpOptions o;
      o.timeout_ms = timeout_ms;
      o.what = "provider endpoint";
      return client::HttpRequest(base, "GET", path, "", o);
    };
  fs::create_directories(dir_);
  Load();
}

// ---- state ----------------------------------------------------------------------------------

void Checker::Load() {
  std::ifstream in(dir_ + "/state.json");
  if (!in) return;
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) {
    spdlog::warn("ignoring an unreadable {}/state.json", dir_);
    return;
  }
  if (j.value("checker", "") != chain_.address()) {
    spdlog::warn("{}/state.json belongs to checker {}, not {}: starting afresh", dir_, j.value("checker", ""),
                 chain_.address());
    return;
  }
  try {
    st_.next_height = j.value("next_height", int64_t{0});
    for (const auto& a : j.value("pending", json::array())) {
      auto as = AssignmentFromJson(a);
      st_.pending[as.id] = as;
    }
    for (auto id : j.value("attested", std::vector<uint64_t>{})) st_.attested.insert(id);
    for (const auto& r : j.value("recent", json::array())) st_.recent.push_back(r);
    st_.attestations = j.value("attestations", uint64_t{0});
    st_.passes = j.value("passes", uint64_t{0});
    st_.fails = j.value("fails", uint64_t{0});
    st_.missed = j.value("missed", uint64_t{0});
  } catch (const std::exception& e) {
    spdlog::warn("{}/state.json: {}", dir_, e.what());
  }
  spdlog::info("checker state: next height {}, {} open assignment(s), {} attested", st_.next_height, st_.pending.size(),
               st_.attested.size());
}

void Checker::SaveLocked() {
  json pending = json::array();
  for (const auto& [id, a] : st_.pending) pending.push_back(AssignmentToJson(a));
  json recent = json::array();
  for (const auto& r : st_.recent) recent.push_back(r);
  json j{{"checker", chain_.address()},
         {"next_height", st_.next_height},
         {"pending", pending},
         {"attested", st_.attested},
         {"recent", recent},
         {"attestations", st_.attestations},
         {"passes", st_.passes},
         {"fails", st_.fails},
         {"missed", st_.missed},
         {"last_error", st_.last_error}};
  auto s = WriteFileAtomic(dir_ + "/state.json", j.dump());
  if (!s.ok()) spdlog::error("cannot save {}/state.json: {}", dir_, s.error().message);
}

void Checker::Note(json entry) {
  st_.recent.push_back(std::move(entry));
  while (st_.recent.size() > 50) st_.recent.pop_front();
}

json Checker::StatusJson() {
  std::lock_guard<std::mutex> lock(mu_);
  json pending = json::array();
  for (const auto& [id, a] : st_.pending) pending.push_back(AssignmentToJson(a));
  json recent = json::array();
  for (const auto& r : st_.recent) recent.push_back(r);
  return json{{"checker", chain_.address()},
              {"next_height", st_.next_height},
              {"pending", pending},
              {"attested", st_.attested.size()},
              {"attestations", st_.attestations},
              {"passes", st_.passes},
              {"fails", st_.fails},
              {"missed", st_.missed},
              {"last_error", st_.last_error},
              {"recent", recent}};
}

Result<json> Checker::ReadStatus(const std::string& dir) {
  std::ifstream in(dir + "/state.json");
  if (!in) return Error{"checker", 1, "no checker state at " + dir + "/state.json (has `depai checker run` started?)"};
  json j = json::parse(in, nullptr, false);
  if (!j.is_object()) return Error{"checker", 1, dir + "/state.json is not valid JSON"};
  j["attested"] = j.value("attested", json::array()).size();
  return j;
}

// ---- events ---------------------------------------------------------------------------------

void Checker::Handle(const client::ChainEvent& e) {
  if (e.type.rfind("verify.", 0) != 0) return;
  const std::string& me = chain_.address();
  if (e.type == "verify.challenge_created") {
    auto c = client::ParseChallengeCreated(e);
    if (!c.ok()) return spdlog::warn("{}", c.error().message);
    if (!c->in_quorum(me)) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (st_.attested.count(c->id) || st_.pending.count(c->id)) return;
    Assignment a;
    a.id = c->id;
    a.kind = c->kind == vv1::CHALLENGE_KIND_COMPUTE ? "compute" : "liveness";
    a.provider = c->provider;
    a.endpoint = c->endpoint;
    a.seed = c->seed;
    a.n = c->n;
    a.created_height = e.height;
    a.deadline_height = c->deadline_height;
    a.attest_deadline = c->attest_deadline;
    a.probe_from = c->probe_from;
    a.probe_to = c->probe_to;
    if (a.kind == "liveness") a.probe_height = DrawHeight(a.probe_from, a.probe_to);
    spdlog::info("challenge {} ({}) of provider {}: assigned to us{}", a.id, a.kind, a.provider,
                 a.kind == "liveness"
                     ? ", probing at height " + std::to_string(a.probe_height)
                     : ", n=" + std::to_string(a.n) + ", root due by " + std::to_string(a.deadline_height));
    st_.pending[a.id] = a;
  } else if (e.type == "verify.root_committed") {
    auto r = client::ParseRootCommitted(e);
    if (!r.ok()) return spdlog::warn("{}", r.error().message);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = st_.pending.find(r->challenge_id);
    if (it == st_.pending.end()) return;
    it->second.root_seen = true;
    if (r->attest_deadline) it->second.attest_deadline = r->attest_deadline;
    spdlog::info("challenge {}: root {} committed at height {}; checking {} row(s)", r->challenge_id, Short(r->root),
                 r->height, r->sample_rows.size());
  } else if (e.type == "verify.verdict") {
    auto v = client::ParseVerdictEvent(e);
    if (!v.ok()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (st_.pending.erase(v->challenge_id) || st_.attested.count(v->challenge_id))
      spdlog::info("challenge {}: verdict {}: {} ({}) {}", v->challenge_id, v->verdict_id, v->pass ? "pass" : "FAIL",
                   v->reason_code, v->reason);
  } else if ((e.type == "verify.checker_paid" || e.type == "verify.checker_strike" ||
              e.type == "verify.checker_banned" || e.type == "verify.checker_slashed") &&
             e.attr("checker") == me) {
    spdlog::info("{}: {}", e.type, json(e.attributes).dump());
    std::lock_guard<std::mutex> lock(mu_);
    json n = json(e.attributes);
    n["event"] = e.type;
    n["height"] = e.height;
    Note(n);
  }
}

Status Checker::Reconcile() {
  auto open = chain_.Challenges("", chain_.address(), true);
  if (!open.ok()) return open.status();
  for (const auto& c : *open) {
    std::lock_guard<std::mutex> lock(mu_);
    if (st_.attested.count(c.id()) || st_.pending.count(c.id())) continue;
    Assignment a;
    a.id = c.id();
    a.kind = c.kind() == vv1::CHALLENGE_KIND_COMPUTE ? "compute" : "liveness";
    a.provider = c.provider();
    a.seed = c.seed();
    a.n = c.n();
    a.created_height = c.created_height();
    a.deadline_height = c.deadline_height();
    a.attest_deadline = c.attest_deadline();
    a.probe_from = c.probe_from();
    a.probe_to = c.probe_to();
    a.root_seen = c.root().size() == 32;
    if (a.kind == "liveness") a.probe_height = DrawHeight(a.probe_from, a.probe_to);
    mu_.unlock();
    auto p = chain_.GetProvider(c.provider());
    mu_.lock();
    if (p.ok()) a.endpoint = p->provider.endpoint();
    spdlog::info("challenge {} ({}) of provider {}: adopted from the chain", a.id, a.kind, a.provider);
    st_.pending[a.id] = a;
  }
  std::lock_guard<std::mutex> lock(mu_);
  SaveLocked();
  return {};
}

// ---- the loop -------------------------------------------------------------------------------

Status Checker::Tick(const std::atomic<bool>& stop) {
  auto h = chain_.LatestHeight();
  if (!h.ok()) return h.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (st_.next_height <= 0) {
      st_.next_height = cfg_.start_height > 0 ? cfg_.start_height : *h;
      SaveLocked();
    }
  }
  while (!stop) {
    int64_t from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      from = st_.next_height;
    }
    if (from > *h) break;
    auto page = chain_.Events(from, *h);
    if (!page.ok()) return page.status();
    for (const auto& e : page->events) Handle(e);
    std::lock_guard<std::mutex> lock(mu_);
    if (page->next_height <= from) {
      SaveLocked();
      break;
    }
    st_.next_height = page->next_height;
    SaveLocked();
  }
  if (!stop) DueWork(*h);
  return {};
}

void Checker::DueWork(int64_t height) {
  std::vector<Assignment> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = st_.pending.begin(); it != st_.pending.end();) {
      const Assignment& a = it->second;
      if (st_.attested.count(a.id)) {
        it = st_.pending.erase(it);
        continue;
      }
      if (a.attest_deadline > 0 && height > a.attest_deadline && (a.kind == "liveness" || a.root_seen)) {
        spdlog::warn("challenge {} ({}): missed: the attest deadline {} has passed", a.id, a.kind, a.attest_deadline);
        ++st_.missed;
        Note({{"challenge_id", std::to_string(a.id)}, {"kind", a.kind}, {"missed", true}, {"height", height}});
        it = st_.pending.erase(it);
        continue;
      }
      if ((a.kind == "compute" && a.root_seen) || (a.kind == "liveness" && height >= a.probe_height)) due.push_back(a);
      ++it;
    }
    SaveLocked();
  }
  if (due.empty()) return;
  if (!params_) {
    auto p = chain_.VerifyParams();
    if (p.ok()) params_ = *p;
  }
  for (const auto& a : due) {
    if (a.kind == "compute") {
      auto c = chain_.GetChallenge(a.id);
      if (!c.ok()) {
        spdlog::warn("challenge {}: {}", a.id, c.error().message);
        continue;
      }
      if (c->root().size() != 32) continue;  // the query has not caught up with the event yet
      uint32_t rounds = cfg_.freivalds_rounds                    ? cfg_.freivalds_rounds
                        : params_ && params_->freivalds_rounds() ? params_->freivalds_rounds()
                                                                 : 2;
      Attest(a, CheckCompute(a, *c, rounds), height);
    } else {
      uint32_t max = cfg_.max_latency_ms                    ? cfg_.max_latency_ms
                     : params_ && params_->max_latency_ms() ? params_->max_latency_ms()
                                                            : 2000;
      Attest(a, Probe(a, max), height);
    }
  }
}

Outcome Checker::CheckCompute(const Assignment& a, const vv1::Challenge& c, uint32_t rounds) {
  Outcome o;
  const uint32_t n = c.n();
  const std::string id = std::to_string(c.id());
  std::string endpoint = a.endpoint;
  auto fail = [&](vv1::ReasonCode code, uint32_t row, const std::string& reason) {
    o.pass = false;
    o.reason_code = code;
    o.failing_row = row;
    o.reason = reason.substr(0, 256);
    return o;
  };
  if (n < proof::kMinN || n > proof::kMaxN) return fail(vv1::REASON_BAD_PROOF, 0, "challenge n out of range");
  if (endpoint.empty()) return fail(vv1::REASON_OPENING_MISSING, 0, "the provider has no endpoint");
  Bytes r_seed(32, '\0');
  randombytes_buf(r_seed.data(), r_seed.size());
  proof::Freivalds fr(c.seed(), n, r_seed, rounds);
  std::vector<uint32_t> row;
  for (uint32_t i : c.sample_rows()) {
    const std::string path = "/verify/v1/challenges/" + id + "/rows/" + std::to_string(i);
    Result<client::HttpResponse> r = Error{"client", 2, "not tried"};
    for (uint32_t k = 0; k < cfg_.fetch_attempts; ++k) {
      r = get_(endpoint, path, static_cast<int>(cfg_.http_timeout_ms));
      if (r.ok() && r->status == 200) break;
      if (r.ok() && r->status == 404) break;  // the provider says it does not have it
      std::this_thread::sleep_for(std::chrono::milliseconds(100 * (k + 1)));
    }
    if (!r.ok())
      return fail(vv1::REASON_OPENING_MISSING, i, "row " + std::to_string(i) + " not served: " + r.error().message);
    if (r->status != 200)
      return fail(vv1::REASON_OPENING_MISSING, i,
                  "row " + std::to_string(i) + " not served: HTTP " + std::to_string(r->status));
    auto op = client::RowOpeningFromJson(json::parse(r->body, nullptr, false));
    if (!op.ok()) return fail(vv1::REASON_BAD_PROOF, i, "row " + std::to_string(i) + ": " + op.error().message);
    if (op->challenge_id != c.id() || op->index != i || op->n != n)
      return fail(vv1::REASON_BAD_PROOF, i, "row " + std::to_string(i) + ": the opening is for another row or size");
    if (!proof::ParseRow(op->row, n, &row))
      return fail(vv1::REASON_BAD_PROOF, i, "row " + std::to_string(i) + ": not n values below p");
    if (!proof::VerifyProof(c.root(), n, i, proof::LeafHash(i, n, op->row), op->proof))
      return fail(vv1::REASON_BAD_PROOF, i,
                  "row " + std::to_string(i) + ": Merkle path does not verify against root " + Short(c.root()));
    if (!fr.check_row(i, row.data()))
      return fail(vv1::REASON_FREIVALDS, i, "row " + std::to_string(i) + " fails Freivalds");
    ++o.rows_checked;
  }
  o.pass = true;
  o.reason_code = vv1::REASON_OK;
  o.reason = std::to_string(o.rows_checked) + " rows verified against root " + Short(c.root()) + ", Freivalds x" +
             std::to_string(rounds);
  return o;
}

Outcome Checker::Probe(const Assignment& a, uint32_t max_latency_ms) {
  Outcome o;
  auto t0 = std::chrono::steady_clock::now();
  Result<client::HttpResponse> r = Error{"client", 1, "the provider has no endpoint"};
  if (!a.endpoint.empty()) r = get_(a.endpoint, "/health", static_cast<int>(cfg_.probe_timeout_ms));
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  o.latency_ms = static_cast<uint32_t>(std::min<int64_t>(ms, 0xffffffff));
  o.answered = r.ok() && r->status == 200;
  if (!o.answered) {
    o.pass = false;
    o.reason_code = vv1::REASON_OFFLINE;
    o.reason =
        (a.endpoint + "/health: " + (r.ok() ? "HTTP " + std::to_string(r->status) : r.error().message)).substr(0, 256);
  } else if (o.latency_ms > max_latency_ms) {
    o.pass = false;
    o.reason_code = vv1::REASON_LATENCY;
    o.reason =
        "/health answered in " + std::to_string(o.latency_ms) + "ms, over " + std::to_string(max_latency_ms) + "ms";
  } else {
    o.pass = true;
    o.reason_code = vv1::REASON_OK;
    o.reason = "/health answered in " + std::to_string(o.latency_ms) + "ms";
  }
  return o;
}

void Checker::Attest(const Assignment& a, const Outcome& o, int64_t height) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (st_.attested.count(a.id)) return;
    st_.attested.insert(a.id);  // before the broadcast: never twice, also after kill -9
    SaveLocked();
  }
  vv1::MsgAttest m;
  m.set_checker(chain_.address());
  m.set_challenge_id(a.id);
  m.set_pass(o.pass);
  m.set_reason_code(o.reason_code);
  m.set_reason(o.reason);
  m.set_rows_checked(o.rows_checked);
  m.set_failing_row(o.failing_row);
  m.set_answered(o.answered);
  m.set_latency_ms(o.latency_ms);
  auto r = chain_.Broadcast({client::PackMsgAttest(m)});
  std::lock_guard<std::mutex> lock(mu_);
  json entry{{"challenge_id", std::to_string(a.id)},
             {"kind", a.kind},
             {"provider", a.provider},
             {"pass", o.pass},
             {"reason_code", vv1::ReasonCode_Name(o.reason_code)},
             {"reason", o.reason},
             {"rows_checked", o.rows_checked},
             {"latency_ms", o.latency_ms},
             {"height", height}};
  if (r.ok()) {
    ++st_.attestations;
    ++(o.pass ? st_.passes : st_.fails);
    entry["tx_height"] = r->height;
    spdlog::info("challenge {} ({}) of {}: attested {} ({}: {}) at height {}", a.id, a.kind, a.provider,
                 o.pass ? "pass" : "FAIL", vv1::ReasonCode_Name(o.reason_code), o.reason, r->height);
    st_.pending.erase(a.id);
    Note(entry);
  } else if (TransportError(r.error())) {
    st_.attested.erase(a.id);  // it did not reach the node: the next tick tries again
    st_.last_error = r.error().message;
    spdlog::warn("challenge {}: attestation not sent ({}); retrying", a.id, r.error().message);
  } else {
    st_.last_error = r.error().message + " (" + r.error().codespace + " " + std::to_string(r.error().code) + ")";
    entry["error"] = st_.last_error;
    spdlog::error("challenge {}: the chain rejected our attestation: {}", a.id, st_.last_error);
    st_.pending.erase(a.id);
    Note(entry);
  }
  SaveLocked();
}

// ---- the daemon -----------------------------------------------------------------------------

CheckerDaemon::CheckerDaemon(CheckerConfig cfg, const std::string& home, crypto::KeyPair key)
    : cfg_(std::move(cfg)),
      chain_(std::make_unique<client::HttpChainClient>(cfg_.node, std::move(key), cfg_.chain_id,
                                                       Coins::Parse(cfg_.fees).value(), cfg_.gas)),
      checker_(std::make_unique<Checker>(cfg_, *chain_, home + "/checker")) {}

CheckerDaemon::~CheckerDaemon() { Stop(); }

Status CheckerDaemon::Start() {
  auto c = chain_->GetChecker(chain_->address());
  if (!c.ok())
    return Error{
        "checker", 2,
        "checker " + chain_->address() + " is not registered (depai tx verify register-checker): " + c.error().message};
  if (!c->active()) spdlog::warn("checker {} is deregistered: it gets no new assignments", chain_->address());
  if (auto st = checker_->Reconcile(); !st.ok())
    spdlog::warn("cannot list our open challenges: {}", st.error().message);
  loop_ = std::thread([this] {
    int failures = 0;
    while (!stop_) {
      auto st = checker_->Tick(stop_);
      if (!st.ok()) {
        if (++failures == 1 || failures % 20 == 0) spdlog::warn("checker loop: {}", st.error().message);
      } else {
        failures = 0;
      }
      for (int64_t slept = 0; slept < cfg_.poll_interval_ms && !stop_; slept += 20)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  return {};
}

void CheckerDaemon::Stop() {
  stop_ = true;
  if (loop_.joinable()) loop_.join();
}

}  // namespace depai::checker
