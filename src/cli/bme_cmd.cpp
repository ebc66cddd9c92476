// `depai tx bme burn AMOUNTudpai --from KEY` and `depai query bme status`: x/bme's burn-and-mint
// credits. A burn is refused on chain (with the reason) while the oracle price is unavailable,
// deviates from its EMA, or the circuit breaker's window is full; `query bme status` shows which.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "cli/tx_util.h"
#include "crypto/bech32.h"
#include "depai/bme/v1/bme.pb.h"
#include "x/types/codec.h"

namespace depai::cli {

using nlohmann::json;

void RegisterBmeCommands(CLI::App& app, GlobalOptions& g) {
  auto* tx = app.get_subcommand("tx");
  auto* bt = tx->add_subcommand("bme", "x/bme: burn DPAI for non-transferable credits (1 ucredit = 1 micro-USD)");
  bt->require_subcommand(1);
  auto a = std::make_shared<TxArgs>();
  auto* burn = bt->add_subcommand(
      "burn",
      "Burn AMOUNT udpai for ucredit at the oracle's conservative price: depai tx bme burn 1000000udpai --from KEY");
  burn->add_option("amount", a->amount, "udpai to burn, e.g. 1000000udpai")->required();
  burn->add_option("--from", a->from, "Key name (or address) in the keyring")->required();
  AddTxFlags(burn, *a);
  burn->callback([&g, a] {
    std::string v = a->amount.find_first_not_of("0123456789") == std::string::npos ? a->amount + "udpai" : a->amount;
    auto c = ParseCoinsOrThrow(v, "amount");
    if (c.list().size() != 1 || c.list()[0].denom != "udpai" || c.list()[0].amount.is_zero())
      throw CommandError{"amount: expected a positive udpai amount such as 1000000udpai, got '" + a->amount + "'"};
    ParseCoinsOrThrow(a->fees, "--fees");
    auto key = LoadKeyOrThrow(g, a->from);
    std::string from = SignerAddress(g, key);
    depai::bme::v1::MsgBurnForCredits m;
    m.set_owner(from);
    m.set_amount(c.list()[0].amount.str());
    google::protobuf::Any any;
    any.set_type_url("/depai.bme.v1.MsgBurnForCredits");
    any.set_value(x::DeterministicSerialize(m));
    json ans = SignAndBroadcast(g, *a, key, from, {any}, "burn " + c.str() + " for credits as " + from);
    if (g.output != "json") {
      for (const auto& e : ans.value("events", json::array())) {
        if (e.value("type", "") != "bme.burn_for_credits") continue;
        for (const auto& at : e["attributes"])
          if (at.value("key", "") == "credits") std::cout << "credits: " << at.value("value", "") << "ucredit\n";
      }
    }
  });

  auto* q = app.get_subcommand("query");
  auto* bq = q->add_subcommand("bme", "x/bme queries");
  bq->require_subcommand(1);
  auto* status = bq->add_subcommand("status", "Params, the circuit breaker's window, the price a burn would use now");
  status->callback([&g] {
    Print(g, GetJsonOrThrow(g, "/bme/status"), [](const json& j) {
      const json& p = j["price"];
      const json& w = j["window"];
      std::cout << "minting:        " << (j.value("minting", false) ? "yes" : "halted: " + j.value("halt_reason", ""))
                << "\nprice:          " << p.value("price", "") << " USD (ema " << p.value("ema", "") << ", conf "
                << p.value("conf", "") << ")"
                << "\nconservative:   " << p.value("conservative", "") << " USD per DPAI"
                << (p.value("available", false) ? "" : " (unavailable: " + p.value("reason", "") + ")")
                << "\nwindow:         " << w.value("counted", "") << " of " << w.value("cap", "") << " udpai counted ("
                << w.value("remaining", "") << " left), window of " << j["params"].value("window_blocks", "")
                << " blocks"
                << "\nmax deviation:  " << j["params"].value("max_deviation_bps", 0) << " bps"
                << "\ntotals:         " << j["totals"].value("burned", "0") << " udpai burned, "
                << j["totals"].value("minted", "0") << " ucredit minted in " << j["totals"].value("burns", "0")
                << " burns\n";
    });
  });
  auto* params = bq->add_subcommand("params", "x/bme parameters");
  params->callback(
      [&g] { Print(g, GetJsonOrThrow(g, "/q/bme/params"), [](const json& j) { std::cout << j.dump(2) << "\n"; }); });
}

}  // namespace depai::cli
