#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/node_client.h"
#include "cli/output.h"
#include "crypto/bech32.h"

namespace depai::cli {

using nlohmann::json;

namespace {
struct QueryArgs {
  std::string who, hash, height;
};

void PrintBlock(const json& b) {
  std::cout << "height: " << b["height"].get<std::string>() << "\ntime: " << b["time"].get<std::string>()
            << "\nhash: " << b["hash"].get<std::string>() << "\napp_hash: " << b["app_hash"].get<std::string>()
            << "\ntxs: " << b["num_txs"] << "\n";
  for (const auto& t : b["txs"]) std::cout << "  " << t["hash"].get<std::string>() << " code=" << t["code"] << "\n";
}
}  // namespace

void RegisterQueryCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<QueryArgs>();
  auto* q = app.add_subcommand("query", "Query the chain over the node's HTTP API");
  q->alias("q");
  q->require_subcommand(1);

  auto* bank = q->add_subcommand("bank", "x/bank queries");
  bank->require_subcommand(1);
  auto* bal = bank->add_subcommand("balances", "Balances of an address or key name");
  bal->add_option("address", a->who, "depai1... address or key name")->required();
  bal->callback([&g, a] {
    std::string addr = AddressOrKeyOrThrow(g, a->who);
    auto j = GetJsonOrThrow(g, "/balances/" + addr);
    Print(g, j, [](const json& j) {
      std::cout << "address: " << j["address"].get<std::string>() << "\nbalances:\n";
      if (j["balances"].empty()) std::cout << "  (none)\n";
      for (const auto& c : j["balances"])
        std::cout << "  " << c["amount"].get<std::string>() << c["denom"].get<std::string>() << "\n";
    });
  });
  auto* supply = bank->add_subcommand("total", "Total supply per denom");
  supply->callback([&g] {
    auto j = GetJsonOrThrow(g, "/supply");
    Print(g, j, [](const json& j) {
      for (const auto& c : j["supply"])
        std::cout << c["amount"].get<std::string>() << c["denom"].get<std::string>() << "\n";
    });
  });

  auto* acc = q->add_subcommand("account", "Account number, sequence and public key");
  acc->add_option("address", a->who, "depai1... address or key name")->required();
  acc->callback([&g, a] {
    auto j = GetJsonOrThrow(g, "/accounts/" + AddressOrKeyOrThrow(g, a->who));
    Print(g, j, [](const json& j) {
      std::cout << "address: " << j["address"].get<std::string>()
                << "\naccount_number: " << j["account_number"].get<std::string>()
                << "\nsequence: " << j["sequence"].get<std::string>() << "\n";
    });
  });

  auto* tx = q->add_subcommand("tx", "A committed transaction by hash");
  tx->add_option("hash", a->hash, "Tx hash (64 hex)")->required();
  tx->callback([&g, a] {
    auto j = GetJsonOrThrow(g, "/txs/" + a->hash);
    Print(g, j, [](const json& j) {
      std::cout << "hash: " << j["hash"].get<std::string>() << "\nheight: " << j["height"].get<std::string>()
                << "\ncode: " << j["code"] << "\n";
      if (!j["log"].get<std::string>().empty()) std::cout << "log: " << j["log"].get<std::string>() << "\n";
      std::cout << "gas: " << j["gas_used"].get<std::string>() << "/" << j["gas_wanted"].get<std::string>()
                << "\ntx: " << j["tx"].dump(2) << "\n";
    });
  });

  auto* blk = q->add_subcommand("block", "A block by height (default: latest)");
  blk->add_option("height", a->height, "Height");
  blk->callback([&g, a] {
    auto j = GetJsonOrThrow(g, a->height.empty() ? "/blocks/latest" : "/blocks/" + a->height);
    Print(g, j, PrintBlock);
  });

  auto* status = app.add_subcommand("status", "Node status: chain id, height, app hash");
  status->callback([&g] {
    auto j = GetJsonOrThrow(g, "/status");
    Print(g, j, [](const json& j) {
      std::cout << "chain_id: " << j["chain_id"].get<std::string>()
                << "\nheight: " << j["latest_block_height"].get<std::string>()
                << "\napp_hash: " << j["latest_app_hash"].get<std::string>()
                << "\nblock_time: " << j["latest_block_time"].get<std::string>() << "\nmempool: " << j["mempool_size"]
                << "\n";
    });
  });

  auto* exp = app.add_subcommand("export", "Print the committed state as a genesis JSON (node must be stopped)");
  exp->callback([&g] {
    app::AppOptions o;
    o.db_path = g.home + "/data/state";
    if (!std::filesystem::exists(o.db_path)) throw CommandError{"no chain state at " + o.db_path};
    auto a = app::App::Open(o);
    if (!a.ok()) throw CommandError{"cannot open the state (is the node still running?): " + a.error().message};
    auto exported = a.value()->ExportGenesis();
    if (!exported.ok()) throw CommandError{"export failed: " + exported.error().message};
    std::cout << exported.value() << "\n";
  });
}

}  // namespace depai::cli
