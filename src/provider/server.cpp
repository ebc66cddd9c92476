#include "provider/server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/deploy_spec.h"
#include "http/server.h"
#include "provider/handlers.h"
#include "util/files.h"

namespace depai::provider {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using nlohmann::json;
using tcp = asio::ip::tcp;

namespace {

constexpr int64_t kMaxFollowMs = 30 * 60 * 1000;
constexpr int64_t kUpstreamTimeoutMs = 30000;  // each read or write to a lease's exposed service
constexpr uint64_t kMaxUpstreamBody = 64ull * 1024 * 1024;

Reply Err(int status, uint32_t code, const std::string& msg) {
  return Reply{status, json{{"code", code}, {"codespace", "providerd"}, {"message", msg}}};
}

void SendReply(http::ResponseWriter& w, const Reply& r) { w.Send(r.status, r.body.dump()); }

std::string Lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool HopByHop(const std::string& lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "transfer-encoding" || lower == "content-length" ||
         lower.rfind("proxy-", 0) == 0 || lower == "upgrade" || lower == "te" || lower == "trailer";
}

// Runs one asynchronous operation on a private io_context with a deadline; returns its error.
template <class Start>
beast::error_code RunFor(asio::io_context& io, beast::tcp_stream& s, int64_t timeout_ms, Start start) {
  beast::error_code ec;
  bool done = false;
  s.expires_after(std::chrono::milliseconds(timeout_ms));
  start([&](beast::error_code e, size_t) {
    ec = e;
    done = true;
  });
  io.restart();
  io.run();
  if (!done) ec = asio::error::operation_aborted;
  return ec;
}

}  // namespace

http::Limits Endpoint::DefaultLimits() {
  http::Limits l;
  l.max_connections = 256;
  l.max_per_client = 32;
  l.header_timeout_ms = 10000;
  l.body_timeout_ms = 10000;
  l.idle_timeout_ms = 10000;
  l.write_timeout_ms = 30000;
  l.max_header_bytes = 16 * 1024;
  l.max_body_bytes = 4 * 1024 * 1024;  // a manifest is at most 2 MiB of canonical JSON
  return l;
}

struct Endpoint::Impl {
  Impl(Handlers& d, std::string l, http::Limits lim) : daemon(d), listen(std::move(l)), limits(lim) {}
  Handlers& daemon;
  std::string listen;
  http::Limits limits;
  std::unique_ptr<http::Server> server;

  // Streams a log file with chunked encoding until the workload stops and the file is drained.
  void Follow(http::ResponseWriter& w, uint64_t lease, const std::string& path) {
    if (!w.Begin(200, {{"Content-Type", "text/plain; charset=utf-8"}})) return;
    std::ifstream in(path, std::ios::binary);
    int64_t deadline = NowMs() + kMaxFollowMs;
    char buf[16384];
    while (w.open() && NowMs() < deadline) {
      in.clear();
      in.read(buf, sizeof buf);
      std::streamsize n = in.gcount();
      if (n > 0) {
        if (!w.Write(std::string_view(buf, static_cast<size_t>(n)))) return;
        continue;
      }
      auto st = daemon.runtime().GetStatus(lease);
      if (!st || st->state != RunState::kRunning) {
        in.clear();
        in.read(buf, sizeof buf);  // what was written just before the end
        if (in.gcount() > 0) {
          if (!w.Write(std::string_view(buf, static_cast<size_t>(in.gcount())))) return;
          continue;
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    w.End();
  }

  // Forwards one request to an exposed port inside the lease's sandbox and streams the response
  // back. The buyer's authentication headers are not forwarded. Returns an error reply when
  // nothing was written yet.
  std::optional<Reply> Proxy(const http::Request& req, http::ResponseWriter& w, uint64_t lease,
                             const std::string& service, uint16_t port, const std::string& upath) {
    auto fd = daemon.runtime().Connect(lease, service, port);
    if (!fd.ok()) {
      uint32_t c = fd.error().code;
      return Err(c == 12 || c == 13 ? 404 : 502, 21, fd.error().message);
    }
    asio::io_context io;
    beast::tcp_stream up(io);
    boost::system::error_code uec;
    up.socket().assign(tcp::v4(), fd.value().release(), uec);
    if (uec) return Err(502, 21, "cannot use the connection to the service: " + uec.message());
    bhttp::request<bhttp::string_body> fwd{bhttp::string_to_verb(req.method), upath, 11};
    if (fwd.method() == bhttp::verb::unknown) fwd.method_string(req.method);
    for (const auto& [name, value] : req.headers) {
      std::string lower = Lower(name);
      if (lower.rfind("x-depai-", 0) == 0 || lower == "host" || HopByHop(lower)) continue;
      fwd.insert(name, value);
    }
    fwd.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
    fwd.keep_alive(false);
    fwd.body() = req.body;
    fwd.prepare_payload();
    uec = RunFor(io, up, kUpstreamTimeoutMs, [&](auto cb) { bhttp::async_write(up, fwd, cb); });
    if (uec) return Err(502, 21, "sending the request to the service failed: " + uec.message());
    beast::flat_buffer b;
    bhttp::response_parser<bhttp::buffer_body> p;
    p.body_limit(kMaxUpstreamBody);
    bool head = req.method == "HEAD";
    if (head) p.skip(true);
    uec = RunFor(io, up, kUpstreamTimeoutMs, [&](auto cb) { bhttp::async_read_header(up, b, p, cb); });
    if (uec) return Err(502, 21, "the service's response could not be read: " + uec.message());
    auto& res = p.get();
    http::Headers hs;
    for (const auto& f : res) {
      std::string name(f.name_string());
      if (HopByHop(Lower(name))) continue;
      hs.emplace_back(name, std::string(f.value()));
    }
    hs.emplace_back("X-Depai-Lease", std::to_string(lease));
    int64_t length = -1;
    if (auto cl = p.content_length()) length = static_cast<int64_t>(*cl);
    if (head || p.is_done()) {
      if (!head) length = 0;
      if (w.Begin(static_cast<int>(res.result_int()), hs, length < 0 ? 0 : length)) w.End();
      return std::nullopt;
    }
    if (!w.Begin(static_cast<int>(res.result_int()), hs, length)) return std::nullopt;
    char chunk[16384];
    while (!p.is_done()) {
      res.body().data = chunk;
      res.body().size = sizeof chunk;
      uec = RunFor(io, up, kUpstreamTimeoutMs, [&](auto cb) { bhttp::async_read(up, b, p, cb); });
      if (uec == bhttp::error::need_buffer) uec = {};
      size_t n = sizeof chunk - res.body().size;
      if (n > 0 && !w.Write(std::string_view(chunk, n))) return std::nullopt;
      if (uec == bhttp::error::end_of_stream) break;
      if (uec) {
        spdlog::debug("endpoint: proxy for lease {}: {}", lease, uec.message());
        return std::nullopt;  // the stream stops short; the server closes the connection
      }
    }
    w.End();
    return std::nullopt;
  }

  // Writes one answer: the route's reply, a stream, or a file.
  void Route(const http::Request& req, http::ResponseWriter& w) {
    const std::string& target = req.target;
    std::string path = target.substr(0, target.find('?'));
    bool get = req.method == "GET", post = req.method == "POST";
    if (path == "/health") return SendReply(w, get ? daemon.Health() : Err(405, 1, "use GET /health"));
    if (path.rfind("/verify/v1/challenges/", 0) == 0) {  // /verify/v1/challenges/{id}/rows/{i}
      std::string rest = path.substr(22);
      auto slash = rest.find('/');
      std::string id_s = rest.substr(0, slash), tail = slash == std::string::npos ? "" : rest.substr(slash);
      std::string i_s = tail.rfind("/rows/", 0) == 0 ? tail.substr(6) : "";
      auto digits = [](const std::string& s, size_t max) {
        return !s.empty() && s.size() <= max && s.find_first_not_of("0123456789") == std::string::npos;
      };
      if (!digits(id_s, 19) || !digits(i_s, 9))
        return SendReply(
            w, Err(404, 11, "no route " + req.method + " " + path + " (use GET /verify/v1/challenges/{id}/rows/{i})"));
      if (!get) return SendReply(w, Err(405, 1, "use GET " + path));
      return SendReply(w, daemon.VerifyRow(std::stoull(id_s), static_cast<uint32_t>(std::stoul(i_s))));
    }
    const std::string prefix = "/v1/leases/";
    if (path.rfind(prefix, 0) != 0) return SendReply(w, Err(404, 11, "no route " + req.method + " " + path));
    std::string rest = path.substr(prefix.size());
    std::string id_s = rest.substr(0, rest.find('/'));
    std::string sub = rest.size() > id_s.size() ? rest.substr(id_s.size() + 1) : "";
    if (id_s.empty() || id_s.size() > 19 || id_s.find_first_not_of("0123456789") != std::string::npos)
      return SendReply(w, Err(400, 12, "lease id must be a positive integer, got '" + id_s + "'"));
    uint64_t lease = std::stoull(id_s);
    auto denied = [&]() {
      return daemon.CheckRead(lease, req.header("X-Depai-Owner"), req.header("X-Depai-Pubkey"),
                              req.header("X-Depai-Time"), req.header("X-Depai-Signature"));
    };
    if (sub.rfind("services/", 0) == 0) {  // any method: the buyer's exposed service
      if (auto d = denied()) return SendReply(w, *d);
      std::string rest = sub.substr(9);  // <service>/<port>[/<path>]
      auto s1 = rest.find('/');
      std::string service = rest.substr(0, s1);
      std::string after = s1 == std::string::npos ? "" : rest.substr(s1 + 1);
      auto s2 = after.find('/');
      std::string port_s = after.substr(0, s2);
      std::string upath = s2 == std::string::npos ? "/" : after.substr(s2);
      if (service.empty() || port_s.empty() || port_s.size() > 5 ||
          port_s.find_first_not_of("0123456789") != std::string::npos || std::stoul(port_s) == 0 ||
          std::stoul(port_s) > 65535)
        return SendReply(w, Err(400, 20, "use /v1/leases/" + id_s + "/services/<service>/<port>/<path>"));
      auto q = target.find('?');
      if (q != std::string::npos) upath += target.substr(q);
      if (auto e = Proxy(req, w, lease, service, static_cast<uint16_t>(std::stoul(port_s)), upath)) SendReply(w, *e);
      return;
    }
    if (sub == "manifest")
      return SendReply(w, post ? daemon.AcceptManifest(lease, req.body) : Err(405, 1, "use POST to send a manifest"));
    if (!get) return SendReply(w, Err(405, 1, "method not allowed on " + path));
    if (auto d = denied()) return SendReply(w, *d);
    if (sub.empty()) return SendReply(w, daemon.LeaseStatusJson(lease));
    if (sub == "logs") {
      std::string stream = QueryParam(target, "stream");
      if (stream.empty()) stream = "stdout";
      std::string service = PctDecode(QueryParam(target, "service"));
      auto st = daemon.runtime().GetStatus(lease);
      if (!st) return SendReply(w, Err(404, 13, "lease " + id_s + " has no workload yet (no manifest received)"));
      if (service.empty()) service = st->services.front().service;
      std::string file = daemon.runtime().LogPath(lease, service, stream);
      if (file.empty())
        return SendReply(
            w, Err(400, 14, "no log '" + stream + "' for service '" + service + "' (streams: stdout, stderr)"));
      if (QueryParam(target, "follow") == "1") return Follow(w, lease, file);
      std::ifstream in(file, std::ios::binary);
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      w.Send(200, std::move(body), "text/plain; charset=utf-8");
      return;
    }
    if (sub == "results") return SendReply(w, daemon.ResultsJson(lease));
    if (sub.rfind("results/", 0) == 0) {
      std::string name = PctDecode(sub.substr(8));
      std::string file = client::SafeRelativePath(name) ? daemon.runtime().ArtifactPath(lease, name) : "";
      if (file.empty()) return SendReply(w, Err(404, 15, "'" + name + "' is not a declared artifact of lease " + id_s));
      std::string sha;
      bool present = false;
      for (const auto& a : daemon.runtime().Artifacts(lease))
        if (a.name == name) {
          sha = a.sha256;
          present = a.present;
        }
      if (!present)
        return SendReply(w,
                         Err(404, 16, "artifact '" + name + "' is not available (the workload has not produced it)"));
      std::ifstream in(file, std::ios::binary);
      struct stat stt {};
      if (!in || ::stat(file.c_str(), &stt) != 0)
        return SendReply(w, Err(500, 17, "cannot open artifact '" + name + "'"));
      if (!w.Begin(200, {{"Content-Type", "application/octet-stream"}, {"X-Depai-Sha256", sha}},
                   static_cast<int64_t>(stt.st_size)))
        return;
      char buf[65536];
      int64_t left = stt.st_size;
      while (left > 0 && in) {
        in.read(buf, static_cast<std::streamsize>(std::min<int64_t>(left, sizeof buf)));
        auto n = in.gcount();
        if (n <= 0 || !w.Write(std::string_view(buf, static_cast<size_t>(n)))) break;
        left -= n;
      }
      w.End();
      return;
    }
    SendReply(w, Err(404, 11, "no route GET " + path));
  }
};

Endpoint::Endpoint(Handlers& d, std::string listen, http::Limits limits)
    : impl_(std::make_unique<Impl>(d, std::move(listen), limits)) {}
Endpoint::Endpoint(Handlers& d, std::string listen) : Endpoint(d, std::move(listen), DefaultLimits()) {}
Endpoint::~Endpoint() { Stop(); }

Status Endpoint::Start() {
  auto& I = *impl_;
  http::Options o;
  o.name = "depai-provider";
  o.limits = I.limits;
  o.error_body = [](int status, const std::string& message) {
    uint32_t code = status == 413 ? 18 : status == 408 ? 22 : status == 431 ? 23 : 1;
    return Err(status, code, message).body.dump();
  };
  I.server =
      std::make_unique<http::Server>(I.listen, std::move(o), [&I](const http::Request& req, http::ResponseWriter& w) {
        I.Route(req, w);
        spdlog::debug("endpoint {} {} from {}", req.method, req.target, req.peer);
      });
  auto st = I.server->Start();
  if (!st.ok()) return Error{"providerd", 19, st.error().message};
  return {};
}

uint16_t Endpoint::port() const { return impl_->server ? impl_->server->port() : 0; }

void Endpoint::Stop() {
  if (impl_->server) impl_->server->Stop();
}

}  // namespace depai::provider
