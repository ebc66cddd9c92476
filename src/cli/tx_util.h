// Shared by every `depai tx ...` command: common flags, and signing + broadcasting a tx with a
// key from the keyring. Errors throw CommandError (nothing is sent).
#pragma once

#include <google/protobuf/any.pb.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "crypto/ed25519.h"
#include "depai/market/v1/market.pb.h"
#include "util/amount.h"

namespace depai::cli {

struct TxArgs {
  std::string from, to, amount, fees = "10udpai", memo, mode = "commit", chain_id;
  uint64_t gas = 200000;
};

Coins ParseCoinsOrThrow(const std::string& s, const char* what);
// --fees, --gas, --memo, --broadcast-mode/-b, --chain-id.
void AddTxFlags(CLI::App* cmd, TxArgs& a);
// Signs `msgs` with `key` (account number and sequence asked from the node), asks for
// confirmation unless --yes, broadcasts, prints the result (text or JSON) and returns the node's
// answer ({hash, height, code, codespace, log, events...}). Throws CommandError when the tx is
// rejected by CheckTx or fails in its block.
// x/verify terms of an order given on the command line (`tx market create-order`, `deploy
// create`): --sla-uptime-bps, --sla-max-latency-ms, --min-reputation-bps, --require-attested. Set flags override
// the spec's values; bps are checked to be at most 10000.
struct OrderTermsFlags {
  std::optional<uint32_t> sla_uptime_bps, sla_max_latency_ms, min_reputation_bps;
  std::string max_price, deposit;  // --max-price / --deposit: override the spec's (udpai or ucredit)
  bool require_attested = false;   // --require-attested: only providers with an attested DID (x/identity)
};
void AddOrderTermsFlags(CLI::App* cmd, OrderTermsFlags& f);
void ApplyOrderTerms(const OrderTermsFlags& f, depai::market::v1::MsgCreateOrder* m);

nlohmann::json SignAndBroadcast(const GlobalOptions& g, const TxArgs& a, const crypto::KeyPair& key,
                                const std::string& from_addr, const std::vector<google::protobuf::Any>& msgs,
                                const std::string& summary);

}  // namespace depai::cli
