#include "api/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <nlohmann/json.hpp>
#include <thread>

#include "api/requests.h"
#include "crypto/hash.h"
#include "util/files.h"
#include "x/types/tx.h"

namespace depai::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
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
    return Err(400, 7, "api", "from_height must be a non-negative integer, got '" + f + "'");
  if (!t.empty() && !ParseHeight(t, &to))
    return Err(400, 7, "api", "to_height must be a non-negative integer, got '" + t + "'");
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
    if (method != "POST") return Err(405, 1, "api", "use POST /txs");
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
      return Err(504, 6, "api", "tx " + hash + " was accepted but not committed within 30s; query GET /txs/" + hash);
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
  if (method != "GET") return Err(405, 1, "api", "method " + method + " not allowed on " + path);
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
        return Err(400, 7, "api", "block height must be a positive integer, got '" + hs + "'");
      h = std::stoll(hs);
    }
    auto b = h > 0 ? node.Block(h) : std::nullopt;
    if (!b || h > node.Status().height) return Err(404, 8, "api", "block " + std::to_string(h) + " not found");
    return {200, BlockJson(*b).dump()};
  }
  if (starts("/txs/")) {
    std::string hash = Upper(path.substr(5));
    if (!ValidHashHex(hash)) return Err(400, 9, "api", "tx hash must be 64 hex characters");
    auto loc = node.FindTx(hash);
    if (!loc || loc->height > node.Status().height) return Err(404, 10, "api", "tx " + hash + " not found");
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
  return Err(404, 11, "api", "no route " + method + " " + path);
}

class Server::Impl {
 public:
  Impl(Backend& n, std::string a) : node(n), addr(std::move(a)) {}
  Backend& node;
  std::string addr;
  asio::io_context io;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::weak_ptr<asio::ip::tcp::socket>> sockets;  // live connections, to shut down on Stop
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};

  void Serve(const std::shared_ptr<asio::ip::tcp::socket>& sock) {
    beast::flat_buffer buf;
    boost::system::error_code ec;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      http::read(*sock, buf, parser, ec);
      if (ec == http::error::body_limit) {
        auto [st, b] = Err(413, 12, "api", "request body over 1 MiB");
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = b;
        res.prepare_payload();
        http::write(*sock, res, ec);
        break;
      }
      if (ec) break;
      auto& req = parser.get();
      std::pair<int, std::string> out;
      try {
        out = Route(node, std::string(req.method_string()), std::string(req.target()), req.body());
      } catch (const std::exception& e) {
        out = Err(500, 1, "api", std::string("internal error: ") + e.what());
      }
      spdlog::debug("api {} {} -> {}", std::string(req.method_string()), std::string(req.target()), out.first);
      http::response<http::string_body> res{static_cast<http::status>(out.first), req.version()};
      res.set(http::field::content_type, "application/json");
      res.set(http::field::server, "depai");
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.second);
      res.prepare_payload();
      http::write(*sock, res, ec);
      if (ec || !req.keep_alive() || stopping) break;
    }
    sock->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    --active;
  }

  void AcceptLoop() {
    while (!stopping) {
      auto sock = std::make_shared<asio::ip::tcp::socket>(io);
      boost::system::error_code ec;
      acceptor->accept(*sock, ec);
      if (ec || stopping) break;
      if (active >= 128) {  // bounded: refuse politely
        sock->close(ec);
        continue;
      }
      ++active;
      std::lock_guard<std::mutex> lock(mu);
      sockets.remove_if([](const auto& w) { return w.expired(); });
      sockets.push_back(sock);
      std::thread([this, sock] { Serve(sock); }).detach();
    }
  }
};

Server::Server(Backend& node, std::string addr) : impl_(std::make_unique<Impl>(node, std::move(addr))) {}
Server::~Server() { Stop(); }

Status Server::Start() {
  auto& I = *impl_;
  auto colon = I.addr.rfind(':');
  if (colon == std::string::npos) return Error{"api", 13, "API address must be host:port, got '" + I.addr + "'"};
  try {
    auto ep = asio::ip::tcp::endpoint(asio::ip::make_address(I.addr.substr(0, colon)),
                                      static_cast<uint16_t>(std::stoi(I.addr.substr(colon + 1))));
    I.acceptor = std::make_unique<asio::ip::tcp::acceptor>(I.io);
    I.acceptor->open(ep.protocol());
    I.acceptor->set_option(asio::socket_base::reuse_address(true));
    I.acceptor->bind(ep);
    I.acceptor->listen();
  } catch (const std::exception& e) {
    return Error{"api", 13, "cannot listen on " + I.addr + ": " + e.what()};
  }
  I.accept_thread = std::thread([&I] { I.AcceptLoop(); });
  return {};
}

uint16_t Server::port() const { return impl_->acceptor ? impl_->acceptor->local_endpoint().port() : 0; }

void Server::Stop() {
  auto& I = *impl_;
  if (I.stopping.exchange(true)) return;
  boost::system::error_code ec;
  if (I.acceptor) {
    ::shutdown(I.acceptor->native_handle(), SHUT_RDWR);
    I.acceptor->close(ec);
  }
  if (I.accept_thread.joinable()) I.accept_thread.join();
  {
    std::lock_guard<std::mutex> lock(I.mu);
    for (auto& w : I.sockets)
      if (auto s = w.lock()) s->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
  // Connection threads are detached; wait for them to leave (a commit-mode request may wait
  // for the node, which is stopped first by the caller).
  for (int i = 0; i < 3000 && I.active > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace depai::api
