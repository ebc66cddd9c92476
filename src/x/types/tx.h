// Transaction codec: decode TxRaw bytes, build sign bytes, hash. Shared by the ante handler and
// the client so both sides sign/verify exactly the same bytes. Pure functions, thread-safe.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "depai/tx/v1/tx.pb.h"
#include "util/amount.h"
#include "util/bytes.h"
#include "util/result.h"

namespace depai::x {

inline constexpr size_t kMaxMsgsPerTx = 64;

struct DecodedTx {
  depai::tx::v1::TxRaw raw;
  depai::tx::v1::TxBody body;
  depai::tx::v1::AuthInfo auth_info;
  Coins fee;
};

// Decodes and checks the envelope shape (one signer, one signature, 1..kMaxMsgsPerTx msgs,
// valid fee coins). Errors are root ErrTxDecode / ErrInvalidCoins / ErrNoSignatures ...
Result<DecodedTx> DecodeTx(std::string_view bytes);

// True when `m` or any nested message carries fields this schema does not know.
bool HasUnknownFields(const google::protobuf::Message& m);

// The exact bytes a signer signs (deterministic SignDoc encoding).
Bytes SignBytes(std::string_view body_bytes, std::string_view auth_info_bytes, std::string_view chain_id,
                uint64_t account_number);

// Upper-case hex SHA-256 of the raw tx bytes, as CometBFT prints tx hashes.
std::string TxHash(std::string_view tx_bytes);

}  // namespace depai::x
