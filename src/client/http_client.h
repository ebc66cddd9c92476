// A small synchronous HTTP/1.1 client (Boost.Beast) for the depai API. One request per call,
// with a timeout. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>

#include "util/result.h"

namespace depai::client {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// url: "http://host:port" (path appended). Errors (codespace "client"): bad URL, connection
// refused, timeout — with the URL in the message.
Result<HttpResponse> HttpRequest(const std::string& base_url, const std::string& method, const std::string& path,
                                 const std::string& body = "", int timeout_ms = 40000);

// A persistent HTTP/1.1 keep-alive connection to one server, reconnecting once when the server
// closed it. For clients that send many requests (load generators, daemons). Not thread-safe:
// one per thread.
class HttpConnection {
 public:
  explicit HttpConnection(std::string base_url, int timeout_ms = 10000);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  Result<HttpResponse> Request(const std::string& method, const std::string& path, const std::string& body = "");

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depai::client
