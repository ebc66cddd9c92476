// The one HTTP/1.1 server of depai (Boost.Beast over asio), used by the node's JSON API (src/api)
// and the provider daemon's endpoint (src/provider). It holds under abuse:
//   - sockets are read and written asynchronously by a small pool of I/O threads, each connection
//     with its own timer, so an idle, half-open or trickling client costs a socket and a few KiB and
//     never blocks accept or the other connections;
//   - caps on connections in all and per client address; when the table is full the oldest
//     connection that has no request in a handler is closed to make room for the new one;
//   - deadlines for the request header, the body, an idle keep-alive wait and each write;
//   - limits on header and body bytes; one request in flight per connection (the next one is not
//     read before the response is written), so the work queued for one connection is bounded;
//   - handlers run on a bounded worker pool and may block (a commit-mode broadcast, a log follow).
// Limits: see Limits below and doc/api.md, doc/provider-operations.md.
// Thread-safety: Start/Stop from one thread. The handler is called concurrently from worker
// threads; a ResponseWriter belongs to the one handler call it is given to.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace depai::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Limits {
  int max_connections = 1024;         // open connections in all
  int max_per_client = 32;            // open connections from one client address
  int64_t header_timeout_ms = 10000;  // a new connection's whole request header
  int64_t body_timeout_ms = 10000;    // the whole body, once the header is in
  int64_t idle_timeout_ms = 10000;    // a kept-alive connection: the next header, complete
  int64_t write_timeout_ms = 10000;   // one write (a response, a header, one chunk)
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
  int io_threads = 2;     // asio threads reading and writing sockets
  int max_workers = 128;  // handler threads (started on demand)
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  unsigned version = 11;  // 10 or 11
  bool keep_alive = true;
  Headers headers;   // as received, in order
  std::string peer;  // the client's address
  // The first header called `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// Writes the response to one request: either Send (a whole response), or Begin, then Write any
// number of times, then End (a streamed body: chunked unless Begin was given its length). Every
// call returns false once the client is gone, a write timed out or the server is stopping; the
// handler should then return. A handler that writes nothing gets a 500.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual bool Send(int status, std::string body, std::string content_type = "application/json",
                    const Headers& headers = {}) = 0;
  virtual bool Begin(int status, const Headers& headers, int64_t content_length = -1) = 0;
  virtual bool Write(std::string_view data) = 0;
  virtual bool End() = 0;
  // False once the connection failed or the server is stopping (long streams poll it).
  virtual bool open() const = 0;
  // True once Send or Begin was called.
  virtual bool started() const = 0;
};

using Handler = std::function<void(const Request&, ResponseWriter&)>;

// The body of the errors the server answers by itself (408, 413, 431, 500, 503): the caller's
// JSON {code, codespace, message}.
using ErrorBody = std::function<std::string(int status, const std::string& message)>;

struct Options {
  std::string name = "depai";  // the Server header and log lines
  Limits limits;
  ErrorBody error_body;  // default: {"code": status, "codespace": "http", "message": ...}
};

class Server {
 public:
  Server(std::string addr, Options opts, Handler handler);  // addr "127.0.0.1:1317"
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Binds, listens and starts the threads. Raises the process's soft RLIMIT_NOFILE towards its
  // hard limit so the connection caps are reachable. Errors: codespace "http".
  Status Start();
  // Stops accepting, closes every connection, waits for the handlers to return, joins the threads.
  void Stop();
  uint16_t port() const;
  int connections() const;  // open connections now

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace depai::http
