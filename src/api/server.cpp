#include "api/server.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "api/requests.h"
#include "crypto/hash.h"
#include "util/files.h"
#include "x/types/tx.h"

namespace depai::api {

using nlohmann::json;

namespace {
constexpr size_t kMaxBody = 1 << 20;
constexpr int64_t kCommitTimeoutMs = 30000;

std::pair<int, std::string> Err(int status, uint32_t code, const std::string& codespace, const std::string& msg) {
  return {status, json{{"code", code}, {"codespace", codespace}, {"message", msg}}.dump()};
}

json EventsJson(const std::vector<app::Event>& evs) {
  json a = json::array();
  for (const auto& e : evs) {
    json attrs = json::array();
    for (const auto& at : e.attributes) attrs.push_back({{"key", at.key}, {"value", at.value}});
    a.push_back({{"type", e.type}, {"attributes", attrs}});
  }
  return a;
}

std::string TimeIso(int64_t ms) {
  std::time_t t = ms / 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

json BlockJson(const devnet::StoredBlock& b) {
  json txs = json::array();
  for (size_t i = 0; i < b.txs.size(); ++i) {
    const auto& r = b.results[i];
    txs.push_back({{"hash", x::TxHash(b.txs[i])},
                   {"code", r.code},
                   {"codespace", r.codespace},
                   {"log", r.log},
                   {"gas_wanted", std::to_string(r.gas_wanted)},
                   {"gas_used", std::to_string(r.gas_used)}});
  }
  return json{{"height", std::to_string(b.height)},
              {"time", TimeIso(b.time_unix_ms)},
              {"hash", HexEncode(b.hash, true)},
              {"prev_hash", HexEncode(b.prev_hash, true)},
              {"proposer", HexEncode(b.proposer, true)},
              {"app_hash", HexEncode(b.app_hash, true)},
              {"num_txs", b.txs.size()},
              {"txs", txs}};
}

std::pair<int, std::string> FromQuery(const app::ResponseQuery& q) {
  if (q.code == 0) return {200, q.value};
  int status = 400;
  if (q.codespace == "sdk" && q.code == 9) status = 404;  // unknown address
  if (q.codespace == "sdk" && q.code == 6) status = 404;  // unknown path
  return Err(status, q.code, q.codespace, q.log);
}

bool ValidHashHex(const std::string& h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool ParseHeight(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
  *out = std::stoll(s);
  return true;
}

// GET /events?from_height=H[&to_height=H2][&type=T]: the events of committed blocks H..H2 (at most
// kMaxEventBlocks blocks per call), block-level events and those of successful transactions, in
// block order. Clients follow the chain by asking again from next_height.
constexpr int64_t kMaxEventBlocks = 100;
std::pair<int, std::string> EventsRoute(Backend& node, const std::string& target) {
  int64_t latest = node.Status().height, from = 1, to = 0;
  std::string f = QueryParam(target, "from_height"), t = QueryParam(target, "to_height");
  std::string type = QueryParam(target, "type");
  if (!f.empty() && !ParseHeight(f, &from))
    return Err(400, kErrBadHeight, kCodespace, "from_height must be a non-negative integer, got '" + f + "'");
  if (!t.empty() && !ParseHeight(t, &to))
    return Err(400, kErrBadHeight, kCodespace, "to_height must be a non-negative integer, got '" + t + "'");
  if (from < 1) from = 1;
  if (t.empty() || to > latest) to = latest;
  if (to > from + kMaxEventBlocks - 1) to = from + kMaxEventBlocks - 1;
  json evs = json::array();
  for (int64_t h = from; h <= to; ++h) {
    auto b = node.Block(h);
    if (!b) continue;
    auto add = [&](const app::Event& e, const std::string& tx_hash) {
      if (!type.empty() && e.type != type) return;
      json attrs = json::object();
      for (const auto& at : e.attributes) attrs[at.key] = at.value;
      json j{{"height", std::to_string(h)}, {"type", e.type}, {"attributes", attrs}};
      if (!tx_hash.empty()) j["tx_hash"] = tx_hash;
      evs.push_back(std::move(j));
    };
    for (size_t i = 0; i < b->txs.size() && i < b->results.size(); ++i) {
      if (b->results[i].code != 0) continue;
      std::string hash = x::TxHash(b->txs[i]);
      for (const auto& e : b->results[i].events) add(e, hash);
    }
    for (const auto& e : b->events) add(e, "");
  }
  return {200, json{{"from_height", std::to_string(from)},
                    {"to_height", std::to_string(to < from ? from - 1 : to)},
                    {"latest_height", std::to_string(latest)},
                    {"next_height", std::to_string(to < from ? from : to + 1)},
                    {"events", evs}}
                   .dump()};
}
}  // namespace

std::pair<int, std::string> Route(Backend& node, const std::string& method, const std::string& target,
                                  const std::string& body) {
  std::string path = target.substr(0, target.find('?'));
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  if (path == "/txs") {
    if (method != "POST") return Err(405, kErrMethodOrInternal, kCodespace, "use POST /txs");
    auto req = ParseTxRequest(body);
    if (!req.ok()) return Err(400, req.error().code, req.error().codespace, req.error().message);
    std::string hash;
    auto ck = node.Broadcast(req->tx, &hash);
    if (ck.code != 0)
      return {400, json{{"code", ck.code}, {"codespace", ck.codespace}, {"message", ck.log}, {"hash", hash}}.dump()};
    if (req->mode == BroadcastMode::kSync)
      return {200, json{{"hash", hash}, {"code", 0}, {"codespace", ""}, {"log", ""}}.dump()};
    auto loc = node.WaitForTx(hash, kCommitTimeoutMs);
    if (!loc)
      return Err(504, kErrCommitTimeout, kCodespace,
                 "tx " + hash + " was accepted but not committed within 30s; query GET /txs/" + hash);
    auto b = node.Block(loc->height);
    const auto& r = b->results[loc->index];
    return {200, json{{"hash", hash},
                      {"height", std::to_string(loc->height)},
                      {"code", r.code},
                      {"codespace", r.codespace},
                      {"log", r.log},
                      {"gas_wanted", std::to_string(r.gas_wanted)},
                      {"gas_used", std::to_string(r.gas_used)},
                      {"events", EventsJson(r.events)}}
                     .dump()};
  }
  if (method != "GET")
    return Err(405, kErrMethodOrInternal, kCodespace, "method " + method + " not allowed on " + path);
  if (path == "/status") {
    auto s = node.Status();
    return {200, json{{"chain_id", s.chain_id},
                      {"node_version", "0.1.0"},
                      {"latest_block_height", std::to_string(s.height)},
                      {"latest_app_hash", HexEncode(s.app_hash, true)},
                      {"latest_block_time", s.block_time_unix_ms ? TimeIso(s.block_time_unix_ms) : ""},
                      {"mempool_size", s.mempool_size}}
                     .dump()};
  }
  if (path == "/events") return EventsRoute(node, target);
  if (starts("/q/")) {
    // Generic module query: GET /q/market/orders/7 -> App query path "/market/orders/7" (the query
    // string is passed through: /q/market/orders?state=open).
    return FromQuery(node.Query(target.substr(2)));
  }
  if (starts("/accounts/")) return FromQuery(node.Query("/auth/account/" + path.substr(10)));
  if (starts("/balances/")) return FromQuery(node.Query("/bank/balances/" + path.substr(10)));
  if (path == "/supply") return FromQuery(node.Query("/bank/supply"));
  if (path == "/params/auth") return FromQuery(node.Query("/auth/params"));
  if (path == "/denoms") return FromQuery(node.Query("/bank/denoms"));
  if (path == "/blocks/latest" || starts("/blocks/")) {
    int64_t h = 0;
    if (path == "/blocks/latest") {
      h = node.Status().height;
    } else {
      std::string hs = path.substr(8);
      if (hs.empty() || hs.size() > 18 || !std::all_of(hs.begin(), hs.end(), ::isdigit))
        return Err(400, kErrBadHeight, kCodespace, "block height must be a positive integer, got '" + hs + "'");
      h = std::stoll(hs);
    }
    auto b = h > 0 ? node.Block(h) : std::nullopt;
    if (!b || h > node.Status().height)
      return Err(404, kErrBlockNotFound, kCodespace, "block " + std::to_string(h) + " not found");
    return {200, BlockJson(*b).dump()};
  }
  if (starts("/txs/")) {
    std::string hash = Upper(path.substr(5));
    if (!ValidHashHex(hash)) return Err(400, kErrBadTxHash, kCodespace, "tx hash must be 64 hex characters");
    auto loc = node.FindTx(hash);
    if (!loc || loc->height > node.Status().height)
      return Err(404, kErrTxNotFound, kCodespace, "tx " + hash + " not found");
    auto b = node.Block(loc->height);
    const auto& r = b->results[loc->index];
    json tx = json::parse(node.TxJson(b->txs[loc->index]), nullptr, false);
    return {200, json{{"hash", hash},
                      {"height", std::to_string(loc->height)},
                      {"index", loc->index},
                      {"code", r.code},
                      {"codespace", r.codespace},
                      {"log", r.log},
                      {"gas_wanted", std::to_string(r.gas_wanted)},
                      {"gas_used", std::to_string(r.gas_used)},
                      {"events", EventsJson(r.events)},
                      {"tx", tx},
                      {"timestamp", TimeIso(b->time_unix_ms)}}
                     .dump()};
  }
  return Err(404, kErrNoRoute, kCodespace, "no route " + method + " " + path);
}

namespace {
http::Limits DefaultLimits() {
  http::Limits l;
  l.max_connections = 1024;
  l.max_per_client = 64;
  l.max_body_bytes = kMaxBody;
  return l;
}

std::string ErrorJson(int status, const std::string& message) {
  uint32_t code = status == 413   ? kErrBodyTooLarge
                  : status == 408 ? kErrRequestTimeout
                  : status == 431 ? kErrHeaderTooLarge
                                  : kErrMethodOrInternal;
  return Err(status, code, kCodespace, message).second;
}
}  // namespace

Server::Server(Backend& node, std::string addr, http::Limits limits) {
  http::Options o;
  o.name = "depai";
  o.limits = limits;
  o.error_body = ErrorJson;
  server_ = std::make_unique<http::Server>(
      std::move(addr), std::move(o), [&node](const http::Request& req, http::ResponseWriter& w) {
        std::pair<int, std::string> out;
        try {
          out = Route(node, req.method, req.target, req.body);
        } catch (const std::exception& e) {
          out = Err(500, kErrMethodOrInternal, kCodespace, std::string("internal error: ") + e.what());
        }
        spdlog::debug("api {} {} -> {}", req.method, req.target, out.first);
        w.Send(out.first, std::move(out.second));
      });
}
Server::Server(Backend& node, std::string addr) : Server(node, std::move(addr), DefaultLimits()) {}
Server::~Server() { Stop(); }

Status Server::Start() {
  auto st = server_->Start();
  if (!st.ok()) return Error{kCodespace, kErrListen, st.error().message};
  return {};
}

uint16_t Server::port() const { return server_->port(); }

void Server::Stop() { server_->Stop(); }

}  // namespace depai::api
