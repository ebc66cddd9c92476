// A small synchronous HTTP/1.1 client (Boost.Beast) for the depai API. One request per call,
// with a timeout. Thread-safe (no shared state).
#pragma once

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

}  // namespace depai::client
