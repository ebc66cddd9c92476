// The provider daemon's HTTP endpoint, on the shared http::Server (src/http: async I/O, caps on
// connections in all and per client address, header/body/idle/write deadlines; the limits are
// DefaultLimits() below and doc/provider-operations.md).
// Routes (errors are JSON {code, codespace, message}):
//   GET  /health
//   GET  /verify/v1/challenges/{id}/rows/{i}   a compute challenge's row opening (x/verify)
//   POST /v1/leases/{id}/manifest          {manifest, owner, pubkey, signature}
//   GET  /v1/leases/{id}                   status
//   GET  /v1/leases/{id}/logs              ?service=&stream=stdout|stderr&follow=1 (chunked)
//   GET  /v1/leases/{id}/results           artifacts with sha256
//   GET  /v1/leases/{id}/results/{name}    one artifact (X-Depai-Sha256 header)
//   ANY  /v1/leases/{id}/services/{service}/{port}/{path}   forwarded to an exposed port inside
//                                          the lease's sandbox; the buyer's X-Depai-* headers stay here
// The GET /v1/leases routes and /services need the owner's X-Depai-* read signature (doc/deploy-spec.md).
// Thread-safety: Start/Stop from one thread; requests run on the server's worker threads.
#pragma once

#include <memory>
#include <string>

#include "http/server.h"
#include "util/result.h"

namespace depai::provider {

class Handlers;

class Endpoint {
 public:
  Endpoint(Handlers& d, std::string listen);  // "127.0.0.1:8443", DefaultLimits()
  Endpoint(Handlers& d, std::string listen, http::Limits limits);
  static http::Limits DefaultLimits();
  ~Endpoint();
  Status Start();
  void Stop();
  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace depai::provider
