// A small chain client for daemons: JSON GETs against a depai node's HTTP API (/q/..., /events,
// /status) and signing + broadcasting transactions (commit mode) with one key. Errors carry the
// node's {code, codespace, message}. Thread-safe: Broadcast serialises on a mutex (sequence numbers).
#pragma once

#include <google/protobuf/any.pb.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "util/amount.h"
#include "util/result.h"

namespace depai::provider {

class ChainClient {
 public:
  ChainClient(std::string node, crypto::KeyPair key, std::string chain_id, Coins fee, uint64_t gas);
  const std::string& address() const { return address_; }  // bech32 of the key
  const std::string& node() const { return node_; }
  // The chain id given at construction, else asked from /status (cached).
  Result<std::string> chain_id();
  // GET path -> JSON body (HTTP 200), else an Error with the API's message (status in `code` for
  // HTTP errors without a JSON body).
  Result<nlohmann::json> Get(const std::string& path) const;
  // Signs and broadcasts in commit mode; returns the node's answer. A tx rejected by CheckTx or
  // failing in its block is an Error with the chain's codespace, code and log.
  Result<nlohmann::json> Broadcast(const std::vector<google::protobuf::Any>& msgs, const std::string& memo = "");

 private:
  std::string node_;
  crypto::KeyPair key_;
  std::string address_;
  std::string chain_id_;
  Coins fee_;
  uint64_t gas_;
  std::mutex mu_;
};

}  // namespace depai::provider
