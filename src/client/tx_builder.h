// Building and signing transactions on the client side (CLI, daemons, loadgen, benchmarks).
// Pure functions; thread-safe.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "crypto/ed25519.h"
#include "util/amount.h"
#include "util/result.h"

namespace depai::client {

struct SignerData {
  std::string chain_id;
  uint64_t account_number = 0;
  uint64_t sequence = 0;
  // Non-empty (20 bytes): sign for this agent wallet (x/wallet) with `key` as a session key;
  // account_number and sequence are then the wallet account's.
  Bytes wallet{};
};

struct TxOptions {
  Coins fee;
  uint64_t gas_limit = 200000;
  std::string memo;
  uint64_t timeout_height = 0;
};

google::protobuf::Any PackMsgSend(const std::string& from, const std::string& to, const Coins& amount);

// Builds TxRaw bytes signed by `key` over the SignDoc for `signer`.
Bytes BuildSignedTx(const crypto::KeyPair& key, const SignerData& signer,
                    const std::vector<google::protobuf::Any>& msgs, const TxOptions& opts);

}  // namespace depai::client
