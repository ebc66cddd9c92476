// http::Server and client::HttpRequest against each other on 127.0.0.1: whole and streamed
// responses, keep-alive, body and header limits, the header deadline (closed unanswered) while other clients are
// served, the per-address cap, and Stop with a stream in progress.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <thread>

#include "client/http_client.h"
#include "http/server.h"

using namespace depai;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Fixture {
  explicit Fixture(http::Limits l = {}) {
    http::Options o;
    o.name = "test";
    o.limits = l;
    server = std::make_unique<http::Server>("127.0.0.1:0", o, [this](const http::Request& r, http::ResponseWriter& w) {
      if (r.target == "/echo") {
        w.Send(200, r.method + " " + r.body + " " + r.header("x-test"), "text/plain");
      } else if (r.target == "/stream") {
        w.Begin(200, {{"Content-Type", "text/plain"}});
        for (int i = 0; i < 3; ++i) w.Write("chunk" + std::to_string(i) + ";");
        w.End();
      } else if (r.target == "/forever") {
        w.Begin(200, {});
        while (w.open() && w.Write("x")) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        stream_ended = true;
      } else if (r.target == "/throw") {
        throw std::runtime_error("boom");
      }
      // anything else: no answer -> 500
    });
    EXPECT_TRUE(server->Start().ok());
    url = "http://127.0.0.1:" + std::to_string(server->port());
  }
  std::atomic<bool> stream_ended{false};
  std::string url;
  std::unique_ptr<http::Server> server;  // last: stopped before the members its handler uses
};

// Raw socket from a given loopback address; returns the bytes until the server closes (or timeout).
std::string ReadAll(tcp::socket& s, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST(HttpServer, WholeAndStreamedResponses) {
  Fixture f;
  client::HttpOptions o;
  o.headers = {{"X-Test", "hdr"}};
  auto r = client::HttpRequest(f.url, "PUT", "/echo", "body", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT body hdr");
  EXPECT_EQ(r->headers["Server"], "test");

  std::string got;
  o.sink = [&](std::string_view d) { got += d; };
  r = client::HttpRequest(f.url, "GET", "/stream", "", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(got, "chunk0;chunk1;chunk2;");
  EXPECT_EQ(r->headers["Transfer-Encoding"], "chunked");

  r = client::HttpRequest(f.url, "GET", "/nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  r = client::HttpRequest(f.url, "GET", "/throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("boom"), std::string::npos);

  client::HttpConnection conn(f.url);  // keep-alive: several requests on one connection
  for (int i = 0; i < 5; ++i) {
    auto k = conn.Request("POST", "/echo", std::to_string(i));
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(k->body, "POST " + std::to_string(i) + " ");
  }
}

TEST(HttpServer, LimitsAndHeaderDeadline) {
  http::Limits l;
  l.max_body_bytes = 100;
  l.max_header_bytes = 1024;
  l.header_timeout_ms = 500;
  l.max_per_client = 4;
  Fixture f(l);
  auto r = client::HttpRequest(f.url, "POST", "/echo", std::string(200, 'a'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 413);
  client::HttpOptions o;
  o.headers = {{"X-Big", std::string(2000, 'b')}};
  r = client::HttpRequest(f.url, "GET", "/echo", "", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 431);

  asio::io_context io;
  // A half-open connection from 127.0.0.2 does not delay a request from 127.0.0.1 and is closed
  // at the header deadline without an answer.
  tcp::socket half(io);
  half.open(tcp::v4());
  half.bind(tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  half.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.server->port()));
  asio::write(half, asio::buffer(std::string("GET /echo HTTP/1.1\r\nHost: x\r\n")));
  auto t0 = std::chrono::steady_clock::now();
  r = client::HttpRequest(f.url, "GET", "/echo", "", 2000);
  ASSERT_TRUE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
  auto t1 = std::chrono::steady_clock::now();
  std::string answer = ReadAll(half, 3000);
  EXPECT_EQ(answer, "");
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(2000));

  // At most 4 connections from 127.0.0.3: the others are closed at once.
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (int i = 0; i < 7; ++i) {
    auto s = std::make_unique<tcp::socket>(io);
    s->open(tcp::v4());
    s->bind(tcp::endpoint(asio::ip::make_address("127.0.0.3"), 0));
    s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.server->port()));
    socks.push_back(std::move(s));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int closed = 0;
  for (auto& s : socks) {
    char c;
    ssize_t n = ::recv(s->native_handle(), &c, 1, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) ++closed;
  }
  EXPECT_EQ(closed, 3);
}

TEST(HttpServer, StopEndsStreamsAndJoins) {
  Fixture f;
  std::thread reader([&] {
    client::HttpOptions o;
    o.sink = [](std::string_view) {};
    o.timeout_ms = 10000;
    (void)client::HttpRequest(f.url, "GET", "/forever", "", o);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GE(f.server->connections(), 1);
  auto t0 = std::chrono::steady_clock::now();
  f.server->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  EXPECT_TRUE(f.stream_ended);
  reader.join();
  EXPECT_FALSE(client::HttpRequest(f.url, "GET", "/echo", "", 1000).ok());
}
