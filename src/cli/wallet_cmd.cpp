// `depai tx wallet create|update-policy|add-key|revoke-key|revoke|fund|drain` and
// `depai query wallet show|owner`: x/wallet's agent wallets. A session key then signs for the
// wallet with the global --wallet flag: `depai --wallet depai1... tx bank send KEY ...`.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "crypto/bech32.h"
#include "depai/wallet/v1/wallet.pb.h"
#include "x/types/codec.h"

namespace depai::cli {

using nlohmann::json;
namespace wv1 = depai::wallet::v1;

namespace {

struct PolicyFlags {
  std::string budget;  // "5000udpai,100ucredit"
  int64_t period_blocks = 0;
  std::vector<std::string> allow_msgs, counterparties, kinds;
  std::string max_price;  // "50udpai,500ucredit"
  int64_t expires_height = 0;
  int64_t expires_in = 0;
};

void AddPolicyFlags(CLI::App* cmd, PolicyFlags& f) {
  cmd->add_option("--budget", f.budget,
                  "Spend allowed per period, fees included, e.g. 5000udpai,100ucredit (a denom not listed cannot "
                  "leave the wallet; a session key without --budget is held only by its wallet's)");
  cmd->add_option("--period-blocks", f.period_blocks, "Length of a budget period in blocks (>= 1 with a budget)");
  cmd->add_option("--allow-msg", f.allow_msgs,
                  "A message type the wallet may sign, e.g. /depai.market.v1.MsgCreateOrder (repeatable; none: any "
                  "type an agent may sign)");
  cmd->add_option("--counterparty", f.counterparties,
                  "An address or did:depai: DID the wallet may pay or deal with (repeatable; none: any)");
  cmd->add_option("--resource-kind", f.kinds, "cpu, memory, gpu, storage or bandwidth (repeatable; none: any)");
  cmd->add_option("--max-price", f.max_price, "Max price per block of orders and bids, per denom, e.g. 50udpai");
  cmd->add_option("--expires-height", f.expires_height, "No signing above this height (0: never)");
  cmd->add_option("--expires-in", f.expires_in, "No signing more than this many blocks from now");
}

wv1::Policy BuildPolicy(const GlobalOptions& g, const PolicyFlags& f) {
  wv1::Policy p;
  if (!f.budget.empty()) x::CoinsToProto(ParseCoinsOrThrow(f.budget, "--budget"), p.mutable_budgets());
  p.set_period_blocks(f.period_blocks != 0 ? f.period_blocks : (f.budget.empty() ? 0 : 1));
  for (const auto& t : f.allow_msgs) p.add_allowed_msgs(t);
  for (const auto& c : f.counterparties) p.add_counterparties(c.rfind("did:", 0) == 0 ? c : AddressOrKeyOrThrow(g, c));
  for (const auto& k : f.kinds) p.add_resource_kinds(k);
  if (!f.max_price.empty())
    x::CoinsToProto(ParseCoinsOrThrow(f.max_price, "--max-price"), p.mutable_max_price_per_block());
  if (f.expires_height != 0 && f.expires_in != 0) throw CommandError{"give --expires-height or --expires-in, not both"};
  if (f.expires_height < 0 || f.expires_in < 0)
    throw CommandError{"--expires-height and --expires-in must not be negative"};
  p.set_expires_height(f.expires_height);
  if (f.expires_in != 0) {
    json st = GetJsonOrThrow(g, "/status");
    p.set_expires_height(std::stoll(st.value("latest_block_height", std::string("0"))) + f.expires_in);
  }
  return p;
}

// A session key given as 64 hex characters or as a keyring name.
std::string PubKeyOrThrow(const GlobalOptions& g, const std::string& s) {
  if (s.size() == 64) {
    if (auto b = HexDecode(s)) return *b;
  }
  return LoadKeyOrThrow(g, s).pubkey;
}

google::protobuf::Any Pack(const char* url, const google::protobuf::Message& m) {
  google::protobuf::Any a;
  a.set_type_url(url);
  a.set_value(x::DeterministicSerialize(m));
  return a;
}

struct WalletArgs {
  TxArgs tx;
  PolicyFlags policy;
  std::string wallet, key, label, deposit, amount;
};

// Signs with --from (the owner, never for a wallet: these are the owner's messages).
json Send(const GlobalOptions& g, WalletArgs& a, const std::function<google::protobuf::Any(const std::string&)>& make,
          const std::string& summary) {
  if (!g.wallet.empty()) throw CommandError{"--wallet: the owner signs wallet administration with its own key"};
  ParseCoinsOrThrow(a.tx.fees, "--fees");
  auto key = LoadKeyOrThrow(g, a.tx.from);
  const std::string from = SignerAddress(g, key);
  return SignAndBroadcast(g, a.tx, key, from, {make(from)}, summary + " (signer " + from + ")");
}

void PrintPolicy(const json& p, const std::string& indent) {
  std::cout << indent << "budget:        ";
  if (p.value("budgets", json::array()).empty()) std::cout << "(none)";
  for (const auto& b : p.value("budgets", json::array()))
    std::cout << b.value("amount", "") << b.value("denom", "") << " ";
  std::cout << "per " << p.value("period_blocks", "0") << " blocks\n";
  auto list = [&](const char* name, const char* k) {
    std::cout << indent << name;
    if (p.value(k, json::array()).empty()) std::cout << "(any)";
    for (const auto& v : p.value(k, json::array())) std::cout << v.get<std::string>() << " ";
    std::cout << "\n";
  };
  list("messages:      ", "allowed_msgs");
  list("counterparties:", "counterparties");
  list("resources:     ", "resource_kinds");
  std::cout << indent << "max price:     ";
  if (p.value("max_price_per_block", json::array()).empty()) std::cout << "(no cap)";
  for (const auto& b : p.value("max_price_per_block", json::array()))
    std::cout << b.value("amount", "") << b.value("denom", "") << "/block ";
  std::cout << "\n"
            << indent << "expires:       "
            << (p.value("expires_height", "0") == "0" ? "never" : "after height " + p.value("expires_height", ""))
            << "\n";
}

}  // namespace

void RegisterWalletCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* wt = tx->add_subcommand("wallet", "x/wallet: agent wallets with on-chain policies and session keys");
  wt->require_subcommand(1);
  auto a = std::make_shared<WalletArgs>();

  auto* create = wt->add_subcommand("create", "Create an agent wallet with a policy; prints its address");
  create->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  create->add_option("--deposit", a->deposit, "Fund the wallet at creation, e.g. 100000udpai");
  create->add_option("--label", a->label, "A name for the wallet");
  AddPolicyFlags(create, a->policy);
  AddTxFlags(create, a->tx);
  create->callback([&g, a] {
    wv1::MsgCreateWallet m;
    *m.mutable_policy() = BuildPolicy(g, a->policy);
    if (!a->deposit.empty()) x::CoinsToProto(ParseCoinsOrThrow(a->deposit, "--deposit"), m.mutable_deposit());
    m.set_label(a->label);
    json ans = Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgCreateWallet", m);
        },
        "create an agent wallet");
    if (g.output != "json") std::cout << "wallet: " << EventAttr(ans, "wallet.created", "wallet") << "\n";
  });

  auto* upd = wt->add_subcommand("update-policy", "Replace a wallet's policy");
  upd->add_option("wallet", a->wallet, "Wallet address")->required();
  upd->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  AddPolicyFlags(upd, a->policy);
  AddTxFlags(upd, a->tx);
  upd->callback([&g, a] {
    wv1::MsgUpdatePolicy m;
    m.set_wallet(a->wallet);
    *m.mutable_policy() = BuildPolicy(g, a->policy);
    Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgUpdatePolicy", m);
        },
        "update the policy of wallet " + a->wallet);
  });

  auto* add = wt->add_subcommand("add-key", "Add a session key (hex or keyring name) with a sub-policy of its own");
  add->add_option("wallet", a->wallet, "Wallet address")->required();
  add->add_option("key", a->key, "Session key: 64 hex characters or a key name in the keyring")->required();
  add->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  add->add_option("--label", a->label, "A name for the key");
  AddPolicyFlags(add, a->policy);
  AddTxFlags(add, a->tx);
  add->callback([&g, a] {
    wv1::MsgAddSessionKey m;
    m.set_wallet(a->wallet);
    m.set_pub_key(PubKeyOrThrow(g, a->key));
    m.set_label(a->label);
    *m.mutable_policy() = BuildPolicy(g, a->policy);
    Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgAddSessionKey", m);
        },
        "add session key " + HexEncode(m.pub_key()) + " to wallet " + a->wallet);
  });

  auto* rk = wt->add_subcommand("revoke-key", "Revoke a session key at once");
  rk->add_option("wallet", a->wallet, "Wallet address")->required();
  rk->add_option("key", a->key, "Session key: 64 hex characters or a key name")->required();
  rk->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  AddTxFlags(rk, a->tx);
  rk->callback([&g, a] {
    wv1::MsgRevokeSessionKey m;
    m.set_wallet(a->wallet);
    m.set_pub_key(PubKeyOrThrow(g, a->key));
    Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgRevokeSessionKey", m);
        },
        "revoke session key " + HexEncode(m.pub_key()) + " of wallet " + a->wallet);
  });

  auto* rw = wt->add_subcommand("revoke", "Revoke the whole wallet: no session key may sign for it again");
  rw->add_option("wallet", a->wallet, "Wallet address")->required();
  rw->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  AddTxFlags(rw, a->tx);
  rw->callback([&g, a] {
    wv1::MsgRevokeWallet m;
    m.set_wallet(a->wallet);
    Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgRevokeWallet", m);
        },
        "revoke wallet " + a->wallet);
  });

  auto* fund = wt->add_subcommand("fund", "Top a wallet up");
  fund->add_option("wallet", a->wallet, "Wallet address")->required();
  fund->add_option("amount", a->amount, "e.g. 50000udpai")->required();
  fund->add_option("--from", a->tx.from, "Sender key name (or address)")->required();
  AddTxFlags(fund, a->tx);
  fund->callback([&g, a] {
    wv1::MsgFundWallet m;
    m.set_wallet(a->wallet);
    auto c = ParseCoinsOrThrow(a->amount, "amount");
    if (c.empty()) throw CommandError{"amount must be positive"};
    x::CoinsToProto(c, m.mutable_amount());
    Send(
        g, *a,
        [&](const std::string& from) {
          m.set_sender(from);
          return Pack("/depai.wallet.v1.MsgFundWallet", m);
        },
        "fund wallet " + a->wallet + " with " + c.str());
  });

  auto* drain = wt->add_subcommand("drain", "Drain a wallet back to its owner (everything transferable by default)");
  drain->add_option("wallet", a->wallet, "Wallet address")->required();
  drain->add_option("amount", a->amount, "e.g. 50000udpai (default: everything transferable)");
  drain->add_option("--from", a->tx.from, "Owner key name (or address)")->required();
  AddTxFlags(drain, a->tx);
  drain->callback([&g, a] {
    wv1::MsgDrainWallet m;
    m.set_wallet(a->wallet);
    if (!a->amount.empty()) x::CoinsToProto(ParseCoinsOrThrow(a->amount, "amount"), m.mutable_amount());
    json ans = Send(
        g, *a,
        [&](const std::string& from) {
          m.set_owner(from);
          return Pack("/depai.wallet.v1.MsgDrainWallet", m);
        },
        "drain wallet " + a->wallet);
    if (g.output != "json") std::cout << "drained: " << EventAttr(ans, "wallet.drained", "amount") << "\n";
  });

  auto* q = app.get_subcommand("query");
  auto* wq = q->add_subcommand("wallet", "x/wallet queries");
  wq->require_subcommand(1);
  auto addr = std::make_shared<std::string>();
  auto* show = wq->add_subcommand("show", "A wallet: its policy, session keys, and this period's spend");
  show->add_option("wallet", *addr, "Wallet address")->required();
  show->callback([&g, addr] {
    Print(g, GetJsonOrThrow(g, "/q/wallet/wallets/" + *addr), [](const json& j) {
      std::cout << "wallet:  " << j.value("address", "") << (j.value("revoked", false) ? " (REVOKED)" : "")
                << "\nowner:   " << j.value("owner", "") << "\nlabel:   " << j.value("label", "") << "\n";
      PrintPolicy(j.value("policy", json::object()), "  ");
      const json& c = j.value("current", json::object());
      std::cout << "period " << c.value("period", "") << " (heights " << c.value("start_height", "") << ".."
                << c.value("end_height", "") << "): spent " << c.value("spent", "") << ", remaining "
                << c.value("remaining", json::object()).dump() << "\n";
      for (const auto& k : j.value("session_keys", json::array())) {
        std::cout << "session key " << k.value("label", "") << " " << k.value("pub_key", "")
                  << (k.value("revoked", false) ? " (REVOKED)" : "") << "\n";
        PrintPolicy(k.value("policy", json::object()), "  ");
      }
    });
  });
  auto* owner = wq->add_subcommand("owner", "The wallets an owner has created");
  owner->add_option("owner", *addr, "Owner address or key name")->required();
  owner->callback([&g, addr] {
    const std::string o = AddressOrKeyOrThrow(g, *addr);
    Print(g, GetJsonOrThrow(g, "/q/wallet/owners/" + o), [](const json& j) {
      for (const auto& w : j.value("wallets", json::array()))
        std::cout << w.value("address", "") << "  " << w.value("label", "")
                  << (w.value("revoked", false) ? " (REVOKED)" : "") << "\n";
    });
  });
}

}  // namespace depai::cli
