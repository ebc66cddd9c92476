// HTTP JSON API of a node (Boost.Beast) over a Backend (devnet or CometBFT node), on 127.0.0.1:1317 by default. Routes:
// see doc/api.md. Errors are JSON {code, codespace, message} with a 4xx/5xx status. One thread per connection
// (bounded), keep-alive supported. Start() binds and returns; Stop() closes everything.
#pragma once

#include <memory>
#include <string>

#include "api/backend.h"
#include "util/result.h"

namespace depai::api {

class Server {
 public:
  Server(Backend& node, std::string addr);  // addr "127.0.0.1:1317"
  ~Server();
  Status Start();
  void Stop();
  uint16_t port() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Routes one request; exposed for tests. Returns (status, JSON body).
std::pair<int, std::string> Route(Backend& node, const std::string& method, const std::string& target,
                                  const std::string& body);

}  // namespace depai::api
