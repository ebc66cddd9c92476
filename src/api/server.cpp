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

// JSON text of `j`; bytes that are not UTF-8 (a bad value quoted back in an error) become U+FFFD.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

RouteReply Err(int status, uint32_t code, const std::string& codespace, const std::string& msg) {
  return {status, Dump(json{{"code", code}, {"codespace", codespace}, {"message", msg}}), {}};
}
RouteReply Err(int status, const Error& e) { return Err(status, e.code, e.codespace, e.message); }

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

RouteReply FromQuery(const app::ResponseQuery& q) {
  if (q.code == 0) return {200, q.value, {}};
  int status = 400;
  if (q.codespace == "sdk" && q.code == 9) status = 404;  // unknown address
  if (q.codespace == "sdk" && q.code == 6) status = 404;  // unknown path
  return Err(status, q.code, q.codespace, q.log);
}

// GET /events?from_height=H[&to_height=H2][&type=T]: the events of committed blocks H..H2 (at most
// kMaxEventBlocks blocks per call), block-level events and those of successful transactions, in
// block order. Clients follow the chain by asking again from next_height.
constexpr int64_t kMaxEventBlocks = 100;
RouteReply EventsRoute(Backend& node, const std::string& target) {
  auto req = ParseEventsRequest(target);
  if (!req.ok()) return Err(400, req.error());
  const std::string& type = req->type;
  int64_t latest = node.Status().height, from = req->from_height.value_or(1);
  int64_t to = std::min(req->to_height.value_or(latest), latest);
  if (to >= from && to - from >= kMaxEventBlocks) to = from + kMaxEventBlocks - 1;
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
  return {200,
          Dump(json{{"from_height", std::to_string(from)},
                    {"to_height", std::to_string(to < from ? from - 1 : to)},
                    {"latest_height", std::to_string(latest)},
                    {"next_height", std::to_string(to < from ? from : to + 1)},
                    {"events", evs}}),
          {}};
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// GET /1.0/identifiers/{did}: the DID Resolution HTTP(S) binding (W3C DID Resolution). The body
// is a DID resolution result: {"@context", "didDocument", "didResolutionMetadata",
// "didDocumentMetadata"}. 200 resolved; 410 deactivated (the document is still returned, with
// didDocumentMetadata.deactivated = true); 404 notFound; 400 invalidDid; 500 internalError.
// x/identity answers /identity/did/{did}: codes 2 (invalid DID) and 4 (not found) are its stable
// codes (x/identity/keeper.h).
RouteReply DidResolutionRoute(Backend& node, const std::string& did) {
  static const char* kResolutionContext = "https://w3id.org/did-resolution/v1";
  auto r = node.Query("/identity/did/" + did);
  if (r.code != 0) {
    int status = 500;
    const char* error = "internalError";
    if (r.codespace == "identity" && r.code == 4) status = 404, error = "notFound";
    if (r.codespace == "identity" && r.code == 2) status = 400, error = "invalidDid";
    return {status,
            Dump(json{{"@context", kResolutionContext},
                      {"didDocument", nullptr},
                      {"didResolutionMetadata", {{"error", error}, {"errorMessage", r.log}}},
                      {"didDocumentMetadata", json::object()}}),
            {}};
  }
  json j = json::parse(r.value, nullptr, false);
  if (j.is_discarded() || !j.contains("didDocument"))
    return Err(500, kErrMethodOrInternal, kCodespace, "x/identity answered a DID query with no document");
  const bool deactivated = j["didDocumentMetadata"].value("deactivated", false);
  return {deactivated ? 410 : 200,
          Dump(json{{"@context", kResolutionContext},
                    {"didDocument", j["didDocument"]},
                    {"didResolutionMetadata", {{"contentType", "application/did+ld+json"}}},
                    {"didDocumentMetadata", j["didDocumentMetadata"]}}),
          {}};
}
}  // namespace

std::string AllowedMethods(const std::string& path) {
  if (path == "/txs") return "POST";
  for (const char* p : {"/status", "/events", "/supply", "/denoms", "/params/auth", "/blocks/latest", "/economy/epochs",
                        "/oracle/price", "/bme/status"})
    if (path == p) return "GET";
  for (const char* p :
       {"/q/", "/accounts/", "/balances/", "/blocks/", "/txs/", "/economy/epochs/", "/1.0/identifiers/"})
    if (StartsWith(path, p)) return "GET";
  return "";
}

RouteReply Route(Backend& node, const std::string& method, const std::string& target, const std::string& body) {
  std::string path = target.substr(0, target.find('?'));
  auto starts = [&](const char* p) { return StartsWith(path, p); };
  std::string allow = AllowedMethods(path);
  if (allow.empty()) return Err(404, kErrNoRoute, kCodespace, "no route " + method + " " + path);
  if (method != allow) {
    auto r = Err(405, kErrMethodOrInternal, kCodespace,
                 "method " + method + " not allowed on " + path + "; allowed: " + allow);
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  if (path == "/txs") {
    auto req = ParseTxRequest(body);
    if (!req.ok()) return Err(400, req.error());
    std::string hash;
    auto ck = node.Broadcast(req->tx, &hash);
    if (ck.code != 0)
      return {400, Dump(json{{"code", ck.code}, {"codespace", ck.codespace}, {"message", ck.log}, {"hash", hash}}), {}};
    if (req->mode == BroadcastMode::kSync)
      return {200, Dump(json{{"hash", hash}, {"code", 0}, {"codespace", ""}, {"log", ""}}), {}};
    auto loc = node.WaitForTx(hash, kCommitTimeoutMs);
    if (!loc)
      return Err(504, kErrCommitTimeout, kCodespace,
                 "tx " + hash + " was accepted but not committed within 30s; query GET /txs/" + hash);
    auto b = node.Block(loc->height);
    const auto& r = b->results[loc->index];
    return {200,
            Dump(json{{"hash", hash},
                      {"height", std::to_string(loc->height)},
                      {"code", r.code},
                      {"codespace", r.codespace},
                      {"log", r.log},
                      {"gas_wanted", std::to_string(r.gas_wanted)},
                      {"gas_used", std::to_string(r.gas_used)},
                      {"events", EventsJson(r.events)}}),
            {}};
  }
  if (path == "/status") {
    auto s = node.Status();
    return {200,
            Dump(json{{"chain_id", s.chain_id},
                      {"node_version", "0.1.0"},
                      {"latest_block_height", std::to_string(s.height)},
                      {"latest_app_hash", HexEncode(s.app_hash, true)},
                      {"latest_block_time", s.block_time_unix_ms ? TimeIso(s.block_time_unix_ms) : ""},
                      {"mempool_size", s.mempool_size}}),
            {}};
  }
  if (path == "/events") return EventsRoute(node, target);
  if (starts("/q/")) {
    // Generic module query: GET /q/market/orders/7 -> App query path "/market/orders/7" (the path
    // percent-decoded, so /q/bank%2Fsupply is /bank/supply; the query string passed through as
    // sent: /q/market/orders?state=open).
    return FromQuery(node.Query(PctDecode(path.substr(2)) + target.substr(path.size())));
  }
  if (starts("/accounts/") || starts("/balances/")) {
    auto addr = ParseAddressParam(path.substr(10));
    if (!addr.ok()) return Err(400, addr.error());
    return FromQuery(node.Query((starts("/accounts/") ? "/auth/account/" : "/bank/balances/") + *addr));
  }
  if (starts("/1.0/identifiers/")) return DidResolutionRoute(node, PctDecode(path.substr(17)));
  if (path == "/supply") return FromQuery(node.Query("/bank/supply"));
  if (path == "/economy/epochs") return FromQuery(node.Query(path + target.substr(path.size())));
  if (starts("/economy/epochs/")) {
    auto r = node.Query("/economy/epochs/" + PctDecode(path.substr(16)));
    if (r.codespace == "rewards" && r.code == 2) return Err(404, r.code, r.codespace, r.log);  // not ended yet
    return FromQuery(r);
  }
  if (path == "/params/auth") return FromQuery(node.Query("/auth/params"));
  if (path == "/denoms") return FromQuery(node.Query("/bank/denoms"));
  if (path == "/oracle/price") return FromQuery(node.Query("/oracle/price"));
  if (path == "/bme/status") return FromQuery(node.Query("/bme/status"));
  if (starts("/blocks/")) {
    int64_t latest = node.Status().height, h = latest;
    if (path != "/blocks/latest") {
      auto parsed = ParseHeight("block height", PctDecode(path.substr(8)));
      if (!parsed.ok()) return Err(400, parsed.error());
      h = *parsed;
    }
    auto b = h >= 1 && h <= latest ? node.Block(h) : std::nullopt;
    if (!b)
      return Err(404, 8, "api", "block " + std::to_string(h) + " not found (latest is " + std::to_string(latest) + ")");
    return {200, Dump(BlockJson(*b)), {}};
  }
  if (starts("/txs/")) {
    auto parsed = ParseTxHash(path.substr(5));
    if (!parsed.ok()) return Err(400, parsed.error());
    const std::string& hash = *parsed;
    auto loc = node.FindTx(hash);
    if (!loc || loc->height > node.Status().height)
      return Err(404, kErrTxNotFound, kCodespace, "tx " + hash + " not found");
    auto b = node.Block(loc->height);
    const auto& r = b->results[loc->index];
    json tx = json::parse(node.TxJson(b->txs[loc->index]), nullptr, false);
    return {200,
            Dump(json{{"hash", hash},
                      {"height", std::to_string(loc->height)},
                      {"index", loc->index},
                      {"code", r.code},
                      {"codespace", r.codespace},
                      {"log", r.log},
                      {"gas_wanted", std::to_string(r.gas_wanted)},
                      {"gas_used", std::to_string(r.gas_used)},
                      {"events", EventsJson(r.events)},
                      {"tx", tx},
                      {"timestamp", TimeIso(b->time_unix_ms)}}),
            {}};
  }
  return Err(404, kErrNoRoute, kCodespace, "no route " + method + " " + path);  // AllowedMethods and Route disagree
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
  return Err(status, code, kCodespace, message).body;
}
}  // namespace

Server::Server(Backend& node, std::string addr, http::Limits limits) {
  http::Options o;
  o.name = "depai";
  o.limits = limits;
  o.error_body = ErrorJson;
  server_ = std::make_unique<http::Server>(
      std::move(addr), std::move(o), [&node](const http::Request& req, http::ResponseWriter& w) {
        RouteReply out;
        try {
          out = Route(node, req.method, req.target, req.body);
        } catch (const std::exception& e) {
          out = Err(500, kErrMethodOrInternal, kCodespace, std::string("internal error: ") + e.what());
        }
        spdlog::debug("api {} {} -> {}", req.method, req.target, out.status);
        w.Send(out.status, std::move(out.body), "application/json", out.headers);
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
