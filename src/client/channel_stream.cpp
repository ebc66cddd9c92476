// The x/channel payment stream (client/channel_stream.h).
#include "client/channel_stream.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <list>
#include <optional>

namespace depai::client {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr uint64_t kPersistEveryTickets = 256;

Error StreamErr(const std::string& m) { return Error{"channel", x::channel::kErrInvalidMsg, m}; }

// Byte i of the metered data stream.
void AppendData(std::string& out, uint64_t offset, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) out.push_back(static_cast<char>((offset + i) * 131 % 251));
}

bool SplitHostPort(const std::string& hp, std::string& host, std::string& port) {
  auto c = hp.rfind(':');
  if (c == std::string::npos) return false;
  host = hp.substr(0, c);
  port = hp.substr(c + 1);
  return !host.empty() && !port.empty();
}

}  // namespace

struct ChannelReceiver::Impl {
  ReceiverOptions opts;
  mutable std::mutex mu;
  ReceiverState state;
  uint64_t served_bytes = 0;
  asio::io_context io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::mutex conns_mu;
  std::list<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::string stream_path, best_path;

  std::optional<uint64_t> persisted;  // state.payments() at the last save (every change counts one)

  // Writes FILE unless it already holds this state (a stream's close frame, its end and Stop()
  // would otherwise write the same state up to three times).
  void persist() {
    if (opts.state_path.empty() || persisted == state.payments()) return;
    if (state.save(opts.state_path).ok()) persisted = state.payments();
  }

  // One payment frame: the answer frame.
  std::string pay(std::string_view frame) {
    auto f = DecodePaymentFrame(frame);
    std::string out;
    if (!f.ok()) {
      out.push_back(static_cast<char>(FrameKind::kError));
      return out + f.error().message;
    }
    std::lock_guard<std::mutex> l(mu);
    Result<uint64_t> inc =
        f->kind == FrameKind::kVoucher ? state.accept_voucher(f->voucher) : state.accept_ticket(f->units, f->preimage);
    if (!inc.ok()) {
      out.push_back(static_cast<char>(FrameKind::kError));
      return out + inc.error().message;
    }
    if (f->kind == FrameKind::kVoucher || state.ticket_units() % kPersistEveryTickets == 0) persist();
    const uint64_t units = opts.unit_price ? *inc / opts.unit_price : 0;
    out.push_back(static_cast<char>(FrameKind::kChunk));
    AppendData(out, served_bytes, units * opts.chunk_bytes);
    served_bytes += units * opts.chunk_bytes;
    return out;
  }

  void serve(const std::shared_ptr<tcp::socket>& sock) {
    beast::error_code ec;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(*sock, buf, req, ec);
    if (ec) return;
    const std::string target(req.target());
    if (websocket::is_upgrade(req) && target == stream_path) {
      websocket::stream<tcp::socket&> ws(*sock);
      ws.read_message_max(1 << 16);
      ws.accept(req, ec);
      if (ec) return;
      ws.binary(true);
      // A payer's close frame: persist before Beast answers it. The payer's close() waits for that
      // answer, so when `depai channel pay` returns, FILE already holds its last payment.
      ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::close) return;
        std::lock_guard<std::mutex> l(mu);
        persist();
      });
      beast::flat_buffer in;
      while (!stopping) {
        in.clear();
        ws.read(in, ec);
        if (ec) break;
        const auto data = in.cdata();
        std::string answer = pay(std::string_view(static_cast<const char*>(data.data()), data.size()));
        ws.write(asio::buffer(answer), ec);
        if (ec) break;
      }
      std::lock_guard<std::mutex> l(mu);
      persist();
      return;
    }
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(false);
    res.set(http::field::content_type, "application/json");
    if (req.method() == http::verb::get && target == best_path) {
      res.result(http::status::ok);
      std::lock_guard<std::mutex> l(mu);
      res.body() = state.to_json().dump();
    } else {
      res.result(http::status::not_found);
      res.body() = json{{"error", "not found: " + target + " (try " + stream_path + " or " + best_path + ")"}}.dump();
    }
    res.prepare_payload();
    http::write(*sock, res, ec);
    sock->shutdown(tcp::socket::shutdown_both, ec);
  }
};

ChannelReceiver::ChannelReceiver(ReceiverState state, ReceiverOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
  impl_->state = std::move(state);
  const std::string base = "/channel/" + std::to_string(impl_->state.channel_id());
  impl_->stream_path = base + "/stream";
  impl_->best_path = base + "/best";
}

ChannelReceiver::~ChannelReceiver() { Stop(); }

Status ChannelReceiver::Start() {
  std::string host, port;
  if (!SplitHostPort(impl_->opts.listen, host, port))
    return StreamErr("--listen: expected HOST:PORT, got '" + impl_->opts.listen + "'");
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return StreamErr("--listen: '" + host + "' is not an IP address");
  uint16_t p = 0;
  try {
    p = static_cast<uint16_t>(std::stoul(port));
  } catch (...) {
    return StreamErr("--listen: bad port '" + port + "'");
  }
  impl_->acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  tcp::endpoint ep(addr, p);
  impl_->acceptor->open(ep.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return StreamErr("cannot listen on " + impl_->opts.listen + ": " + ec.message());
  port_ = impl_->acceptor->local_endpoint().port();
  Impl* I = impl_.get();
  I->accept_thread = std::thread([I] {
    while (!I->stopping) {
      auto sock = std::make_shared<tcp::socket>(I->io);
      beast::error_code aec;
      I->acceptor->accept(*sock, aec);
      if (aec || I->stopping) break;
      sock->set_option(tcp::no_delay(true), aec);
      std::lock_guard<std::mutex> l(I->conns_mu);
      I->sockets.push_back(sock);
      I->threads.emplace_back([I, sock] { I->serve(sock); });
    }
  });
  return {};
}

void ChannelReceiver::Stop() {
  if (!impl_ || !impl_->acceptor || impl_->stopping.exchange(true)) return;
  beast::error_code ec;
  // Wake the blocked accept() with a connection of our own (it sees `stopping` and returns),
  // then close the acceptor: closing a socket does not wake an accept() in another thread.
  {
    tcp::socket s(impl_->io);
    s.connect(impl_->acceptor->local_endpoint(ec), ec);
  }
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  impl_->acceptor->close(ec);
  {
    std::lock_guard<std::mutex> l(impl_->conns_mu);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& t : impl_->threads)
    if (t.joinable()) t.join();
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->persist();
}

json ChannelReceiver::best() const {
  std::lock_guard<std::mutex> l(impl_->mu);
  return impl_->state.to_json();
}

// ---- payer ----

json PaySummary::to_json(bool tickets) const {
  return json{{"mode", tickets ? "ticket" : "voucher"},
              {"units", units},
              {"paid", std::to_string(paid)},
              {"total", std::to_string(total)},
              {"nonce", std::to_string(nonce)},
              {"bytes_received", bytes},
              {"elapsed_s", elapsed_s},
              {"units_per_s", elapsed_s > 0 ? static_cast<double>(units) / elapsed_s : 0.0}};
}

Result<PaySummary> PayOverStream(const crypto::KeyPair& key, const PayOptions& o) {
  // ws://host:port/path
  const std::string pre = "ws://";
  if (o.url.rfind(pre, 0) != 0) return StreamErr("--url must start with ws://, got '" + o.url + "'");
  const std::string rest = o.url.substr(pre.size());
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return StreamErr("--url has no path: '" + o.url + "'");
  std::string host, port;
  if (!SplitHostPort(rest.substr(0, slash), host, port)) return StreamErr("--url: expected ws://HOST:PORT/...");
  const std::string path = rest.substr(slash);
  const std::string suffix = "/stream";
  if (path.size() < suffix.size() || path.compare(path.size() - suffix.size(), suffix.size(), suffix) != 0)
    return StreamErr("--url path must end in /stream, got '" + path + "'");
  const std::string best_path = path.substr(0, path.size() - suffix.size()) + "/best";
  if (o.unit_price == 0) return StreamErr("--unit-price must be positive");
  if (o.units == 0) return StreamErr("--units must be positive");
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    const auto eps = resolver.resolve(host, port);
    // 1. The receiver's best proof, checked against our own key.
    uint64_t nonce = 0, proven = 0;
    {
      tcp::socket s(io);
      asio::connect(s, eps);
      http::request<http::empty_body> req{http::verb::get, best_path, 11};
      req.set(http::field::host, host);
      http::write(s, req);
      beast::flat_buffer b;
      http::response<http::string_body> res;
      http::read(s, b, res);
      if (res.result() != http::status::ok)
        return StreamErr("GET " + best_path + ": HTTP " + std::to_string(res.result_int()) + " " + res.body());
      auto j = json::parse(res.body(), nullptr, false);
      if (j.is_discarded()) return StreamErr("GET " + best_path + ": not JSON");
      if (j.contains("voucher")) {
        DEPAI_ASSIGN_OR_RETURN(auto v, VoucherFromJson(j["voucher"]));
        if (auto st = VerifyVoucher(key.pubkey, o.chain_id, o.channel_id, v); !st.ok())
          return StreamErr("the receiver's best voucher is not ours: " + st.error().message);
        nonce = v.nonce();
        const uint64_t units = std::stoull(j.value("ticket_units", std::string("0")));
        if (units > 0) {
          HashChain chain(HashChain::SeedFor(key, o.channel_id, v.nonce()), v.max_units());
          auto head = HexDecode(j.value("ticket_head", std::string()));
          if (!head || chain.root() != v.ticket_root() || chain.at(units) != *head)
            return StreamErr("the receiver's ticket head is not on our hash chain");
        }
        DEPAI_ASSIGN_OR_RETURN(proven, x::channel::ProvenTotal(v.amount(), units, v.unit_price()));
      }
    }
    // 2. The stream.
    tcp::socket sock(io);
    asio::connect(sock, eps);
    sock.set_option(tcp::no_delay(true));
    websocket::stream<tcp::socket> ws(std::move(sock));
    ws.handshake(host + ":" + port, path);
    ws.binary(true);
    PaySummary sum;
    beast::flat_buffer in;
    auto exchange = [&](const std::string& frame) -> Status {
      ws.write(asio::buffer(frame));
      in.clear();
      ws.read(in);
      const auto d = in.cdata();
      std::string_view a(static_cast<const char*>(d.data()), d.size());
      if (a.empty()) return StreamErr("empty answer frame");
      if (static_cast<uint8_t>(a[0]) == static_cast<uint8_t>(FrameKind::kError))
        return StreamErr("payment refused by the receiver: " + std::string(a.substr(1)));
      sum.bytes += a.size() - 1;
      return {};
    };
    const auto t0 = std::chrono::steady_clock::now();
    if (!o.tickets) {
      for (uint64_t i = 1; i <= o.units; ++i) {
        VoucherFields f{o.channel_id, proven + i * o.unit_price, nonce + i, {}, 0, 0};
        DEPAI_ASSIGN_OR_RETURN(auto v, SignVoucher(key, o.chain_id, f));
        if (auto st = exchange(EncodeVoucherFrame(v)); !st.ok()) return st.error();
        sum.units = i;
      }
      sum.nonce = nonce + o.units;
    } else {
      HashChain chain(HashChain::SeedFor(key, o.channel_id, nonce + 1), o.units);
      VoucherFields f{o.channel_id, proven, nonce + 1, chain.root(), o.unit_price, o.units};
      DEPAI_ASSIGN_OR_RETURN(auto v, SignVoucher(key, o.chain_id, f));
      if (auto st = exchange(EncodeVoucherFrame(v)); !st.ok()) return st.error();
      for (uint64_t k = 1; k <= o.units; ++k) {
        if (auto st = exchange(EncodeTicketFrame(k, chain.at(k))); !st.ok()) return st.error();
        sum.units = k;
      }
      sum.nonce = nonce + 1;
    }
    sum.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sum.paid = o.units * o.unit_price;
    sum.total = proven + sum.paid;
    beast::error_code ec;
    ws.close(websocket::close_code::normal, ec);
    return sum;
  } catch (const std::exception& e) {
    return StreamErr(std::string("stream ") + o.url + ": " + e.what());
  }
}

}  // namespace depai::client
