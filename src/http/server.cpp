#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace depai::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using ms = std::chrono::milliseconds;

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, beast::string_view(name.data(), name.size()))) return v;
  return "";
}

namespace {

void RaiseFdLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rlim_t want = rl.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : rl.rlim_max;
  rlimit up{want, rl.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &up) != 0) spdlog::debug("http: cannot raise RLIMIT_NOFILE");
}

std::string DefaultErrorBody(int status, const std::string& message) {
  std::string esc;
  for (char c : message) {
    if (c == '"' || c == '\\') esc += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) esc += c;
  }
  return "{\"code\":" + std::to_string(status) + ",\"codespace\":\"http\",\"message\":\"" + esc + "\"}";
}

std::string Seconds(int64_t ms) {
  return std::to_string(ms / 1000) + (ms % 1000 ? "." + std::to_string(ms % 1000 / 100) : "") + " s";
}

// Handler threads, started on demand up to `max`; jobs wait in a queue when all are busy (the
// queue holds at most one job per connection).
class Workers {
 public:
  explicit Workers(int max) : max_(max < 1 ? 1 : max) {}
  void Submit(std::function<void()> f) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    q_.push_back(std::move(f));
    if (q_.size() > idle_ && static_cast<int>(threads_.size()) < max_)
      threads_.emplace_back([this] { Loop(); });
    else
      cv_.notify_one();
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      ++idle_;
      cv_.wait(lock, [&] { return stop_ || !q_.empty(); });
      --idle_;
      if (q_.empty()) return;  // stopping, nothing left
      auto f = std::move(q_.front());
      q_.pop_front();
      lock.unlock();
      f();
      f = nullptr;
      lock.lock();
    }
  }
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stop_ = false;
};

enum ConnState : int { kHeader, kBody, kBusy, kClosed };

}  // namespace

class Conn;

class Server::Impl {
 public:
  Impl(std::string a, Options o, Handler h)
      : addr(std::move(a)), opts(std::move(o)), handler(std::move(h)), workers(opts.limits.max_workers) {
    if (!opts.error_body) opts.error_body = DefaultErrorBody;
  }
  std::string addr;
  Options opts;
  Handler handler;
  Workers workers;
  std::atomic<bool> stopping{false};
  bool started = false;
  std::vector<std::thread> io_threads;

  std::mutex mu;                         // guards the connection table
  std::list<std::weak_ptr<Conn>> conns;  // in accept order (oldest first)
  std::map<std::string, int> per_peer;
  int open = 0;

  // Last member: destroyed first, with the handlers that still hold connections.
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> retry;

  void DoAccept();
  void Admit(tcp::socket s);
  void Release(const std::string& peer, std::list<std::weak_ptr<Conn>>::iterator it);
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(Server::Impl* s, tcp::socket sock, std::string p)
      : srv(s), stream(std::move(sock)), timer(stream.get_executor()), peer(std::move(p)) {}
  ~Conn() { ReleaseSlot(); }

  Server::Impl* srv;
  beast::tcp_stream stream;  // its own deadline serves the writes (a timed-out write closes the socket)
  asio::steady_timer timer;  // the read deadlines: on expiry the read is cancelled, so a 408 can still be sent
  uint64_t timer_gen = 0;
  bool timed_out = false;
  std::string peer;
  beast::flat_buffer buf;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  std::atomic<int> state{kHeader};
  std::atomic<bool> released{false};
  std::list<std::weak_ptr<Conn>>::iterator slot;
  bool first = true;

  const Limits& L() const { return srv->opts.limits; }

  // Gives back this connection's place in the table (once). Callers other than Evict must not
  // hold srv->mu.
  void ReleaseSlot(bool locked = false) {
    if (released.exchange(true)) return;
    if (locked) {
      srv->Release(peer, slot);
    } else {
      std::lock_guard<std::mutex> lock(srv->mu);
      srv->Release(peer, slot);
    }
  }

  // Starts the deadline of the read that follows (on the strand).
  void Arm(int64_t timeout_ms) {
    uint64_t gen = ++timer_gen;
    timed_out = false;
    timer.expires_after(ms(timeout_ms));
    timer.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen) return;
      self->timed_out = true;
      beast::error_code e;
      self->stream.socket().cancel(e);
    });
  }
  void Disarm() {
    ++timer_gen;
    timer.cancel();
  }

  void Start() {
    asio::dispatch(stream.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

  void ReadHeader() {
    if (srv->stopping || state == kClosed) return Close();
    parser.emplace();
    parser->header_limit(static_cast<uint32_t>(L().max_header_bytes));
    parser->body_limit(L().max_body_bytes);
    state = kHeader;
    stream.expires_never();
    Arm(first ? L().header_timeout_ms : L().idle_timeout_ms);
    bhttp::async_read_header(stream, buf, *parser,
                             [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    Disarm();
    if (state == kClosed) return Close();
    if (timed_out) ec = beast::error::timeout;
    if (ec == bhttp::error::header_limit)
      return Fail(431, "request header over " + std::to_string(L().max_header_bytes) + " bytes");
    if (ec == bhttp::error::body_limit) return TooLarge();
    // A first header not complete in time: closed without an answer (a half-open client gets
    // nothing to read). A kept-alive client that started its next header: 408.
    if (ec == beast::error::timeout && !first && buf.size() > 0)
      return Fail(408, "request header not received within " + Seconds(L().idle_timeout_ms));
    if (ec) return Close();
    first = false;
    state = kBody;
    if (parser->is_done()) return Dispatch();
    Arm(L().body_timeout_ms);
    auto& req = parser->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue") && buf.size() == 0) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec || self->timed_out) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream, buf, *parser,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    Disarm();
    if (state == kClosed) return Close();
    if (timed_out) ec = beast::error::timeout;
    if (ec == bhttp::error::body_limit) return TooLarge();
    if (ec == beast::error::timeout)
      return Fail(408, "request body not received within " + Seconds(L().body_timeout_ms));
    if (ec) return Close();
    Dispatch();
  }

  void TooLarge() {
    size_t n = L().max_body_bytes;
    std::string size = n % (1 << 20) == 0 ? std::to_string(n >> 20) + " MiB" : std::to_string(n) + " bytes";
    Fail(413, "request body over " + size);
  }

  // Answers an error the server found itself, then closes.
  void Fail(int status, const std::string& message) {
    state = kBusy;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(status), 11);
    res->set(bhttp::field::server, srv->opts.name);
    res->set(bhttp::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() = srv->opts.error_body(status, message);
    res->prepare_payload();
    stream.expires_after(ms(std::min<int64_t>(L().write_timeout_ms, 5000)));
    bhttp::async_write(stream, *res, [self = shared_from_this(), res](beast::error_code, size_t) { self->Close(); });
  }

  void Close() {
    state = kClosed;
    Disarm();
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }

  void Dispatch();
};

namespace {

class Writer : public ResponseWriter {
 public:
  Writer(Conn& c, unsigned version, bool keep_alive) : c_(c), version_(version), keep_alive_(keep_alive) {}

  bool Send(int status, std::string body, std::string content_type, const Headers& headers) override {
    if (started_) return false;
    started_ = true;
    ended_ = true;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), version_};
    Fields(res, headers);
    if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
    res.body() = std::move(body);
    res.prepare_payload();
    return Run([&](const Done& done) {
      bhttp::async_write(c_.stream, res, [done](beast::error_code ec, size_t) { done(ec); });
    });
  }

  bool Begin(int status, const Headers& headers, int64_t content_length) override {
    if (started_) return false;
    started_ = true;
    res_ = std::make_unique<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(status), version_);
    Fields(*res_, headers);
    length_ = content_length;
    if (content_length < 0) {
      if (version_ < 11) keep_alive_ = false;  // HTTP/1.0: the body ends when the connection closes
      res_->chunked(version_ >= 11);
    } else {
      res_->content_length(static_cast<uint64_t>(content_length));
    }
    res_->keep_alive(keep_alive_);
    sr_ = std::make_unique<bhttp::response_serializer<bhttp::empty_body>>(*res_);
    return Run([&](const Done& done) {
      bhttp::async_write_header(c_.stream, *sr_, [done](beast::error_code ec, size_t) { done(ec); });
    });
  }

  bool Write(std::string_view data) override {
    if (!res_ || ended_) return false;
    if (data.empty()) return open();
    written_ += static_cast<int64_t>(data.size());
    if (length_ >= 0 && written_ > length_) broken_ = true;
    auto b = asio::buffer(data.data(), data.size());
    if (res_->chunked())
      return Run([&](const Done& done) {
        asio::async_write(c_.stream, bhttp::make_chunk(b), [done](beast::error_code ec, size_t) { done(ec); });
      });
    return Run(
        [&](const Done& done) { asio::async_write(c_.stream, b, [done](beast::error_code ec, size_t) { done(ec); }); });
  }

  bool End() override {
    if (!res_ || ended_) return false;
    ended_ = true;
    if (length_ >= 0 && written_ != length_) broken_ = true;  // a short body: the connection cannot be reused
    if (!res_->chunked()) return !broken_;
    return Run([&](const Done& done) {
      asio::async_write(c_.stream, bhttp::make_chunk_last(), [done](beast::error_code ec, size_t) { done(ec); });
    });
  }

  bool open() const override { return !broken_ && !c_.srv->stopping && c_.state != kClosed; }
  bool started() const override { return started_; }

  bool reusable() const { return started_ && ended_ && !broken_ && keep_alive_; }

 private:
  using Done = std::function<void(beast::error_code)>;

  template <class Res>
  void Fields(Res& res, const Headers& headers) {
    res.set(bhttp::field::server, c_.srv->opts.name);
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
  }

  // Runs one asynchronous write on the connection's strand, with the write deadline, and waits.
  bool Run(const std::function<void(const Done&)>& op) {
    if (!open()) {
      broken_ = true;
      return false;
    }
    std::promise<beast::error_code> p;
    auto f = p.get_future();
    asio::post(c_.stream.get_executor(), [&] {
      if (c_.state == kClosed) return p.set_value(asio::error::operation_aborted);
      c_.stream.expires_after(ms(c_.L().write_timeout_ms));
      op([&p](beast::error_code ec) { p.set_value(ec); });
    });
    if (f.get()) broken_ = true;
    return !broken_;
  }

  Conn& c_;
  unsigned version_;
  bool keep_alive_;
  bool started_ = false, ended_ = false, broken_ = false;
  int64_t length_ = -1, written_ = 0;
  std::unique_ptr<bhttp::response<bhttp::empty_body>> res_;
  std::unique_ptr<bhttp::response_serializer<bhttp::empty_body>> sr_;
};

}  // namespace

void Conn::Dispatch() {
  state = kBusy;
  stream.expires_never();
  auto req = std::make_shared<Request>();
  auto& r = parser->get();
  req->method = std::string(r.method_string());
  req->target = std::string(r.target());
  req->version = r.version();
  req->keep_alive = r.keep_alive();
  for (const auto& f : r) req->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  req->body = std::move(r.body());
  req->peer = peer;
  parser.reset();
  srv->workers.Submit([self = shared_from_this(), req] {
    Writer w(*self, req->version, req->keep_alive);
    try {
      self->srv->handler(*req, w);
    } catch (const std::exception& e) {
      spdlog::warn("{}: {} {}: {}", self->srv->opts.name, req->method, req->target, e.what());
      if (!w.started())
        w.Send(500, self->srv->opts.error_body(500, std::string("internal error: ") + e.what()), "application/json",
               {});
    }
    if (!w.started())
      w.Send(500, self->srv->opts.error_body(500, "internal error: no response"), "application/json", {});
    bool keep = w.reusable() && !self->srv->stopping;
    asio::post(self->stream.get_executor(), [self, keep] {
      if (keep)
        self->ReadHeader();
      else
        self->Close();
    });
  });
}

void Server::Impl::Release(const std::string& peer, std::list<std::weak_ptr<Conn>>::iterator it) {
  conns.erase(it);
  --open;
  auto p = per_peer.find(peer);
  if (p != per_peer.end() && --p->second <= 0) per_peer.erase(p);
}

void Server::Impl::DoAccept() {
  acceptor->async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket s) {
    if (stopping) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors (EMFILE) or a transient error: wait a little, never spin, keep accepting.
      spdlog::warn("{}: accept failed: {}", opts.name, ec.message());
      retry->expires_after(ms(100));
      retry->async_wait([this](beast::error_code e) {
        if (!e && !stopping) DoAccept();
      });
      return;
    }
    Admit(std::move(s));
    DoAccept();
  });
}

void Server::Impl::Admit(tcp::socket s) {
  beast::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return;  // already gone
  std::string peer = ep.address().to_string();
  const Limits& L = opts.limits;
  std::shared_ptr<Conn> conn;
  std::vector<std::shared_ptr<Conn>> hold;  // released after the lock: a last reference runs ~Conn, which locks
  {
    std::lock_guard<std::mutex> lock(mu);
    auto pp = per_peer.find(peer);
    if (pp != per_peer.end() && pp->second >= L.max_per_client) {
      spdlog::debug("{}: refused a connection from {}: {} open from that address", opts.name, peer, pp->second);
      s.close(ec);
      return;
    }
    if (open >= L.max_connections) {
      // Full: close the oldest connection that is not in a handler (idle, half-open or trickling).
      std::shared_ptr<Conn> victim;
      for (auto& w : conns) {
        auto c = w.lock();
        if (!c) continue;
        hold.push_back(c);
        if (!c->released && c->state != kBusy) {
          victim = std::move(c);
          break;
        }
      }
      if (!victim) {
        spdlog::debug("{}: refused a connection from {}: {} busy connections", opts.name, peer, open);
        s.close(ec);
        return;
      }
      victim->ReleaseSlot(true);
      asio::post(victim->stream.get_executor(), [victim] { victim->Close(); });
    }
    conn = std::make_shared<Conn>(this, std::move(s), peer);
    conns.push_back(conn);
    conn->slot = std::prev(conns.end());
    ++open;
    ++per_peer[peer];
  }
  beast::error_code nec;
  conn->stream.socket().set_option(tcp::no_delay(true), nec);
  conn->Start();
}

Server::Server(std::string addr, Options opts, Handler handler)
    : impl_(std::make_shared<Impl>(std::move(addr), std::move(opts), std::move(handler))) {}
Server::~Server() { Stop(); }

Status Server::Start() {
  auto& I = *impl_;
  auto colon = I.addr.rfind(':');
  if (colon == std::string::npos) return Error{"http", 1, "listen address must be host:port, got '" + I.addr + "'"};
  RaiseFdLimit();
  try {
    std::string port_s = I.addr.substr(colon + 1);
    if (port_s.empty() || port_s.size() > 5 || port_s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port_s) > 65535)
      return Error{"http", 1, "bad port in listen address '" + I.addr + "'"};
    auto ep = tcp::endpoint(asio::ip::make_address(I.addr.substr(0, colon)), static_cast<uint16_t>(std::stoul(port_s)));
    I.acceptor = std::make_unique<tcp::acceptor>(I.io);
    I.acceptor->open(ep.protocol());
    I.acceptor->set_option(asio::socket_base::reuse_address(true));
    I.acceptor->bind(ep);
    I.acceptor->listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    I.acceptor.reset();
    return Error{"http", 1, "cannot listen on " + I.addr + ": " + e.what()};
  }
  I.retry = std::make_unique<asio::steady_timer>(I.io);
  I.guard.emplace(I.io.get_executor());
  I.DoAccept();
  int n = std::max(1, I.opts.limits.io_threads);
  for (int i = 0; i < n; ++i) I.io_threads.emplace_back([&I] { I.io.run(); });
  I.started = true;
  return {};
}

uint16_t Server::port() const {
  beast::error_code ec;
  return impl_->acceptor ? impl_->acceptor->local_endpoint(ec).port() : 0;
}

int Server::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->open;
}

void Server::Stop() {
  auto& I = *impl_;
  if (I.stopping.exchange(true) || !I.started) return;
  asio::post(I.io, [&I] {
    beast::error_code ec;
    I.acceptor->close(ec);
    I.retry->cancel();
  });
  {
    std::vector<std::shared_ptr<Conn>> hold;  // released after the lock (~Conn locks)
    std::lock_guard<std::mutex> lock(I.mu);
    for (auto& w : I.conns)
      if (auto c = w.lock()) {
        hold.push_back(c);
        asio::post(c->stream.get_executor(), [c] { c->Close(); });
      }
  }
  I.workers.Stop();  // handlers see closed sockets and `stopping`, and return
  I.guard.reset();
  // The closed connections finish their last operations; then the I/O threads return.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(I.mu);
      if (I.open == 0) break;
    }
    std::this_thread::sleep_for(ms(10));
  }
  I.io.stop();
  for (auto& t : I.io_threads) t.join();
  I.io_threads.clear();
}

}  // namespace depai::http
