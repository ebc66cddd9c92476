// ABCI 2.0 socket server: lets a CometBFT node drive the App over a unix socket or TCP.
//
// CometBFT opens four connections (consensus, mempool, query, snapshot). Each connection gets a
// thread that reads delimited requests, handles them in order and writes each response before
// reading the next request's answer, so responses go out strictly in order and a Flush is
// answered only after every earlier response is on the wire. All App calls are serialised by
// one mutex shared with anything else that touches the App (e.g. the HTTP API).
// A node fault (FinalizeBlock/Commit returning an Error) is answered with an Exception and
// reported through on_fault; the caller must stop the process. Snapshot calls answer empty.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "abci/sig_cache.h"
#include "app/app.h"
#include "tendermint/abci/types.pb.h"
#include "util/result.h"

namespace depai::abci {

// Handles one request against the App (caller holds no lock; Handle takes app_mu).
class Handler {
 public:
  // With `sigs`, a new tx's signature is verified outside the App mutex and remembered, so the
  // App (CheckTx, then FinalizeBlock) finds it already checked; see abci/sig_cache.h.
  Handler(app::App& app, std::mutex& app_mu, VerifiedSigs* sigs = nullptr) : app_(app), mu_(app_mu), sigs_(sigs) {}
  // Returns false in `ok` when the App reported a fault.
  ::tendermint::abci::Response Handle(const ::tendermint::abci::Request& req, bool* fault);

 private:
  app::App& app_;
  std::mutex& mu_;
  VerifiedSigs* sigs_;
};

class Server {
 public:
  // addr: "unix:///path/to.sock" or "tcp://127.0.0.1:26658".
  Server(app::App& app, std::mutex& app_mu, std::string addr);
  ~Server();
  Status Start();
  void Stop();
  void set_on_fault(std::function<void(const std::string&)> f) { on_fault_ = std::move(f); }
  const std::string& addr() const { return addr_; }

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string addr_;
  std::function<void(const std::string&)> on_fault_;
};

}  // namespace depai::abci
