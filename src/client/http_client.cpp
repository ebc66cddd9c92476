#include "client/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace depai::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {
struct UrlParts {
  std::string host, port;
};
Result<UrlParts> SplitUrl(const std::string& base_url) {
  std::string rest = base_url;
  if (rest.rfind("http://", 0) != 0)
    return Error{"client", 1, "node URL must start with http://, got '" + base_url + "'"};
  rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  UrlParts u{colon == std::string::npos ? rest : rest.substr(0, colon),
             colon == std::string::npos ? "80" : rest.substr(colon + 1)};
  if (u.host.empty() || u.port.empty()) return Error{"client", 1, "bad node URL '" + base_url + "'"};
  return u;
}
}  // namespace

class HttpConnection::Impl {
 public:
  std::string url;
  UrlParts parts;
  int timeout_ms;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buf;

  void Connect() {
    asio::ip::tcp::resolver resolver(io);
    stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    stream->connect(resolver.resolve(parts.host, parts.port));
    buf.clear();
  }

  HttpResponse Once(const std::string& method, const std::string& path, const std::string& body) {
    if (!stream) Connect();
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    http::request<http::string_body> req{method == "POST" ? http::verb::post : http::verb::get, path, 11};
    req.set(http::field::host, parts.host);
    req.set(http::field::user_agent, "depai");
    req.keep_alive(true);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(*stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(*stream, buf, parser);
    if (!parser.get().keep_alive()) stream.reset();
    return HttpResponse{static_cast<int>(parser.get().result_int()), parser.get().body()};
  }
};

HttpConnection::HttpConnection(std::string base_url, int timeout_ms) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(base_url);
  impl_->timeout_ms = timeout_ms;
}
HttpConnection::~HttpConnection() = default;

Result<HttpResponse> HttpConnection::Request(const std::string& method, const std::string& path,
                                             const std::string& body) {
  auto& I = *impl_;
  if (I.parts.host.empty()) {
    auto u = SplitUrl(I.url);
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
      std::string why = e.code() == beast::error::timeout ? "timed out" : e.code().message();
      return Error{"client", 2, "cannot reach node at " + I.url + ": " + why};
    }
  }
}

Result<HttpResponse> HttpRequest(const std::string& base_url, const std::string& method, const std::string& path,
                                 const std::string& body, int timeout_ms) {
  std::string rest = base_url;
  if (rest.rfind("http://", 0) != 0)
    return Error{"client", 1, "node URL must start with http://, got '" + base_url + "'"};
  rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  auto colon = rest.rfind(':');
  std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
  std::string port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  if (host.empty() || port.empty()) return Error{"client", 1, "bad node URL '" + base_url + "'"};
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    auto results = resolver.resolve(host, port);
    stream.connect(results);
    http::request<http::string_body> req{method == "POST" ? http::verb::post : http::verb::get, path, 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "depai-cli");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buf, parser);
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return HttpResponse{static_cast<int>(parser.get().result_int()), parser.get().body()};
  } catch (const boost::system::system_error& e) {
    std::string why = e.code() == beast::error::timeout ? "timed out" : e.code().message();
    return Error{"client", 2, "cannot reach node at " + base_url + ": " + why};
  }
}

}  // namespace depai::client
