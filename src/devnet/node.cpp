#include "devnet/node.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/hash.h"
#include "x/types/errors.h"
#include "x/types/tx.h"

namespace depai::devnet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Bytes BlockHash(int64_t height, int64_t time_ms, const Bytes& prev, const std::vector<Bytes>& txs,
                const Bytes& proposer) {
  std::string pre = U64BE(static_cast<uint64_t>(height)) + U64BE(static_cast<uint64_t>(time_ms)) + prev + proposer;
  for (const auto& t : txs) pre += crypto::Sha256(t);
  return crypto::Sha256(pre);
}

const Bytes& Proposer() {
  static const Bytes p = crypto::Sha256("depai-devnet-proposer").substr(0, 20);
  return p;
}
}  // namespace

Result<app::RequestInitChain> LoadGenesis(const std::string& home) {
  std::string path = home + "/config/genesis.json";
  std::ifstream f(path);
  if (!f) return Error{"devnet", 3, "no genesis at " + path + " (run `depai devnet init --home " + home + "`)"};
  std::stringstream ss;
  ss << f.rdbuf();
  json g = json::parse(ss.str(), nullptr, false);
  if (g.is_discarded() || !g.is_object()) return Error{"devnet", 3, path + " is not valid JSON"};
  if (!g.contains("chain_id") || !g["chain_id"].is_string() || !g.contains("app_state"))
    return Error{"devnet", 3, path + " needs chain_id and app_state"};
  app::RequestInitChain req;
  req.chain_id = g["chain_id"].get<std::string>();
  req.initial_height = g.value("initial_height", int64_t{1});
  req.app_state_bytes = g["app_state"].dump();
  req.time_unix_ms = g.value("genesis_time_unix_ms", int64_t{0});
  return req;
}

Result<std::unique_ptr<Node>> Node::Open(const NodeConfig& cfg) {
  std::unique_ptr<Node> n(new Node());
  n->cfg_ = cfg;
  std::error_code ec;
  fs::create_directories(cfg.home + "/data", ec);
  if (ec) return Error{"devnet", 1, "cannot create " + cfg.home + "/data: " + ec.message()};
  app::AppOptions ao;
  ao.db_path = cfg.home + "/data/state";
  ao.max_block_txs = cfg.max_block_txs;
  ao.hash_threads = std::thread::hardware_concurrency();  // 0 (unknown) means 1
  auto a = app::App::Open(ao);
  if (!a.ok()) return a.error();
  n->app_ = std::move(a).value();
  auto bs = BlockStore::Open(cfg.home + "/data/blocks");
  if (!bs.ok()) return bs.error();
  n->blocks_ = std::move(bs).value();
  n->verifier_ = std::make_unique<SigVerifier>(cfg.sig_threads ? cfg.sig_threads : SigVerifier::DefaultWorkers());

  int64_t app_h = n->app_->last_height();
  int64_t store_h = n->blocks_->height();
  if (app_h == 0) {
    DEPAI_ASSIGN_OR_RETURN(auto req, LoadGenesis(cfg.home));
    auto r = n->app_->InitChain(req);
    if (!r.ok()) return Error{"devnet", 4, "genesis rejected: " + r.error().message};
    spdlog::info("InitChain chain_id={} app_hash={}", req.chain_id, HexEncode(r->app_hash, true));
    if (store_h > 0 && store_h != 1)
      return Error{"devnet", 5,
                   "block store is at height " + std::to_string(store_h) + " but the state is empty; remove " +
                       cfg.home + "/data to start over"};
  }
  if (store_h == app_h + 1) {
    auto b = n->blocks_->get(store_h);
    if (!b) return Error{"devnet", 5, "block " + std::to_string(store_h) + " missing from the block store"};
    spdlog::warn("replaying block {} saved before the last shutdown", store_h);
    DEPAI_TRY(n->Replay(*b));
  } else if (store_h > app_h + 1 || store_h < app_h) {
    return Error{"devnet", 5,
                 "block store height " + std::to_string(store_h) + " and state height " + std::to_string(app_h) +
                     " cannot be reconciled"};
  }
  if (n->app_->last_height() > 0) {
    auto last = n->blocks_->get(n->app_->last_height());
    if (last) {
      n->last_block_hash_ = last->hash;
      n->last_block_time_ms_ = last->time_unix_ms;
    }
  }
  spdlog::info("devnet chain_id={} height={} app_hash={}", n->app_->chain_id(), n->app_->last_height(),
               HexEncode(n->app_->Info({}).last_block_app_hash, true));
  return n;
}

Node::~Node() { Stop(); }

depai::Status Node::Replay(const StoredBlock& b) {
  app::RequestFinalizeBlock req;
  req.txs = b.txs;
  req.hash = b.hash;
  req.height = b.height;
  req.time_unix_ms = b.time_unix_ms;
  req.proposer_address = b.proposer;
  auto r = app_->FinalizeBlock(req);
  if (!r.ok()) return r.error();
  if (r->app_hash != b.app_hash)
    return Error{"devnet", 6,
                 "replayed block " + std::to_string(b.height) + " gives app hash " + HexEncode(r->app_hash, true) +
                     ", the block store recorded " + HexEncode(b.app_hash, true)};
  auto c = app_->Commit();
  if (!c.ok()) return c.error();
  return {};
}

void Node::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  producer_ = std::thread([this] { Loop(); });
}

void Node::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  committed_cv_.notify_all();
  if (producer_.joinable()) producer_.join();
}

std::optional<std::string> Node::fault() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fault_;
}

void Node::Loop() {
  auto next = std::chrono::steady_clock::now();
  // A fresh chain commits its genesis with block 1 right away, so queries work from the start.
  if (app_->last_height() == 0) next -= std::chrono::milliseconds(cfg_.block_time_ms);
  for (;;) {
    next += std::chrono::milliseconds(cfg_.block_time_ms);
    {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_until(lock, next, [&] { return stopping_; });
      if (stopping_) return;
    }
    auto st = ProduceBlock();
    if (!st.ok()) {
      spdlog::critical("node fault, stopping block production: {}", st.error().message);
      std::lock_guard<std::mutex> lock(mu_);
      fault_ = st.error().message;
      committed_cv_.notify_all();
      return;
    }
    if (std::chrono::steady_clock::now() > next) next = std::chrono::steady_clock::now();
  }
}

depai::Status Node::ProduceBlock() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t height = app_->last_height() + 1;
  const int64_t time_ms = std::max(NowMs(), last_block_time_ms_ + 1);
  app::RequestPrepareProposal pp;
  pp.max_tx_bytes = cfg_.max_block_bytes;
  pp.height = height;
  pp.time_unix_ms = time_ms;
  pp.proposer_address = Proposer();
  for (const auto& [h, tx] : mempool_) {
    if (pp.txs.size() >= cfg_.max_block_txs) break;
    pp.txs.push_back(tx);
  }
  auto prop = app_->PrepareProposal(pp);
  Bytes hash = BlockHash(height, time_ms, last_block_hash_, prop.txs, Proposer());
  app::RequestProcessProposal proc{prop.txs, hash, height, time_ms, Proposer()};
  if (app_->ProcessProposal(proc).status != app::ProposalStatus::kAccept)
    return Error{"devnet", 7, "own proposal rejected at height " + std::to_string(height)};
  app::RequestFinalizeBlock fb{prop.txs, hash, height, time_ms, Proposer()};
  verifier_->prepare(*app_, fb.txs);
  {
    // The mempool's next txs, most likely the next block: checked while this block finishes.
    std::vector<Bytes> next;
    for (size_t i = pp.txs.size(); i < mempool_.size() && next.size() < cfg_.max_block_txs; ++i)
      next.push_back(mempool_[i].second);
    if (!next.empty()) verifier_->prefetch(*app_, next);
  }
  app_->set_sig_cache(verifier_.get());
  auto res = app_->FinalizeBlock(fb);
  app_->set_sig_cache(nullptr);
  if (!res.ok()) return res.error();
  StoredBlock sb;
  sb.height = height;
  sb.time_unix_ms = time_ms;
  sb.hash = hash;
  sb.prev_hash = last_block_hash_;
  sb.proposer = Proposer();
  sb.app_hash = res->app_hash;
  sb.txs = fb.txs;
  sb.results = res->tx_results;
  sb.events = res->events;
  DEPAI_TRY(blocks_->save(sb));  // fsynced before the App commits: replayable after a crash
  auto c = app_->Commit();
  if (!c.ok()) return c.error();
  last_block_hash_ = hash;
  last_block_time_ms_ = time_ms;
  // Drop included txs; recheck the rest against the new state.
  std::set<std::string> included;
  for (const auto& t : fb.txs) included.insert(x::TxHash(t));
  std::deque<std::pair<std::string, Bytes>> keep;
  mempool_bytes_ = 0;
  mempool_hashes_.clear();
  for (auto& [h, tx] : mempool_) {
    if (included.count(h)) continue;
    auto ck = app_->CheckTx({tx, app::CheckTxType::kRecheck});
    if (ck.code != 0) continue;
    mempool_bytes_ += tx.size();
    mempool_hashes_.insert(h);
    keep.emplace_back(h, std::move(tx));
  }
  mempool_ = std::move(keep);
  size_t failed = 0;
  for (const auto& r : res->tx_results) failed += r.code != 0;
  spdlog::info("block height={} txs={} failed={} app_hash={} mempool={}", height, fb.txs.size(), failed,
               HexEncode(res->app_hash, true), mempool_.size());
  lock.unlock();
  committed_cv_.notify_all();
  return {};
}

app::ResponseCheckTx Node::Broadcast(const Bytes& tx, std::string* hash_out) {
  std::string hash = x::TxHash(tx);
  if (hash_out) *hash_out = hash;
  std::lock_guard<std::mutex> lock(mu_);
  app::ResponseCheckTx r;
  if (mempool_hashes_.count(hash) || blocks_->find_tx(hash)) {
    r.code = x::kErrTxInMempool;
    r.codespace = x::kRootCodespace;
    r.log = "tx already in mempool or committed";
    return r;
  }
  if (mempool_.size() >= cfg_.mempool_max_txs || mempool_bytes_ + tx.size() > cfg_.mempool_max_bytes) {
    r.code = x::kErrMempoolFull;
    r.codespace = x::kRootCodespace;
    r.log = "mempool is full (" + std::to_string(mempool_.size()) + " txs)";
    return r;
  }
  r = app_->CheckTx({tx, app::CheckTxType::kNew});
  if (r.code != 0) return r;
  mempool_.emplace_back(hash, tx);
  mempool_hashes_.insert(hash);
  mempool_bytes_ += tx.size();
  return r;
}

std::optional<TxLocation> Node::WaitForTx(const std::string& hash, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (auto loc = blocks_->find_tx(hash)) {
      if (loc->height <= app_->last_height()) return loc;
    }
    if (stopping_ || fault_) return std::nullopt;
    if (committed_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      auto loc = blocks_->find_tx(hash);
      if (loc && loc->height <= app_->last_height()) return loc;
      return std::nullopt;
    }
  }
}

app::ResponseQuery Node::Query(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  app::RequestQuery q;
  q.path = path;
  return app_->Query(q);
}

NodeStatus Node::Status() {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus s;
  s.chain_id = app_->chain_id();
  s.height = app_->last_height();
  s.app_hash = app_->Info({}).last_block_app_hash;
  s.block_time_unix_ms = last_block_time_ms_;
  s.mempool_size = mempool_.size();
  return s;
}

std::string Node::TxJson(const Bytes& tx) {
  std::lock_guard<std::mutex> lock(mu_);
  return app_->TxToJson(tx);
}

Result<std::string> Node::ExportGenesis() {
  std::lock_guard<std::mutex> lock(mu_);
  return app_->ExportGenesis();
}

}  // namespace depai::devnet
