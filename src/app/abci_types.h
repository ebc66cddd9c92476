// ABCI 2.0 request/response shapes (CometBFT v0.38), as plain C++ structs.
//
// The App speaks these; src/devnet drives them directly, and the ABCI socket server maps
// CometBFT's protobuf messages onto them field for field. Only the fields depai uses are here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "x/types/context.h"

namespace depai::app {

using x::Event;
using x::EventAttribute;

struct ValidatorUpdate {
  Bytes pub_key_ed25519;
  int64_t power = 0;
};

struct RequestInfo {
  std::string version;
};
struct ResponseInfo {
  std::string data = "depai";
  std::string version;
  uint64_t app_version = 1;
  int64_t last_block_height = 0;
  Bytes last_block_app_hash;
};

struct RequestInitChain {
  int64_t time_unix_ms = 0;
  std::string chain_id;
  int64_t initial_height = 1;
  std::string app_state_bytes;  // JSON: {"auth": {...}, "bank": {...}}
  std::vector<ValidatorUpdate> validators;
  // consensus_params.abci.vote_extensions_enable_height (0: vote extensions off).
  int64_t vote_extensions_enable_height = 0;
};
struct ResponseInitChain {
  std::vector<ValidatorUpdate> validators;
  Bytes app_hash;
};

enum class CheckTxType { kNew = 0, kRecheck = 1 };
struct RequestCheckTx {
  Bytes tx;
  CheckTxType type = CheckTxType::kNew;
};
struct ResponseCheckTx {
  uint32_t code = 0;
  Bytes data;
  std::string log;
  int64_t gas_wanted = 0;
  int64_t gas_used = 0;
  std::vector<Event> events;
  std::string codespace;
  // Not in ABCI: the signer and sequence, so a mempool can order by (sender, sequence).
  Bytes sender;
  uint64_t sequence = 0;
};

// One validator's precommit of the previous height with its vote extension (ExtendedVoteInfo).
struct ExtendedVoteInfo {
  Bytes validator_address;  // 20 bytes
  int64_t power = 0;
  Bytes vote_extension;
  Bytes extension_signature;
  int32_t block_id_flag = 0;  // tendermint.types.BlockIDFlag: 1 absent, 2 commit, 3 nil
};
struct ExtendedCommitInfo {
  int32_t round = 0;
  std::vector<ExtendedVoteInfo> votes;
};

struct RequestPrepareProposal {
  int64_t max_tx_bytes = 0;
  std::vector<Bytes> txs;
  int64_t height = 0;
  int64_t time_unix_ms = 0;
  Bytes proposer_address;
  ExtendedCommitInfo local_last_commit;  // with vote extensions once they are enabled
};
struct ResponsePrepareProposal {
  std::vector<Bytes> txs;
};

struct RequestProcessProposal {
  std::vector<Bytes> txs;
  Bytes hash;
  int64_t height = 0;
  int64_t time_unix_ms = 0;
  Bytes proposer_address;
};
enum class ProposalStatus { kUnknown = 0, kAccept = 1, kReject = 2 };
struct ResponseProcessProposal {
  ProposalStatus status = ProposalStatus::kAccept;
  std::string reason;  // not in ABCI: why a proposal was rejected (logged by the driver)
};

struct RequestExtendVote {
  Bytes hash;
  int64_t height = 0;
  int64_t time_unix_ms = 0;
};
struct ResponseExtendVote {
  Bytes vote_extension;
};

struct RequestVerifyVoteExtension {
  Bytes hash;
  Bytes validator_address;
  int64_t height = 0;
  Bytes vote_extension;
};
enum class VerifyStatus { kUnknown = 0, kAccept = 1, kReject = 2 };
struct ResponseVerifyVoteExtension {
  VerifyStatus status = VerifyStatus::kAccept;
  std::string reason;  // not in ABCI: why an extension was rejected
};

struct RequestFinalizeBlock {
  std::vector<Bytes> txs;
  Bytes hash;
  int64_t height = 0;
  int64_t time_unix_ms = 0;
  Bytes proposer_address;
};
struct ExecTxResult {
  uint32_t code = 0;
  Bytes data;
  std::string log;
  std::string info;
  int64_t gas_wanted = 0;
  int64_t gas_used = 0;
  std::vector<Event> events;
  std::string codespace;
};
struct ResponseFinalizeBlock {
  std::vector<Event> events;
  std::vector<ExecTxResult> tx_results;
  std::vector<ValidatorUpdate> validator_updates;
  Bytes app_hash;
};

struct ResponseCommit {
  int64_t retain_height = 0;
};

struct RequestQuery {
  Bytes data;
  std::string path;  // "/bank/balances/<addr>", "/auth/account/<addr>", "/app/genesis", ...
  int64_t height = 0;
  bool prove = false;
};
struct ResponseQuery {
  uint32_t code = 0;
  std::string log;
  Bytes key;
  Bytes value;  // JSON document on success
  int64_t height = 0;
  std::string codespace;
};

}  // namespace depai::app
