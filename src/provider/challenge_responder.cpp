#include "provider/challenge_responder.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "proof/compute.h"
#include "proof/prover.h"
#include "util/bytes.h"
#include "util/files.h"
#include "util/process.h"

namespace depai::provider {

using nlohmann::json;
namespace fs = std::filesystem;
namespace vv1 = depai::verify::v1;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error Err(uint32_t code, const std::string& m) { return Error{"providerd", code, m}; }

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(1, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// n*n little-endian u32 (< p) -> entries.
Result<std::vector<uint32_t>> ParseProduct(const std::string& bytes, uint32_t n, const std::string& what) {
  const uint64_t want = uint64_t{n} * n * 4;
  if (bytes.size() != want)
    return Err(1, what + ": " + std::to_string(bytes.size()) + " bytes, expected n*n*4 = " + std::to_string(want));
  std::vector<uint32_t> c(size_t{n} * n);
  std::vector<uint32_t> row;
  for (uint32_t i = 0; i < n; ++i) {
    if (!proof::ParseRow(std::string_view(bytes).substr(size_t{i} * n * 4, size_t{n} * 4), n, &row))
      return Err(1, what + ": row " + std::to_string(i) + " has a value >= p");
    std::copy(row.begin(), row.end(), c.begin() + static_cast<std::ptrdiff_t>(size_t{i} * n));
  }
  return c;
}

bool TransportError(const Error& e) { return e.codespace == "client" || e.codespace == "http"; }

}  // namespace

ProveFn MakeProver(const VerifyConfig& cfg) {
  if (cfg.prover == "builtin") {
    unsigned threads = cfg.threads;
    return [threads](const Bytes& seed, uint32_t n) -> Result<std::vector<uint32_t>> {
      return proof::ProveCpu(seed, n, threads).c;
    };
  }
  if (cfg.prover == "cuda") {
    return [](const Bytes& seed, uint32_t n) -> Result<std::vector<uint32_t>> {
      auto p = proof::ProveCuda(seed, n);
      if (!p.ok()) return p.error();
      return std::move(p).value().c;
    };
  }
  std::string exe = cfg.prover;
  int64_t timeout = cfg.prover_timeout_ms;
  return [exe, timeout](const Bytes& seed, uint32_t n) -> Result<std::vector<uint32_t>> {
    std::string out = (fs::temp_directory_path() /
                       ("depai-prove-" + HexEncode(seed).substr(0, 16) + "-" + std::to_string(::getpid()) + ".bin"))
                          .string();
    RunOptions o;
    o.timeout_ms = timeout;
    auto r = RunProgram({exe, "--seed", HexEncode(seed), "--n", std::to_string(n), "--out", out}, o);
    if (!r.ok()) return r.error();
    if (r->timed_out) {
      fs::remove(out);
      return Err(1, "prover " + exe + " timed out after " + std::to_string(timeout) + "ms");
    }
    if (r->exit_code != 0) {
      fs::remove(out);
      return Err(1, "prover " + exe + " exited with " + std::to_string(r->exit_code) + ": " + r->err);
    }
    auto bytes = ReadAll(out);
    fs::remove(out);
    if (!bytes.ok()) return bytes.error();
    return ParseProduct(*bytes, n, "prover " + exe + " output");
  };
}

ChallengeResponder::ChallengeResponder(const VerifyConfig& cfg, client::ChainClient& chain, std::string dir,
                                       ProveFn prove)
    : cfg_(cfg), chain_(chain), dir_(std::move(dir)), prove_(prove ? std::move(prove) : MakeProver(cfg)) {
  fs::create_directories(dir_);
  Load();
}

ChallengeResponder::~ChallengeResponder() { Stop(); }

void ChallengeResponder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (worker_.joinable()) return;
  stop_ = false;
  worker_ = std::thread([this] { Worker(); });
}

void ChallengeResponder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

// ---- persistence ----------------------------------------------------------------------------

void ChallengeResponder::Load() {
  auto text = ReadAll(dir_ + "/verify.json");
  if (!text.ok()) return;
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) {
    spdlog::warn("verify: ignoring an unreadable {}/verify.json", dir_);
    return;
  }
  try {
    for (const auto& jj : j.value("jobs", json::array())) {
      Job job;
      job.type = jj.value("type", "");
      job.challenge_id = jj.value("challenge_id", uint64_t{0});
      job.verdict_id = jj.value("verdict_id", uint64_t{0});
      job.seed = HexDecode(jj.value("seed", "")).value_or("");
      job.n = jj.value("n", uint32_t{0});
      job.deadline_height = jj.value("deadline_height", int64_t{0});
      jobs_.push_back(job);
    }
    const json products = j.value("products", json::object());  // items() needs a live object
    for (const auto& [k, p] : products.items()) {
      Product pr;
      pr.challenge_id = std::stoull(k);
      pr.n = p.value("n", uint32_t{0});
      pr.seed = HexDecode(p.value("seed", "")).value_or("");
      pr.root = HexDecode(p.value("root", "")).value_or("");
      pr.file = p.value("file", "");
      pr.prove_ms = p.value("prove_ms", int64_t{0});
      pr.committed_height = p.value("committed_height", int64_t{0});
      pr.created_ms = p.value("created_ms", int64_t{0});
      pr.status = p.value("status", "");
      if (pr.status == "proving") continue;  // its job is still queued and redoes it
      products_[pr.challenge_id] = pr;
    }
    for (auto v : j.value("appealed", std::vector<uint64_t>{})) appealed_.insert(v);
    for (auto v : j.value("reviewed", std::vector<uint64_t>{})) reviewed_.insert(v);
    for (const auto& v : j.value("disputed", std::vector<std::string>{})) disputed_.insert(v);
  } catch (const std::exception& e) {
    spdlog::warn("verify: {}/verify.json: {}", dir_, e.what());
  }
  if (!jobs_.empty() || !products_.empty())
    spdlog::info("verify: resumed with {} queued job(s) and {} product(s) on disk", jobs_.size(), products_.size());
}

void ChallengeResponder::SaveLocked() {
  json jobs = json::array();
  for (const auto& j : jobs_)
    jobs.push_back({{"type", j.type},
                    {"challenge_id", j.challenge_id},
                    {"verdict_id", j.verdict_id},
                    {"seed", HexEncode(j.seed)},
                    {"n", j.n},
                    {"deadline_height", j.deadline_height}});
  json products = json::object();
  for (const auto& [id, p] : products_)
    products[std::to_string(id)] = {{"n", p.n},
                                    {"seed", HexEncode(p.seed)},
                                    {"root", HexEncode(p.root)},
                                    {"file", p.file},
                                    {"prove_ms", p.prove_ms},
                                    {"committed_height", p.committed_height},
                                    {"created_ms", p.created_ms},
                                    {"status", p.status}};
  json out{{"jobs", jobs},
           {"products", products},
           {"appealed", appealed_},
           {"reviewed", reviewed_},
           {"disputed", disputed_}};
  auto st = WriteFileAtomic(dir_ + "/verify.json", out.dump());
  if (!st.ok()) spdlog::warn("verify: cannot save {}/verify.json: {}", dir_, st.error().message);
}

void ChallengeResponder::Prune() {
  // mu_ held. The newest keep_products products stay.
  while (products_.size() > cfg_.keep_products) {
    auto it = products_.begin();
    bool shared = false;
    for (const auto& [id, p] : products_)
      if (id != it->first && p.file == it->second.file) shared = true;
    if (!shared && !it->second.file.empty()) fs::remove(it->second.file);
    spdlog::info("verify: dropped the rows of challenge {} (keep_products = {})", it->first, cfg_.keep_products);
    products_.erase(it);
  }
}

// ---- events ---------------------------------------------------------------------------------

void ChallengeResponder::Enqueue(Job j) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& q : jobs_)
      if (q.type == j.type && q.challenge_id == j.challenge_id && q.verdict_id == j.verdict_id) return;
    jobs_.push_back(std::move(j));
    SaveLocked();
  }
  cv_.notify_all();
}

void ChallengeResponder::OnEvent(const client::ChainEvent& e) {
  if (e.type == "verify.challenge_created") {
    if (e.attr("provider") != chain_.address() || e.attr("kind") != "compute") return;
    auto c = client::ParseChallengeCreated(e);
    if (!c.ok()) return spdlog::warn("verify: {}", c.error().message);
    if (!cfg_.enabled)
      return spdlog::warn("verify: challenge {} (n={}) ignored: [verify] enabled = false", c->id, c->n);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (products_.count(c->id)) return;  // already answered (events replayed after a restart)
    }
    spdlog::info("verify: compute challenge {}: n={}, deadline height {} ({}){}", c->id, c->n, c->deadline_height,
                 c->hardware, c->appeal_of ? " (appeal of verdict " + std::to_string(c->appeal_of) + ")" : "");
    Enqueue(Job{"prove", c->id, 0, c->seed, c->n, c->deadline_height});
  } else if (e.type == "verify.verdict") {
    if (e.attr("provider") != chain_.address()) return;
    auto v = client::ParseVerdictEvent(e);
    if (!v.ok()) return spdlog::warn("verify: {}", v.error().message);
    spdlog::info("verify: verdict {} on challenge {} ({}): {} {} {}", v->verdict_id, v->challenge_id, v->kind,
                 v->pass ? "pass" : "FAIL", v->reason_code, v->reason);
    if (v->kind != "compute" && v->kind != "CHALLENGE_KIND_COMPUTE") return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reviewed_.count(v->verdict_id)) return;
    }
    Enqueue(Job{"review", v->challenge_id, v->verdict_id, "", 0, 0});
  }
}

// ---- the worker -----------------------------------------------------------------------------

void ChallengeResponder::Worker() {
  for (;;) {
    Job j;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      if (stop_) return;
      j = jobs_.front();
    }
    RunJob(j);
  }
}

size_t ChallengeResponder::Drain() {
  size_t ran = 0;
  for (;;) {
    Job j;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (jobs_.empty()) return ran;
      j = jobs_.front();
    }
    RunJob(j);
    ++ran;
  }
}

void ChallengeResponder::RunJob(const Job& j) {
  if (j.type == "prove") Prove(j);
  if (j.type == "review") Review(j);
  std::lock_guard<std::mutex> lock(mu_);
  if (!jobs_.empty() && jobs_.front().type == j.type && jobs_.front().challenge_id == j.challenge_id &&
      jobs_.front().verdict_id == j.verdict_id)
    jobs_.pop_front();
  SaveLocked();
}

void ChallengeResponder::Prove(const Job& j) {
  const std::string file = dir_ + "/c" + std::to_string(j.challenge_id) + ".rows";
  Product p;
  p.challenge_id = j.challenge_id;
  p.n = j.n;
  p.seed = j.seed;
  p.file = file;
  p.created_ms = WallMs();
  std::string reuse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (products_.count(j.challenge_id) && products_[j.challenge_id].committed_height > 0) return;
    for (const auto& [id, q] : products_)
      if (q.seed == j.seed && q.n == j.n && !q.root.empty() && fs::exists(q.file)) {
        reuse = q.file;
        p.root = q.root;
        p.prove_ms = 0;
      }
  }
  std::shared_ptr<proof::MerkleTree> tree;
  if (!reuse.empty()) {
    p.file = reuse;
    spdlog::info("verify: challenge {}: the same seed and n as a product we hold; reusing {}", j.challenge_id, reuse);
  } else {
    auto t0 = std::chrono::steady_clock::now();
    auto c = prove_(j.seed, j.n);
    p.prove_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!c.ok()) {
      spdlog::error("verify: challenge {}: the prover failed: {}", j.challenge_id, c.error().message);
      std::lock_guard<std::mutex> lock(mu_);
      p.status = "prover failed: " + c.error().message;
      products_[j.challenge_id] = p;
      return;
    }
    if (c->size() != size_t{j.n} * j.n) {
      spdlog::error("verify: challenge {}: the prover returned {} entries, not n*n", j.challenge_id, c->size());
      return;
    }
    Bytes all;
    all.reserve(size_t{j.n} * j.n * 4);
    std::vector<Bytes> leaves;
    leaves.reserve(j.n);
    for (uint32_t i = 0; i < j.n; ++i) {
      Bytes row = proof::RowBytes(c->data() + size_t{i} * j.n, j.n);
      leaves.push_back(proof::LeafHash(i, j.n, row));
      all += row;
    }
    tree = std::make_shared<proof::MerkleTree>(std::move(leaves));
    p.root = tree->root();
    auto st = WriteFileAtomic(file, all);
    if (!st.ok()) spdlog::error("verify: challenge {}: cannot write {}: {}", j.challenge_id, file, st.error().message);
    p.tree = tree;
    spdlog::info("verify: challenge {}: proved n={} in {}ms, root {}", j.challenge_id, j.n, p.prove_ms,
                 HexEncode(p.root));
  }
  p.status = "committing";
  {
    std::lock_guard<std::mutex> lock(mu_);
    products_[j.challenge_id] = p;
    SaveLocked();
  }
  // Post the root; retry transport failures until the deadline.
  for (int attempt = 0;; ++attempt) {
    auto r = chain_.Broadcast({client::PackMsgCommitRoot(chain_.address(), j.challenge_id, p.root)});
    bool retry = false;
    if (!r.ok() && TransportError(r.error()) && attempt < 20) {
      auto h = chain_.LatestHeight();
      retry = !(h.ok() && j.deadline_height > 0 && *h > j.deadline_height);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& pr = products_[j.challenge_id];
      if (r.ok()) {
        pr.committed_height = r->height;
        pr.status = "committed";
        spdlog::info("verify: challenge {}: root committed at height {} (deadline {})", j.challenge_id, r->height,
                     j.deadline_height);
        log_.push_back({{"challenge_id", std::to_string(j.challenge_id)},
                        {"action", "commit_root"},
                        {"height", r->height},
                        {"prove_ms", p.prove_ms}});
      } else if (!retry || stop_) {
        pr.status = "commit failed: " + r.error().message + " (" + r.error().codespace + " " +
                    std::to_string(r.error().code) + ")";
        spdlog::error("verify: challenge {}: {}", j.challenge_id, pr.status);
      }
      if (r.ok() || !retry || stop_) {
        while (log_.size() > 50) log_.pop_front();
        Prune();
        return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// ---- openings -------------------------------------------------------------------------------

Result<Bytes> ChallengeResponder::ReadRow(const std::string& file, uint32_t n, uint32_t index) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(kNotFound, "the rows of this challenge are no longer on disk");
  Bytes row(size_t{n} * 4, '\0');
  ssize_t got = ::pread(fd, row.data(), row.size(), static_cast<off_t>(uint64_t{index} * n * 4));
  ::close(fd);
  if (got != static_cast<ssize_t>(row.size())) return Err(kNotFound, "short read of " + file);
  return row;
}

Result<std::shared_ptr<proof::MerkleTree>> ChallengeResponder::TreeOf(uint64_t id, uint32_t* n, std::string* file) {
  Bytes root;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = products_.find(id);
    if (it == products_.end() || it->second.root.empty())
      return Err(kNotFound, "challenge " + std::to_string(id) + " is not known to this provider");
    *n = it->second.n;
    *file = it->second.file;
    if (it->second.tree) return it->second.tree;
    root = it->second.root;
  }
  auto bytes = ReadAll(*file);
  if (!bytes.ok() || bytes->size() != uint64_t{*n} * *n * 4)
    return Err(kNotFound, "the rows of challenge " + std::to_string(id) + " are not on disk");
  std::vector<Bytes> leaves;
  leaves.reserve(*n);
  for (uint32_t i = 0; i < *n; ++i)
    leaves.push_back(proof::LeafHash(i, *n, std::string_view(*bytes).substr(size_t{i} * *n * 4, size_t{*n} * 4)));
  auto tree = std::make_shared<proof::MerkleTree>(std::move(leaves));
  if (tree->root() != root) spdlog::warn("verify: challenge {}: the rows on disk do not match the root we posted", id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = products_.find(id);
  if (it != products_.end()) it->second.tree = tree;
  return tree;
}

Result<client::RowOpening> ChallengeResponder::Opening(uint64_t id, uint32_t index) {
  uint32_t n = 0;
  std::string file;
  auto tree = TreeOf(id, &n, &file);
  if (!tree.ok()) return tree.error();
  if (index >= n)
    return Err(kNotFound, "challenge " + std::to_string(id) + " has rows 0.." + std::to_string(n - 1) + ", not " +
                              std::to_string(index));
  auto row = ReadRow(file, n, index);
  if (!row.ok()) return row.error();
  client::RowOpening o;
  o.challenge_id = id;
  o.index = index;
  o.n = n;
  o.row = std::move(row).value();
  o.proof = (*tree)->proof(index);
  return o;
}

// ---- verdicts: disputes and appeals ---------------------------------------------------------

void ChallengeResponder::Review(const Job& j) {
  auto v = chain_.GetVerdict(j.verdict_id);
  if (!v.ok()) return spdlog::warn("verify: verdict {}: {}", j.verdict_id, v.error().message);
  auto c = chain_.GetChallenge(j.challenge_id);
  if (!c.ok()) return spdlog::warn("verify: challenge {}: {}", j.challenge_id, c.error().message);
  auto done = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    reviewed_.insert(j.verdict_id);
    while (log_.size() > 50) log_.pop_front();
  };
  Bytes seed;
  int held = 0;  // 0: no product, 1: another root, 2: ours
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = products_.find(j.challenge_id);
    if (it != products_.end() && !it->second.root.empty()) {
      held = it->second.root == c->root() ? 2 : 1;
      seed = it->second.seed;
    }
  }
  if (held == 0) {
    spdlog::info("verify: verdict {}: we hold no product for challenge {}; nothing to dispute or appeal", j.verdict_id,
                 j.challenge_id);
    return done();
  }
  if (held == 1) {
    spdlog::warn("verify: verdict {}: the on-chain root of challenge {} is not ours; not disputing", j.verdict_id,
                 j.challenge_id);
    return done();
  }
  const uint32_t n = c->n();
  // Our row i, and whether it is the true row of A*B.
  auto correct = [&](uint32_t i, client::RowOpening* out) {
    auto o = Opening(j.challenge_id, i);
    if (!o.ok()) return false;
    std::vector<uint32_t> want = proof::ComputeRow(seed, n, i);
    if (proof::RowBytes(want.data(), n) != o->row) return false;
    if (out) *out = std::move(o).value();
    return true;
  };
  // The dispute pays the chain's recomputation (params.dispute_gas) on top of an ordinary tx.
  uint64_t dispute_gas = 1000000;
  if (auto p = chain_.VerifyParams(); p.ok()) dispute_gas = 300000 + 2 * p->dispute_gas();
  std::set<uint32_t> cited;
  for (const auto& m : v->measurements())
    if (!m.pass() && (m.reason_code() == vv1::REASON_FREIVALDS || m.reason_code() == vv1::REASON_BAD_PROOF) &&
        m.failing_row() < n)
      cited.insert(m.failing_row());
  bool all_ok = true;
  for (uint32_t row : cited) {
    client::RowOpening o;
    if (!correct(row, &o)) {
      all_ok = false;
      spdlog::warn("verify: verdict {}: our row {} of challenge {} is wrong; not disputing it", j.verdict_id, row,
                   j.challenge_id);
      continue;
    }
    const std::string key = std::to_string(j.challenge_id) + "/" + std::to_string(row);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!cfg_.dispute || disputed_.count(key)) continue;
    }
    auto r = chain_.BroadcastWithGas({client::PackMsgDispute(chain_.address(), j.challenge_id, row, o.row, o.proof)},
                                     dispute_gas);
    std::lock_guard<std::mutex> lock(mu_);
    if (r.ok()) {
      disputed_.insert(key);
      spdlog::info("verify: disputed row {} of challenge {} (cited by a failing checker) at height {}", row,
                   j.challenge_id, r->height);
      log_.push_back({{"challenge_id", std::to_string(j.challenge_id)},
                      {"action", "dispute"},
                      {"row", row},
                      {"height", r->height}});
    } else {
      spdlog::warn("verify: dispute of row {} of challenge {} rejected: {} ({} {})", row, j.challenge_id,
                   r.error().message, r.error().codespace, r.error().code);
      if (!TransportError(r.error())) disputed_.insert(key);
    }
  }
  if (v->pass() || !cfg_.appeal || v->state() != vv1::VERDICT_STATE_PENDING) return done();
  bool already;
  {
    std::lock_guard<std::mutex> lock(mu_);
    already = appealed_.count(j.verdict_id) > 0;
  }
  if (already) return done();  // (done() takes mu_ itself)
  for (uint32_t row : c->sample_rows())
    if (all_ok && row < n && !correct(row, nullptr)) all_ok = false;
  if (!all_ok) {
    spdlog::info("verify: verdict {}: our product is wrong in a checked row; not appealing", j.verdict_id);
    return done();
  }
  auto r = chain_.Broadcast({client::PackMsgAppeal(chain_.address(), j.verdict_id)});
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (r.ok()) {
      appealed_.insert(j.verdict_id);
      spdlog::info("verify: appealed verdict {} ({}) at height {}: our rows check out", j.verdict_id, v->reason(),
                   r->height);
      log_.push_back({{"verdict_id", std::to_string(j.verdict_id)}, {"action", "appeal"}, {"height", r->height}});
    } else {
      spdlog::warn("verify: appeal of verdict {} rejected: {} ({} {})", j.verdict_id, r.error().message,
                   r.error().codespace, r.error().code);
      if (!TransportError(r.error())) appealed_.insert(j.verdict_id);
    }
  }
  done();
}

json ChallengeResponder::StatusJson() {
  std::lock_guard<std::mutex> lock(mu_);
  json products = json::array();
  for (const auto& [id, p] : products_)
    products.push_back({{"challenge_id", std::to_string(id)},
                        {"n", p.n},
                        {"root", HexEncode(p.root)},
                        {"prove_ms", p.prove_ms},
                        {"committed_height", std::to_string(p.committed_height)},
                        {"status", p.status}});
  json recent = json::array();
  for (const auto& l : log_) recent.push_back(l);
  return json{{"enabled", cfg_.enabled}, {"prover", cfg_.prover},        {"queued", jobs_.size()},
              {"products", products},    {"appealed", appealed_.size()}, {"disputed", disputed_.size()},
              {"recent", recent}};
}

}  // namespace depai::provider
