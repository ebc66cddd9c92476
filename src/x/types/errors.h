// Stable result codes. (codespace, code) pairs are part of the chain's public interface:
// never renumber or reuse one. Code 0 is success. Invalid transactions are *results* recorded
// on chain.
//
// Faults are kept apart (rippled keeps its tef/tec ranges apart): an Error whose codespace is
// kFaultCodespace ("fault") is a fault inside the node, never a tx result. The tx pipeline and
// the block hooks turn any fault into a node halt (App::FinalizeBlock returns it; drivers stop),
// and no code path records one as a tx's code. Module codespaces never use the name "fault".
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

inline constexpr const char* kFaultCodespace = "fault";
enum FaultCode : uint32_t {
  kFaultCorruptRecord = 1,  // a stored record that does not decode
  kFaultInvariant = 2,      // an invariant broken by a block, a hook or genesis
  kFaultStorage = 3,        // the storage engine failed a read or write
  kFaultInternal = 4,       // a condition check said cannot happen (a bug)
};
inline Error Fault(FaultCode c, std::string msg) { return Error{kFaultCodespace, c, std::move(msg)}; }
inline bool IsFault(const Error& e) { return e.codespace == kFaultCodespace; }
inline bool IsFault(const Status& s) { return !s.ok() && IsFault(s.error()); }

}  // namespace depai::x
