// Backend: what the HTTP API needs from a node. Two implementations:
//   DevnetBackend  the single-process devnet (its own mempool and block store);
//   CometBackend   a `depai node` under CometBFT: queries and tx decoding from the in-process App's
//                  committed state (under the ABCI server's App mutex), transactions, blocks and
//                  results through the local CometBFT RPC.
// Thread-safety: every method may be called from any API thread.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/app.h"
#include "devnet/block_store.h"
#include "devnet/node.h"

namespace depai::api {

class Backend {
 public:
  virtual ~Backend() = default;
  // Mempool admission (CheckTx). code != 0 means rejected; `hash_out` gets the tx hash.
  virtual app::ResponseCheckTx Broadcast(const Bytes& tx, std::string* hash_out) = 0;
  // Waits until `hash` is in a committed block, up to timeout_ms.
  virtual std::optional<devnet::TxLocation> WaitForTx(const std::string& hash, int64_t timeout_ms) = 0;
  virtual app::ResponseQuery Query(const std::string& path) = 0;
  virtual devnet::NodeStatus Status() = 0;
  virtual std::optional<devnet::StoredBlock> Block(int64_t height) = 0;
  virtual std::optional<devnet::TxLocation> FindTx(const std::string& hash_hex_upper) = 0;
  virtual std::string TxJson(const Bytes& tx) = 0;
};

class DevnetBackend : public Backend {
 public:
  explicit DevnetBackend(devnet::Node& node) : node_(node) {}
  app::ResponseCheckTx Broadcast(const Bytes& tx, std::string* hash_out) override {
    return node_.Broadcast(tx, hash_out);
  }
  std::optional<devnet::TxLocation> WaitForTx(const std::string& hash, int64_t timeout_ms) override {
    return node_.WaitForTx(hash, timeout_ms);
  }
  app::ResponseQuery Query(const std::string& path) override { return node_.Query(path); }
  devnet::NodeStatus Status() override { return node_.Status(); }
  std::optional<devnet::StoredBlock> Block(int64_t height) override { return node_.Block(height); }
  std::optional<devnet::TxLocation> FindTx(const std::string& hash) override { return node_.FindTx(hash); }
  std::string TxJson(const Bytes& tx) override { return node_.TxJson(tx); }

 private:
  devnet::Node& node_;
};

class CometBackend : public Backend {
 public:
  // `rpc`: the local CometBFT RPC URL, e.g. http://127.0.0.1:26657. `app_mu` is the mutex the
  // ABCI server holds around every App call.
  CometBackend(app::App& app, std::mutex& app_mu, std::string rpc) : app_(app), mu_(app_mu), rpc_(std::move(rpc)) {}
  app::ResponseCheckTx Broadcast(const Bytes& tx, std::string* hash_out) override;
  std::optional<devnet::TxLocation> WaitForTx(const std::string& hash, int64_t timeout_ms) override;
  app::ResponseQuery Query(const std::string& path) override;
  devnet::NodeStatus Status() override;
  std::optional<devnet::StoredBlock> Block(int64_t height) override;
  std::optional<devnet::TxLocation> FindTx(const std::string& hash) override;
  std::string TxJson(const Bytes& tx) override;

 private:
  app::App& app_;
  std::mutex& mu_;
  std::string rpc_;
};

}  // namespace depai::api
