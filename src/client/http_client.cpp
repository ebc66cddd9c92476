#include "client/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>

namespace depai::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr uint64_t kMaxBufferedBody = 64ull * 1024 * 1024;

struct UrlParts {
  std::string host, port;
};

Result<UrlParts> SplitUrl(const std::string& base_url, const std::string& what) {
  std::string rest = base_url;
  if (rest.rfind("http://", 0) != 0)
    return Error{"client", 1,
                 what + " URL must start with http:// (https is not supported yet), got '" + base_url + "'"};
  rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  UrlParts u{colon == std::string::npos ? rest : rest.substr(0, colon),
             colon == std::string::npos ? "80" : rest.substr(colon + 1)};
  if (u.host.empty() || u.port.empty()) return Error{"client", 1, "bad " + what + " URL '" + base_url + "'"};
  return u;
}

http::request<http::string_body> MakeRequest(const UrlParts& u, const std::string& method, const std::string& path,
                                             const std::string& body, const HttpOptions& o, bool keep_alive) {
  http::request<http::string_body> req{http::string_to_verb(method), path, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);
  req.set(http::field::host, u.host);
  req.set(http::field::user_agent, "depai");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : o.headers) req.set(k, v);
  req.keep_alive(keep_alive);
  req.body() = body;
  req.prepare_payload();
  return req;
}

// Reads one response from `stream`; a 200 body goes to o.sink when set. Throws system_error.
HttpResponse ReadResponse(beast::tcp_stream& stream, beast::flat_buffer& buf, const HttpOptions& o, bool head,
                          bool* keep_alive) {
  http::response_parser<http::buffer_body> p;
  p.body_limit(o.sink ? std::numeric_limits<uint64_t>::max() : kMaxBufferedBody);
  if (head) p.skip(true);
  http::read_header(stream, buf, p);
  HttpResponse out;
  out.status = static_cast<int>(p.get().result_int());
  for (const auto& f : p.get()) out.headers[std::string(f.name_string())] = std::string(f.value());
  bool to_sink = o.sink && out.status == 200;
  char chunk[16384];
  while (!p.is_done()) {
    p.get().body().data = chunk;
    p.get().body().size = sizeof chunk;
    beast::error_code ec;
    http::read(stream, buf, p, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw beast::system_error{ec};
    size_t n = sizeof chunk - p.get().body().size;
    if (to_sink)
      o.sink(std::string_view(chunk, n));
    else if (out.body.size() + n > kMaxBufferedBody)
      throw beast::system_error{http::error::body_limit};
    else
      out.body.append(chunk, n);
  }
  *keep_alive = p.get().keep_alive();
  return out;
}

std::string Why(const boost::system::system_error& e) {
  return e.code() == beast::error::timeout ? "timed out" : e.code().message();
}

}  // namespace

// One request on its own connection, asynchronously, so that the stream's deadline covers the
// whole exchange (beast's tcp_stream deadlines apply to asynchronous operations only: a
// synchronous read from a server that accepts and never answers would wait forever).
Result<HttpResponse> HttpRequest(const std::string& base_url, const std::string& method, const std::string& path,
                                 const std::string& body, const HttpOptions& o) {
  auto u = SplitUrl(base_url, o.what);
  if (!u.ok()) return u.error();
  auto fail_with = [&](const boost::system::system_error& e) -> Error {
    return Error{"client", 2, "cannot reach " + o.what + " at " + base_url + ": " + Why(e)};
  };
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    auto endpoints = resolver.resolve(u->host, u->port);
    auto req = MakeRequest(*u, method, path, body, o, false);
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> p;
    p.body_limit(o.sink ? std::numeric_limits<uint64_t>::max() : kMaxBufferedBody);
    if (req.method() == http::verb::head) p.skip(true);
    HttpResponse out;
    bool to_sink = false;
    beast::error_code result;
    char chunk[16384];
    std::function<void()> read_more = [&]() {
      if (p.is_done()) return;
      p.get().body().data = chunk;
      p.get().body().size = sizeof chunk;
      http::async_read(stream, buf, p, [&](beast::error_code ec, size_t) {
        if (ec == http::error::need_buffer) ec = {};
        if (ec) {
          result = ec;
          return;
        }
        size_t n = sizeof chunk - p.get().body().size;
        if (to_sink) {
          o.sink(std::string_view(chunk, n));
        } else if (out.body.size() + n > kMaxBufferedBody) {
          result = http::error::body_limit;
          return;
        } else {
          out.body.append(chunk, n);
        }
        read_more();
      });
    };
    stream.expires_after(std::chrono::milliseconds(o.timeout_ms));
    stream.async_connect(endpoints, [&](beast::error_code ec, const asio::ip::tcp::endpoint&) {
      if (ec) {
        result = ec;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec, size_t) {
        if (ec) {
          result = ec;
          return;
        }
        http::async_read_header(stream, buf, p, [&](beast::error_code ec, size_t) {
          if (ec) {
            result = ec;
            return;
          }
          out.status = static_cast<int>(p.get().result_int());
          for (const auto& f : p.get()) out.headers[std::string(f.name_string())] = std::string(f.value());
          to_sink = o.sink && out.status == 200;
          read_more();
        });
      });
    });
    io.run();
    if (result) return fail_with(beast::system_error{result});
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  } catch (const boost::system::system_error& e) {
    return fail_with(e);
  }
}

Result<HttpResponse> HttpRequest(const std::string& base_url, const std::string& method, const std::string& path,
                                 const std::string& body, int timeout_ms) {
  HttpOptions o;
  o.timeout_ms = timeout_ms;
  return HttpRequest(base_url, method, path, body, o);
}

class HttpConnection::Impl {
 public:
  std::string url;
  UrlParts parts;
  HttpOptions opts;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buf;

  void Connect() {
    asio::ip::tcp::resolver resolver(io);
    stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(std::chrono::milliseconds(opts.timeout_ms));
    stream->connect(resolver.resolve(parts.host, parts.port));
    buf.clear();
  }

  HttpResponse Once(const std::string& method, const std::string& path, const std::string& body) {
    if (!stream) Connect();
    stream->expires_after(std::chrono::milliseconds(opts.timeout_ms));
    auto req = MakeRequest(parts, method, path, body, opts, true);
    http::write(*stream, req);
    bool keep = false;
    auto out = ReadResponse(*stream, buf, opts, req.method() == http::verb::head, &keep);
    if (!keep) stream.reset();
    return out;
  }
};

HttpConnection::HttpConnection(std::string base_url, int timeout_ms) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(base_url);
  impl_->opts.timeout_ms = timeout_ms;
}
HttpConnection::~HttpConnection() = default;

Result<HttpResponse> HttpConnection::Request(const std::string& method, const std::string& path,
                                             const std::string& body) {
  auto& I = *impl_;
  if (I.parts.host.empty()) {
    auto u = SplitUrl(I.url, I.opts.what);
    if (!u.ok()) return u.error();
    I.parts = u.value();
  }
  for (int attempt = 0;; ++attempt) {
    bool fresh = !I.stream;
    try {
      return I.Once(method, path, body);
    } catch (const boost::system::system_error& e) {
      I.stream.reset();
      // A kept-alive connection the server closed fails on first use: retry once on a new one.
      if (!fresh && attempt == 0 && e.code() != beast::error::timeout) continue;
      return Error{"client", 2, "cannot reach " + I.opts.what + " at " + I.url + ": " + Why(e)};
    }
  }
}

}  // namespace depai::client
