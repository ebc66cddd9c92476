// HTTP JSON API of a node (Boost.Beast) over a Backend (devnet or CometBFT node), on 127.0.0.1:1317 by default. Routes:
// see doc/api.md. Errors are JSON {code, codespace, message} with a 4xx/5xx status (codes: api/errors.h).
// Served by the shared http::Server (src/http: async I/O, connection caps, header/body/idle/write
// deadlines; limits in doc/api.md). Start() binds and returns; Stop() closes everything and joins.
// Thread-safety: Start/Stop from one thread; Route is called concurrently (the Backend is thread-safe).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/backend.h"
#include "http/server.h"
#include "util/result.h"

namespace depai::api {

class Server {
 public:
  Server(Backend& node, std::string addr);  // addr "127.0.0.1:1317", the default limits (doc/api.md)
  Server(Backend& node, std::string addr, http::Limits limits);
  ~Server();
  Status Start();
  void Stop();
  uint16_t port() const;

 private:
  std::unique_ptr<http::Server> server_;
};

// What Route answers: an HTTP status, a JSON body (Content-Type application/json), and the extra
// response headers the connection code must send with it (e.g. Allow on a 405).
struct RouteReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Routes one request; exposed for tests. `target` is the request target as sent (path and query,
// still percent-encoded). Never throws for bad input: that is a 4xx JSON error.
RouteReply Route(Backend& node, const std::string& method, const std::string& target, const std::string& body);

// The methods a path of the API answers ("GET", or "POST" for /txs), as the Allow header lists
// them; "" for a path the API does not have (404).
std::string AllowedMethods(const std::string& path);

}  // namespace depai::api
