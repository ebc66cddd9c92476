// Stable result codes. (codespace, code) pairs are part of the chain's public interface:
// never renumber or reuse one. Code 0 is success. Invalid transactions are *results* recorded
// on chain; faults inside the node are not codes here (they stop the node).
#pragma once

#include <cstdint>
#include <string>

#include "util/result.h"

namespace depai::x {

inline constexpr const char* kRootCodespace = "sdk";

// Root codespace: envelope, ante handler and generic failures.
enum RootCode : uint32_t {
  kErrInternal = 1,
  kErrTxDecode = 2,
  kErrInvalidSequence = 3,
  kErrUnauthorized = 4,  // bad signature, wrong chain-id or account number
  kErrInsufficientFunds = 5,
  kErrUnknownRequest = 6,  // unknown message type or query path
  kErrInvalidAddress = 7,
  kErrInvalidPubKey = 8,
  kErrUnknownAddress = 9,
  kErrInvalidCoins = 10,
  kErrOutOfGas = 11,
  kErrMemoTooLarge = 12,
  kErrInsufficientFee = 13,
  kErrTooManySignatures = 14,
  kErrNoSignatures = 15,
  kErrInvalidRequest = 18,
  kErrTxTooLarge = 21,
  kErrInvalidGasLimit = 22,
  kErrTxTimeoutHeight = 23,
  kErrWrongSigner = 24,
  kErrMempoolFull = 20,
  kErrTxInMempool = 19,
  kErrInvalidGenesis = 26,
  kErrOverflow = 27,
};

inline Error RootErr(RootCode c, std::string msg) { return Error{kRootCodespace, c, std::move(msg)}; }

}  // namespace depai::x
