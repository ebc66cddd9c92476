#include "provider/server.h"

#include "util/files.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cctype>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <list>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "client/deploy_spec.h"
#include "provider/daemon.h"

namespace depai::provider {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using nlohmann::json;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxBody = 4 * 1024 * 1024;  // a manifest is at most 2 MiB of canonical JSON
constexpr int64_t kMaxFollowMs = 30 * 60 * 1000;
constexpr int kMaxConnections = 256;           // in all
constexpr int kMaxPerPeer = 32;                // from one client address
constexpr int kReadTimeoutS = 10;              // one read; also the idle keep-alive timeout
constexpr int kWriteTimeoutS = 30;             // one write (a client that stops reading)
constexpr int64_t kRequestDeadlineMs = 20000;  // a whole request, header and body

Daemon::Reply Err(int status, uint32_t code, const std::string& msg) {
  return Daemon::Reply{status, json{{"code", code}, {"codespace", "providerd"}, {"message", msg}}};
}

}  // namespace

struct Endpoint::Impl {
  Impl(Daemon& d, std::string l) : daemon(d), listen(std::move(l)) {}
  Daemon& daemon;
  std::string listen;
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::weak_ptr<tcp::socket>> sockets;
  std::atomic<bool> stopping{false};
  std::atomic<int> active{0};
  std::map<std::string, int> per_peer;  // open connections per client address (mu)

  void WriteJson(tcp::socket& sock, const Daemon::Reply& r, unsigned version, bool keep_alive,
                 boost::system::error_code& ec) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::server, "depai-provider");
    res.keep_alive(keep_alive);
    res.body() = r.body.dump();
    res.prepare_payload();
    http::write(sock, res, ec);
  }

  // Streams a log file with chunked encoding until the workload stops and the file is drained.
  void Follow(tcp::socket& sock, uint64_t lease, const std::string& path, unsigned version,
              boost::system::error_code& ec) {
    http::response<http::empty_body> res{http::status::ok, version};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::server, "depai-provider");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    http::write_header(sock, sr, ec);
    if (ec) return;
    std::ifstream in(path, std::ios::binary);
    int64_t deadline = NowMs() + kMaxFollowMs;
    char buf[16384];
    while (!stopping && NowMs() < deadline) {
      in.clear();
      in.read(buf, sizeof buf);
      std::streamsize n = in.gcount();
      if (n > 0) {
        asio::write(sock, http::make_chunk(asio::buffer(buf, static_cast<size_t>(n))), ec);
        if (ec) return;
        continue;
      }
      auto st = daemon.runtime().GetStatus(lease);
      if (!st || st->state != RunState::kRunning) {
        in.clear();
        in.read(buf, sizeof buf);  // what was written just before the end
        if (in.gcount() > 0) {
          asio::write(sock, http::make_chunk(asio::buffer(buf, static_cast<size_t>(in.gcount()))), ec);
          if (ec) return;
          continue;
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    asio::write(sock, http::make_chunk_last(), ec);
  }

  // Forwards one request to an exposed port inside the lease's sandbox and relays the response.
  // The buyer's authentication headers are not forwarded. Sets out.status = 0 when it wrote the
  // response itself; otherwise `out` holds an error reply.
  void Proxy(tcp::socket& sock, const http::request<http::string_body>& req, uint64_t lease, const std::string& service,
             uint16_t port, const std::string& upath, Daemon::Reply& out, boost::system::error_code& ec) {
    auto fd = daemon.runtime().Connect(lease, service, port);
    if (!fd.ok()) {
      uint32_t c = fd.error().code;
      out = Err(c == 12 || c == 13 ? 404 : 502, 21, fd.error().message);
      return;
    }
    struct timeval tv {
      30, 0
    };
    ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd->get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    tcp::socket up(io);
    boost::system::error_code uec;
    up.assign(tcp::v4(), fd.value().release(), uec);
    if (uec) {
      out = Err(502, 21, "cannot use the connection to the service: " + uec.message());
      return;
    }
    http::request<http::string_body> fwd{req.method(), upath, 11};
    for (const auto& f : req) {
      std::string name(f.name_string());
      std::string lower = name;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("x-depai-", 0) == 0 || lower == "host" || lower == "connection" || lower == "keep-alive" ||
          lower == "transfer-encoding" || lower == "content-length" || lower.rfind("proxy-", 0) == 0 ||
          lower == "upgrade" || lower == "te" || lower == "trailer")
        continue;
      fwd.set(f.name_string(), f.value());
    }
    fwd.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    fwd.keep_alive(false);
    fwd.body() = req.body();
    fwd.prepare_payload();
    http::write(up, fwd, uec);
    if (uec) {
      out = Err(502, 21, "sending the request to the service failed: " + uec.message());
      return;
    }
    beast::flat_buffer b;
    http::response_parser<http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    if (req.method() == http::verb::head) p.skip(true);
    http::read(up, b, p, uec);
    if (uec && uec != http::error::end_of_stream) {
      out = Err(502, 21, "the service's response could not be read: " + uec.message());
      return;
    }
    auto res = p.release();
    res.keep_alive(req.keep_alive());
    res.set("X-Depai-Lease", std::to_string(lease));
    if (req.method() != http::verb::head) res.prepare_payload();
    http::write(sock, res, ec);
    out.status = 0;
  }

  // Returns true when the response was written here (streams, files); else fills `out`.
  bool Route(tcp::socket& sock, const http::request<http::string_body>& req, Daemon::Reply& out,
             boost::system::error_code& ec) {
    std::string target(req.target());
    std::string path = target.substr(0, target.find('?'));
    bool get = req.method() == http::verb::get, post = req.method() == http::verb::post;
    if (path == "/health") {
      out = get ? daemon.Health() : Err(405, 1, "use GET /health");
      return false;
    }
    const std::string prefix = "/v1/leases/";
    if (path.rfind(prefix, 0) != 0) {
      out = Err(404, 11, "no route " + std::string(req.method_string()) + " " + path);
      return false;
    }
    std::string rest = path.substr(prefix.size());
    std::string id_s = rest.substr(0, rest.find('/'));
    std::string sub = rest.size() > id_s.size() ? rest.substr(id_s.size() + 1) : "";
    if (id_s.empty() || id_s.size() > 19 || id_s.find_first_not_of("0123456789") != std::string::npos) {
      out = Err(400, 12, "lease id must be a positive integer, got '" + id_s + "'");
      return false;
    }
    uint64_t lease = std::stoull(id_s);
    if (sub.rfind("services/", 0) == 0) {  // any method: the buyer's exposed service
      auto hdr = [&](const char* name) { return std::string(req[name]); };
      if (auto denied = daemon.CheckRead(lease, hdr("X-Depai-Owner"), hdr("X-Depai-Pubkey"), hdr("X-Depai-Time"),
                                         hdr("X-Depai-Signature"))) {
        out = *denied;
        return false;
      }
      std::string rest = sub.substr(9);  // <service>/<port>[/<path>]
      auto s1 = rest.find('/');
      std::string service = rest.substr(0, s1);
      std::string after = s1 == std::string::npos ? "" : rest.substr(s1 + 1);
      auto s2 = after.find('/');
      std::string port_s = after.substr(0, s2);
      std::string upath = s2 == std::string::npos ? "/" : after.substr(s2);
      if (service.empty() || port_s.empty() || port_s.size() > 5 ||
          port_s.find_first_not_of("0123456789") != std::string::npos || std::stoul(port_s) == 0 ||
          std::stoul(port_s) > 65535) {
        out = Err(400, 20, "use /v1/leases/" + id_s + "/services/<service>/<port>/<path>");
        return false;
      }
      auto q = target.find('?');
      if (q != std::string::npos) upath += target.substr(q);
      Proxy(sock, req, lease, service, static_cast<uint16_t>(std::stoul(port_s)), upath, out, ec);
      return ec ? true : out.status == 0;
    }
    if (sub == "manifest") {
      out = post ? daemon.AcceptManifest(lease, req.body()) : Err(405, 1, "use POST to send a manifest");
      return false;
    }
    if (!get) {
      out = Err(405, 1, "method not allowed on " + path);
      return false;
    }
    auto hdr = [&](const char* name) { return std::string(req[name]); };
    if (auto denied = daemon.CheckRead(lease, hdr("X-Depai-Owner"), hdr("X-Depai-Pubkey"), hdr("X-Depai-Time"),
                                       hdr("X-Depai-Signature"))) {
      out = *denied;
      return false;
    }
    if (sub.empty()) {
      out = daemon.LeaseStatusJson(lease);
      return false;
    }
    if (sub == "logs") {
      std::string stream = QueryParam(target, "stream");
      if (stream.empty()) stream = "stdout";
      std::string service = PctDecode(QueryParam(target, "service"));
      auto st = daemon.runtime().GetStatus(lease);
      if (!st) {
        out = Err(404, 13, "lease " + id_s + " has no workload yet (no manifest received)");
        return false;
      }
      if (service.empty()) service = st->services.front().service;
      std::string file = daemon.runtime().LogPath(lease, service, stream);
      if (file.empty()) {
        out = Err(400, 14, "no log '" + stream + "' for service '" + service + "' (streams: stdout, stderr)");
        return false;
      }
      if (QueryParam(target, "follow") == "1") {
        Follow(sock, lease, file, req.version(), ec);
        return true;
      }
      std::ifstream in(file, std::ios::binary);
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.keep_alive(req.keep_alive());
      res.body() = std::move(body);
      res.prepare_payload();
      http::write(sock, res, ec);
      return true;
    }
    if (sub == "results") {
      out = daemon.ResultsJson(lease);
      return false;
    }
    if (sub.rfind("results/", 0) == 0) {
      std::string name = PctDecode(sub.substr(8));
      std::string file = client::SafeRelativePath(name) ? daemon.runtime().ArtifactPath(lease, name) : "";
      if (file.empty()) {
        out = Err(404, 15, "'" + name + "' is not a declared artifact of lease " + id_s);
        return false;
      }
      std::string sha;
      bool present = false;
      for (const auto& a : daemon.runtime().Artifacts(lease))
        if (a.name == name) {
          sha = a.sha256;
          present = a.present;
        }
      if (!present) {
        out = Err(404, 16, "artifact '" + name + "' is not available (the workload has not produced it)");
        return false;
      }
      http::response<http::file_body> res{http::status::ok, req.version()};
      beast::error_code fec;
      res.body().open(file.c_str(), beast::file_mode::scan, fec);
      if (fec) {
        out = Err(500, 17, "cannot open artifact '" + name + "': " + fec.message());
        return false;
      }
      res.set(http::field::content_type, "application/octet-stream");
      res.set("X-Depai-Sha256", sha);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(sock, res, ec);
      return true;
    }
    out = Err(404, 11, "no route GET " + path);
    return false;
  }

  // Reads one request with an overall deadline: a client that trickles its header or body (one
  // byte every few seconds) is cut off instead of holding a connection forever. Each read also
  // times out (SO_RCVTIMEO), which closes idle keep-alive connections.
  bool ReadRequest(tcp::socket& sock, beast::flat_buffer& buf, http::request_parser<http::string_body>& parser,
                   boost::system::error_code& ec, bool first) {
    int64_t deadline = NowMs() + kRequestDeadlineMs;
    while (!parser.is_done()) {
      http::read_some(sock, buf, parser, ec);
      if (ec) return false;
      if (NowMs() > deadline) {
        if (!first || parser.is_header_done())
          WriteJson(sock, Err(408, 22, "request not received within 20 s"), 11, false, ec);
        ec = beast::error::timeout;
        return false;
      }
    }
    return true;
  }

  void Serve(const std::shared_ptr<tcp::socket>& sock, const std::string& peer) {
    beast::flat_buffer buf;
    boost::system::error_code ec;
    struct timeval rcv {
      kReadTimeoutS, 0
    }, snd{kWriteTimeoutS, 0};
    ::setsockopt(sock->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
    ::setsockopt(sock->native_handle(), SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
    for (bool first = true;; first = false) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxBody);
      parser.header_limit(16 * 1024);
      ReadRequest(*sock, buf, parser, ec, first);
      if (ec == http::error::body_limit) {
        WriteJson(*sock, Err(413, 18, "request body over 4 MiB"), 11, false, ec);
        break;
      }
      if (ec) break;
      auto& req = parser.get();
      Daemon::Reply out;
      bool written = false;
      try {
        written = Route(*sock, req, out, ec);
      } catch (const std::exception& e) {
        out = Err(500, 1, std::string("internal error: ") + e.what());
      }
      spdlog::debug("endpoint {} {} -> {}", std::string(req.method_string()), std::string(req.target()),
                    written ? 200 : out.status);
      if (!written) WriteJson(*sock, out, req.version(), req.keep_alive(), ec);
      if (ec || !req.keep_alive() || stopping) break;
    }
    sock->shutdown(tcp::socket::shutdown_both, ec);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (--per_peer[peer] == 0) per_peer.erase(peer);
    }
    --active;
  }

  void AcceptLoop() {
    while (!stopping) {
      auto sock = std::make_shared<tcp::socket>(io);
      boost::system::error_code ec;
      acceptor->accept(*sock, ec);
      if (ec || stopping) break;
      std::string peer = sock->remote_endpoint(ec).address().to_string();
      if (ec) {
        sock->close(ec);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu);
      // One client address cannot take every connection: the others keep being served.
      if (active >= kMaxConnections || per_peer[peer] >= kMaxPerPeer) {
        if (per_peer[peer] == 0) per_peer.erase(peer);
        sock->close(ec);
        continue;
      }
      ++active;
      ++per_peer[peer];
      sockets.remove_if([](const auto& w) { return w.expired(); });
      sockets.push_back(sock);
      std::thread([this, sock, peer] { Serve(sock, peer); }).detach();
    }
  }
};

Endpoint::Endpoint(Daemon& d, std::string listen) : impl_(std::make_unique<Impl>(d, std::move(listen))) {}
Endpoint::~Endpoint() { Stop(); }

Status Endpoint::Start() {
  auto& I = *impl_;
  auto colon = I.listen.rfind(':');
  if (colon == std::string::npos) return Error{"providerd", 19, "listen must be host:port, got '" + I.listen + "'"};
  try {
    auto ep = tcp::endpoint(asio::ip::make_address(I.listen.substr(0, colon)),
                            static_cast<uint16_t>(std::stoi(I.listen.substr(colon + 1))));
    I.acceptor = std::make_unique<tcp::acceptor>(I.io);
    I.acceptor->open(ep.protocol());
    I.acceptor->set_option(asio::socket_base::reuse_address(true));
    I.acceptor->bind(ep);
    I.acceptor->listen();
  } catch (const std::exception& e) {
    return Error{"providerd", 19, "cannot listen on " + I.listen + ": " + e.what()};
  }
  I.accept_thread = std::thread([&I] { I.AcceptLoop(); });
  return {};
}

uint16_t Endpoint::port() const { return impl_->acceptor ? impl_->acceptor->local_endpoint().port() : 0; }

void Endpoint::Stop() {
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
      if (auto s = w.lock()) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (int i = 0; i < 300 && I.active > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace depai::provider
