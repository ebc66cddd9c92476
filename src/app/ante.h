// The transaction pipeline: stateless checks, the ante handler (signature, sequence, fee, gas
// and size limits) and message execution, each under its own savepoint of the caller's branch.
//
// RunTx: every rejection of a bad transaction is an ExecTxResult with a stable (codespace, code).
// State changes: on an ante failure nothing is written; on a message failure only the ante
// effects (fee paid, sequence incremented) are written; on success everything. A fault
// (x/types/errors.h: a record that does not decode, an invariant break, a storage failure) is
// never a result: RunTx returns it as its Error, writes nothing, and the caller halts the node.
// Not thread-safe; deterministic given (state, tx bytes, header).
#pragma once

#include <map>

#include "app/abci_types.h"
#include "app/app.h"
#include "x/auth/keeper.h"
#include "x/bank/keeper.h"
#include "x/types/module.h"
#include "x/types/tx.h"
#include "x/wallet/keeper.h"

namespace depai::app {

// kRecheck: CheckTx of a tx already admitted to the mempool, re-run after a block. Its signature
// was verified on admission and its sign bytes (chain-id, account number, body) cannot have
// changed, so the signature check is skipped (as the Cosmos SDK does); everything else runs.
enum class ExecMode { kCheck, kRecheck, kDeliver };

struct TxPipeline {
  const x::auth::Keeper* auth = nullptr;
  const x::bank::Keeper* bank = nullptr;
  const std::map<std::string, x::MsgRoute, std::less<>>* routes = nullptr;
  const SigCache* sig_cache = nullptr;
  // x/wallet: enforces an agent wallet's policy on the txs its session keys sign
  // (SignerInfo.wallet). Null: such txs are refused.
  const x::wallet::Keeper* wallet = nullptr;

  // Runs `tx` against `state`; writes the tx's effects into `state` as described above.
  Result<ExecTxResult> RunTx(ExecMode mode, std::string_view tx, store::CacheStore& state, const x::BlockHeader& header,
                             Bytes* sender = nullptr, uint64_t* sequence = nullptr) const;

  // Decodes and validates every message of a decoded tx with its route, once.
  using DecodedMsgs = std::vector<std::pair<const x::MsgRoute*, std::unique_ptr<x::AnyParsed>>>;
  Result<DecodedMsgs> DecodeMsgs(const x::DecodedTx& tx) const;
};

}  // namespace depai::app
