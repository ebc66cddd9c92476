#include "client/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace depai::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

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
