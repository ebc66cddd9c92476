// The one HTTP/1.1 client of depai (Boost.Beast), used by the CLI (node API, provider endpoint,
// CometBFT RPC), the provider daemon's chain client and the load generator. One request per call
// with a deadline over the whole exchange, any method, extra headers, and streaming: a sink gets a
// 200 response's body as it arrives (logs?follow=1). Thread-safe (no shared state);
// HttpConnection is one connection, for one thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace depai::client {

struct HttpResponse {
  int status = 0;
  std::string body;  // empty when a sink took it
  std::map<std::string, std::string> headers;
};

struct HttpOptions {
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  int timeout_ms = 40000;                                    // the whole request and response
  // When set, the body of a 200 response goes here piece by piece (other statuses are buffered).
  std::function<void(std::string_view)> sink;
  std::string what = "node";  // in error messages: "cannot reach <what> at <url>: ..."
};

// url: "http://host:port" (path appended). Errors (codespace "client"): 1 bad URL, 2 connection
// refused, reset or timed out — with the URL in the message.
Result<HttpResponse> HttpRequest(const std::string& base_url, const std::string& method, const std::string& path,
                                 const std::string& body, const HttpOptions& opts);
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
