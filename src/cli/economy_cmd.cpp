// depai query economy epochs|epoch|current, depai query mint status, depai query rewards
// provider|params: the token economy's records over the node's HTTP API (doc/economics.md).
// `economy epochs` prints a table, JSON (--output json) or CSV (--output csv, one row per epoch
// with a header, for spreadsheets).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"

namespace depai::cli {

using nlohmann::json;

namespace {
struct EconomyArgs {
  std::string from, limit = "100", epoch, who;
};

// The CSV columns, in order: every scalar field of an epoch record, then utilization per kind.
const char* kColumns[] = {"epoch",
                          "start_height",
                          "end_height",
                          "end_time_ms",
                          "price_e9",
                          "price_available",
                          "emissions",
                          "carried_in",
                          "pool",
                          "work_rewards",
                          "availability_rewards",
                          "checker_rewards",
                          "validator_rewards",
                          "treasury_rewards",
                          "carried_out",
                          "revenue_udpai",
                          "revenue_ucredit",
                          "revenue_uusd",
                          "subsidy_uusd",
                          "revenue_to_subsidy_e9",
                          "minted_udpai",
                          "burned_udpai",
                          "minted_ucredit",
                          "burned_ucredit",
                          "supply_udpai_start",
                          "supply_udpai_end",
                          "net_supply_change",
                          "paying_buyers",
                          "rewarded_providers",
                          "providers_failed"};
const char* kKinds[] = {"cpu_millicores", "memory_mib", "gpus"};

std::string Cell(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// "1234567" (x 10^9) -> "0.001234567"
std::string Ratio(const json& e9) {
  uint64_t v = std::stoull(Cell(e9).empty() ? "0" : Cell(e9));
  std::string frac = std::to_string(v % 1000000000);
  return std::to_string(v / 1000000000) + "." + std::string(9 - frac.size(), '0') + frac;
}

void PrintCsv(const json& epochs) {
  std::string header;
  for (const char* c : kColumns) header += std::string(header.empty() ? "" : ",") + c;
  for (const char* k : kKinds) header += std::string(",") + k + "_leased," + k + "_verified," + k + "_utilization_bps";
  std::cout << header << "\n";
  for (const auto& e : epochs) {
    std::string row;
    bool first = true;
    for (const char* c : kColumns) {
      row += (first ? "" : ",") + Cell(e.value(c, json()));
      first = false;
    }
    for (const char* k : kKinds) {
      json u;
      for (const auto& x : e.value("utilization", json::array()))
        if (x.value("kind", "") == k) u = x;
      row += "," + Cell(u.value("leased", json())) + "," + Cell(u.value("verified", json())) + "," +
             Cell(u.value("bps", json()));
    }
    std::cout << row << "\n";
  }
}

void PrintTable(const json& epochs) {
  if (epochs.empty()) {
    std::cout << "(no epoch has ended yet)\n";
    return;
  }
  std::cout << "epoch  heights          emissions(udpai)  revenue(uusd)  subsidy(uusd)  revenue/subsidy  "
               "burned(udpai)  net supply  buyers  providers\n";
  for (const auto& e : epochs)
    std::cout << Cell(e["epoch"]) << "  " << Cell(e["start_height"]) << "-" << Cell(e["end_height"]) << "  "
              << Cell(e["emissions"]) << "  " << Cell(e["revenue_uusd"]) << "  " << Cell(e["subsidy_uusd"]) << "  "
              << Ratio(e["revenue_to_subsidy_e9"]) << "  " << Cell(e["burned_udpai"]) << "  "
              << Cell(e["net_supply_change"]) << "  " << Cell(e["paying_buyers"]) << "  "
              << Cell(e["rewarded_providers"]) << (e.value("price_available", false) ? "" : "  (price stale)") << "\n";
}

void Dump(const GlobalOptions& g, const json& j) {
  if (g.output == "csv") throw CommandError{"--output csv is only for `depai query economy epochs`"};
  std::cout << (g.output == "json" ? j.dump() : j.dump(2)) << "\n";
}
}  // namespace

void RegisterEconomyCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<EconomyArgs>();
  auto* q = app.get_subcommand("query");

  auto* eco = q->add_subcommand("economy", "Revenue-quality records per epoch (x/rewards)");
  eco->require_subcommand(1);
  auto* epochs = eco->add_subcommand("epochs", "Ended epochs: revenue, subsidy, burn and mint, utilization");
  epochs->add_option("--from", a->from, "First epoch number (default 0)");
  epochs->add_option("--limit", a->limit, "At most this many epochs (1..1000)")->capture_default_str();
  epochs->callback([&g, a] {
    std::string path = "/q/economy/epochs?limit=" + std::to_string(IdOrThrow(a->limit, "--limit"));
    if (!a->from.empty()) {
      if (a->from.find_first_not_of("0123456789") != std::string::npos || a->from.size() > 19)
        throw CommandError{"--from: expected an epoch number, got '" + a->from + "'"};
      path += "&from=" + a->from;
    }
    auto j = GetJsonOrThrow(g, path);
    if (g.output == "csv") return PrintCsv(j["epochs"]);
    if (g.output == "json") {
      std::cout << j.dump() << "\n";
      return;
    }
    PrintTable(j["epochs"]);
  });
  auto* one = eco->add_subcommand("epoch", "One ended epoch's record: N");
  one->add_option("epoch", a->epoch, "Epoch number")->required();
  one->callback([&g, a] {
    if (a->epoch.empty() || a->epoch.find_first_not_of("0123456789") != std::string::npos || a->epoch.size() > 19)
      throw CommandError{"epoch: expected an epoch number, got '" + a->epoch + "'"};
    Dump(g, GetJsonOrThrow(g, "/q/economy/epochs/" + a->epoch));
  });
  eco->add_subcommand("current", "The running epoch and its accumulators so far")->callback([&g] {
    Dump(g, GetJsonOrThrow(g, "/q/economy/current"));
  });

  auto* mint = q->add_subcommand("mint", "x/mint queries");
  mint->require_subcommand(1);
  mint->add_subcommand("status", "Emission schedule, minted so far, era and next reward")->callback([&g] {
    Dump(g, GetJsonOrThrow(g, "/q/mint/status"));
  });

  auto* rw = q->add_subcommand("rewards", "x/rewards queries");
  rw->require_subcommand(1);
  rw->add_subcommand("params", "Epoch length and pool shares")->callback([&g] {
    Dump(g, GetJsonOrThrow(g, "/q/rewards/params"));
  });
  auto* prov = rw->add_subcommand("provider", "A provider's last epoch rewards and total: ADDR|KEY");
  prov->add_option("provider", a->who, "depai1... address or key name")->required();
  prov->callback([&g, a] { Dump(g, GetJsonOrThrow(g, "/q/rewards/provider/" + AddressOrKeyOrThrow(g, a->who))); });
}

}  // namespace depai::cli
