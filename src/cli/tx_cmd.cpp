#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/tx_util.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "depai/bank/v1/bank.pb.h"
#include "x/types/codec.h"
#include "x/types/tx.h"

namespace depai::cli {

using nlohmann::json;

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
    std::string from = SignerAddress(g, key);
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
    std::string from = SignerAddress(g, key);
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
