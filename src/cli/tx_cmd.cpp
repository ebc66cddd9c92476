#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/bank/v1/bank.pb.h"
#include "x/types/codec.h"
#include "x/types/tx.h"

namespace depai::cli {

using nlohmann::json;

namespace {

struct TxArgs {
  std::string from, to, amount, fees = "10udpai", memo, mode = "commit", chain_id;
  uint64_t gas = 200000;
};

Coins ParseCoinsOrThrow(const std::string& s, const char* what) {
  auto c = Coins::Parse(s);
  if (!c.ok()) throw CommandError{std::string(what) + ": " + c.error().message};
  return c.value();
}

void AddTxFlags(CLI::App* cmd, TxArgs& a) {
  cmd->add_option("--fees", a.fees, "Fee, e.g. 10udpai (minimum: gas * 50 / 10^6)")->capture_default_str();
  cmd->add_option("--gas", a.gas, "Gas limit")->capture_default_str();
  cmd->add_option("--memo", a.memo, "Memo");
  cmd->add_option("--broadcast-mode,-b", a.mode, "sync (return after CheckTx) or commit (wait for the block)")
      ->check(CLI::IsMember({"sync", "commit"}))
      ->capture_default_str();
  cmd->add_option("--chain-id", a.chain_id, "Chain id (default: asked from the node)");
}

// Signs `msgs` with the key and broadcasts; prints the result; throws on any failure.
void SignAndBroadcast(const GlobalOptions& g, const TxArgs& a, const crypto::KeyPair& key, const std::string& from_addr,
                      const std::vector<google::protobuf::Any>& msgs, const std::string& summary) {
  auto fee = ParseCoinsOrThrow(a.fees, "--fees");
  std::string chain_id = a.chain_id;
  if (chain_id.empty()) chain_id = GetJsonOrThrow(g, "/status").value("chain_id", "");
  json acc;
  try {
    acc = GetJsonOrThrow(g, "/accounts/" + from_addr);
  } catch (const CommandError& e) {
    throw CommandError{"cannot send from " + from_addr + ": " + e.message};
  }
  client::SignerData sd{chain_id, std::stoull(acc["account_number"].get<std::string>()),
                        std::stoull(acc["sequence"].get<std::string>())};
  client::TxOptions opts{fee, a.gas, a.memo, 0};
  Bytes tx = client::BuildSignedTx(key, sd, msgs, opts);
  if (!g.yes) {
    std::cerr << summary << "\nfee " << fee.str() << ", gas " << a.gas << ", chain " << chain_id
              << "\nSign and broadcast? [y/N] " << std::flush;
    std::string line;
    std::getline(std::cin, line);
    if (line != "y" && line != "Y" && line != "yes") throw CommandError{"aborted: nothing was sent"};
  }
  auto [status, body] = PostJson(g, "/txs", json{{"tx_bytes", crypto::Base64Encode(tx)}, {"mode", a.mode}});
  if (status != 200) {
    if (g.output == "json") std::cout << body.dump() << "\n";
    throw CommandError{"transaction rejected: " + ApiErrorMessage(body, status)};
  }
  if (g.output == "json") {
    std::cout << body.dump() << "\n";
  } else {
    std::cout << "txhash: " << body.value("hash", "") << "\n";
    if (body.contains("height")) std::cout << "height: " << body["height"].get<std::string>() << "\n";
    std::cout << "code: " << body.value("code", 0u) << "\n";
    if (body.contains("gas_used")) std::cout << "gas used: " << body["gas_used"].get<std::string>() << "\n";
    if (!body.value("log", "").empty()) std::cout << "log: " << body["log"].get<std::string>() << "\n";
  }
  if (body.value("code", 0u) != 0)
    throw CommandError{"transaction failed in block " + body.value("height", std::string("?")) + ": " +
                       body.value("log", "") + " (codespace " + body.value("codespace", "") + ", code " +
                       std::to_string(body.value("code", 0u)) + ")"};
}

}  // namespace

void RegisterTxCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.add_subcommand("tx", "Sign and broadcast transactions");
  tx->require_subcommand(1);
  auto* bank = tx->add_subcommand("bank", "x/bank transactions");
  bank->require_subcommand(1);
  auto a = std::make_shared<TxArgs>();

  auto* send = bank->add_subcommand("send", "Send tokens: depai tx bank send FROM_KEY TO_ADDR 1000udpai");
  send->add_option("from", a->from, "Key name (or address) in the keyring")->required();
  send->add_option("to", a->to, "Recipient depai1... address")->required();
  send->add_option("amount", a->amount, "Amount, e.g. 1000udpai")->required();
  AddTxFlags(send, *a);
  send->callback([&g, a] {
    auto to = crypto::AddressFromBech32(a->to);
    if (!to.ok()) throw CommandError{"recipient: " + to.error().message};
    auto amount = ParseCoinsOrThrow(a->amount, "amount");
    if (amount.empty()) throw CommandError{"amount must be positive"};
    ParseCoinsOrThrow(a->fees, "--fees");
    auto key = LoadKeyOrThrow(g, a->from);
    std::string from = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
    SignAndBroadcast(g, *a, key, from, {client::PackMsgSend(from, a->to, amount)},
                     "send " + amount.str() + " from " + from + " to " + a->to);
  });

  auto* multi =
      bank->add_subcommand("multi-send", "Send the same amount to several addresses: FROM_KEY TO1,TO2,... AMOUNT");
  multi->add_option("from", a->from, "Key name (or address)")->required();
  multi->add_option("to", a->to, "Comma-separated recipient addresses")->required();
  multi->add_option("amount", a->amount, "Amount for each recipient")->required();
  AddTxFlags(multi, *a);
  multi->callback([&g, a] {
    auto amount = ParseCoinsOrThrow(a->amount, "amount");
    if (amount.empty()) throw CommandError{"amount must be positive"};
    auto key = LoadKeyOrThrow(g, a->from);
    std::string from = crypto::AddressToBech32(crypto::AddressOf(key.pubkey));
    depai::bank::v1::MsgMultiSend m;
    m.set_from_address(from);
    std::stringstream ss(a->to);
    std::string addr;
    while (std::getline(ss, addr, ',')) {
      auto ok = crypto::AddressFromBech32(addr);
      if (!ok.ok()) throw CommandError{"recipient: " + ok.error().message};
      auto* o = m.add_outputs();
      o->set_address(addr);
      x::CoinsToProto(amount, o->mutable_coins());
    }
    google::protobuf::Any any;
    any.set_type_url("/depai.bank.v1.MsgMultiSend");
    any.set_value(x::DeterministicSerialize(m));
    SignAndBroadcast(g, *a, key, from, {any}, "multi-send " + amount.str() + " each from " + from + " to " + a->to);
  });
}

}  // namespace depai::cli
