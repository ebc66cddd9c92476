#include "cli/tx_util.h"

#include <iostream>

#include "cli/node_client.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

namespace depai::cli {

using nlohmann::json;

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

nlohmann::json SignAndBroadcast(const GlobalOptions& g, const TxArgs& a, const crypto::KeyPair& key,
                                const std::string& from_addr, const std::vector<google::protobuf::Any>& msgs,
                                const std::string& summary) {
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
  if (!g.wallet.empty()) {  // signing for an agent wallet with a session key
    if (from_addr != g.wallet)
      throw CommandError{"--wallet " + g.wallet + ": this command signs for " + from_addr + ", not for the wallet"};
    auto w = crypto::AddressFromBech32(g.wallet);
    if (!w.ok()) throw CommandError{"--wallet: " + w.error().message};
    sd.wallet = w.value();
  }
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
  return body;
}

void AddOrderTermsFlags(CLI::App* cmd, OrderTermsFlags& f) {
  cmd->add_option("--sla-uptime-bps", f.sla_uptime_bps,
                  "SLA: minimum share of passed liveness probes per SLA window, in bps (e.g. 9892)")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--sla-max-latency-ms", f.sla_max_latency_ms,
                  "SLA: maximum probe latency in ms (0: the chain's default)");
  cmd->add_option("--min-reputation-bps", f.min_reputation_bps,
                  "Only providers with at least this x/verify reputation may bid (bps)")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--max-price", f.max_price,
                  "Max price per block, overriding the spec's: 50udpai, or 500ucredit for a credit-priced order "
                  "(credits are burned as the lease is paid)");
  cmd->add_option("--deposit", f.deposit, "Escrow deposit, overriding the spec's, in the order's denom");
  cmd->add_flag("--require-attested", f.require_attested,
                "Only providers whose linked DID carries a device attestation by a registered attester may bid");
}

void ApplyOrderTerms(const OrderTermsFlags& f, depai::market::v1::MsgCreateOrder* m) {
  if (f.sla_uptime_bps) m->mutable_sla()->set_min_uptime_bps(*f.sla_uptime_bps);
  if (f.sla_max_latency_ms) m->mutable_sla()->set_max_latency_ms(*f.sla_max_latency_ms);
  if (f.min_reputation_bps) m->set_min_reputation_bps(*f.min_reputation_bps);
  if (f.require_attested) m->set_require_attested(true);
  auto coin = [](const std::string& v, const char* what, depai::tx::v1::Coin* out) {
    auto c = ParseCoinsOrThrow(v, what);
    if (c.list().size() != 1 || c.list()[0].amount.is_zero() ||
        (c.list()[0].denom != "udpai" && c.list()[0].denom != "ucredit"))
      throw CommandError{std::string(what) + ": expected a positive udpai or ucredit amount, got '" + v + "'"};
    out->set_denom(c.list()[0].denom);
    out->set_amount(c.list()[0].amount.str());
  };
  if (!f.max_price.empty()) {
    coin(f.max_price, "--max-price", m->mutable_max_price_per_block());
    m->set_denom(m->max_price_per_block().denom() == "ucredit" ? "ucredit" : "");
  }
  if (!f.deposit.empty()) coin(f.deposit, "--deposit", m->mutable_deposit());
  const std::string denom = m->denom().empty() ? "udpai" : m->denom();
  if (m->max_price_per_block().denom() != denom || m->deposit().denom() != denom)
    throw CommandError{"the order is priced in " + denom + ": max price and deposit must both be " + denom + " (got " +
                       m->max_price_per_block().amount() + m->max_price_per_block().denom() + " and " +
                       m->deposit().amount() + m->deposit().denom() + ")"};
  if (m->sla().max_latency_ms() > 0 && m->sla().min_uptime_bps() == 0)
    throw CommandError{"--sla-max-latency-ms needs an SLA: give --sla-uptime-bps too"};
}

}  // namespace depai::cli
