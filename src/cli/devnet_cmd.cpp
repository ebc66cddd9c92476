#include <signal.h>
#include <spdlog/spdlog.h>

#include <toml++/toml.h>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/server.h"
#include "cli/commands.h"
#include "cli/keys_util.h"
#include "devnet/node.h"
#include "x/auth/keeper.h"
#include "x/auth/module.h"
#include "x/market/module.h"
#include "x/oracle/keeper.h"
#include "x/provider/module.h"

namespace depai::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct DevnetArgs {
  std::string chain_id = "depai-devnet-1";
  int accounts = 4;
  bool force = false;
  std::string block_time;
  std::string api_addr;
};

int64_t ParseDurationMs(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 9) throw CommandError{"bad duration '" + s + "': use e.g. 1s or 500ms"};
  int64_t v = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  if (unit == "ms") return v;
  if (unit == "s" || unit.empty()) return v * 1000;
  throw CommandError{"bad duration '" + s + "': use e.g. 1s or 500ms"};
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* kDevAccounts[] = {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"};
constexpr const char* kDevBalance = "1000000000000";  // 1,000,000 DPAI

void Init(GlobalOptions& g, const DevnetArgs& a) {
  std::string genesis = g.home + "/config/genesis.json";
  if (fs::exists(genesis) && !a.force)
    throw CommandError{"a genesis already exists at " + genesis + "; use --force to overwrite it (this also deletes " +
                       g.home + "/data)"};
  if (a.accounts < 1 || a.accounts > 10) throw CommandError{"--accounts must be between 1 and 10"};
  if (a.chain_id.empty() || a.chain_id.size() > 50) throw CommandError{"--chain-id must be 1..50 characters"};
  if (a.force) fs::remove_all(g.home + "/data");
  fs::create_directories(g.home + "/config");
  GlobalOptions tg = g;
  tg.keyring_backend = "test";
  auto kr = OpenKeyringOrThrow(tg);
  json accounts = json::array(), balances = json::array(), names = json::array();
  for (int i = 0; i < a.accounts; ++i) {
    std::string name = kDevAccounts[i];
    auto info = kr.show(name);
    if (!info.ok()) info = kr.add(name);
    if (!info.ok()) throw CommandError{info.error().message};
    accounts.push_back({{"address", info->address}, {"account_number", std::to_string(i)}, {"sequence", "0"}});
    balances.push_back(
        {{"address", info->address},
         {"coins", {{{"denom", "ucredit"}, {"amount", "1000000000"}}, {{"denom", "udpai"}, {"amount", kDevBalance}}}}});
    names.push_back({{"name", name}, {"address", info->address}});
  }
  json g_json{{"chain_id", a.chain_id},
              {"genesis_time", NowRfc3339()},
              {"initial_height", 1},
              {"app_state",
               {{"auth", {{"params", x::auth::ParamsToJson(x::auth::DefaultParams())}, {"accounts", accounts}}},
                {"bank",
                 {{"denom_metadata",
                   {{{"denom", "ucredit"},
                     {"display", "CREDIT"},
                     {"exponent", 6},
                     {"transferable", false},
                     {"max_supply", "9223372036854775807"}},
                    {{"denom", "udpai"},
                     {"display", "DPAI"},
                     {"exponent", 6},
                     {"transferable", true},
                     {"max_supply", "1000000000000000000"}}}},
                  {"balances", balances}}},
                {"provider", {{"params", x::MessageToJson(x::provider::DefaultParams())}}}}}};
  g_json["app_state"]["market"] = {{"params", x::market::ProtoToJson(x::market::DefaultParams())}};
  // x/oracle: alice feeds the price by transaction (`depai oracle feed --from alice ...`).
  {
    auto op = x::oracle::DefaultParams();
    op.add_feeders(names[0]["address"].get<std::string>());
    op.set_min_reports(1);
    g_json["app_state"]["oracle"] = {{"params", x::MessageToJson(op)}};
  }
  std::ofstream(genesis) << g_json.dump(2) << "\n";
  std::string cfg = g.home + "/config/devnet.toml";
  if (!fs::exists(cfg) || a.force)
    std::ofstream(cfg)
        << "# depai devnet settings (flags override them)\nblock_time = \"1s\"\napi_addr = \"127.0.0.1:1317\"\n";
  if (g.output == "json") {
    std::cout << json{{"chain_id", a.chain_id}, {"home", g.home}, {"genesis", genesis}, {"accounts", names}}.dump()
              << "\n";
  } else {
    std::cout << "Initialised devnet '" << a.chain_id << "' in " << g.home << "\n";
    std::cout << "Funded dev accounts (keys in the TEST keyring, unencrypted; each has 1,000,000 DPAI):\n";
    for (const auto& n : names)
      std::cout << "  " << n["name"].get<std::string>() << "  " << n["address"].get<std::string>() << "\n";
  }
}

void Start(GlobalOptions& g, const DevnetArgs& a) {
  devnet::NodeConfig nc;
  nc.home = g.home;
  std::string block_time = "1s", api_addr = "127.0.0.1:1317";
  std::string cfg = g.home + "/config/devnet.toml";
  if (fs::exists(cfg)) {
    try {
      auto t = toml::parse_file(cfg);
      block_time = t["block_time"].value_or(block_time);
      api_addr = t["api_addr"].value_or(api_addr);
    } catch (const toml::parse_error& e) {
      throw CommandError{cfg + ": " + std::string(e.description())};
    }
  }
  if (!a.block_time.empty()) block_time = a.block_time;
  if (!a.api_addr.empty()) api_addr = a.api_addr;
  nc.block_time_ms = ParseDurationMs(block_time);
  if (nc.block_time_ms < 10) throw CommandError{"--block-time must be at least 10ms"};

  // Block SIGINT/SIGTERM in every thread; the main thread waits for them below.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto node = devnet::Node::Open(nc);
  if (!node.ok()) throw CommandError{node.error().message};
  api::DevnetBackend backend(*node.value());
  api::Server api(backend, api_addr);
  auto st = api.Start();
  if (!st.ok()) throw CommandError{st.error().message};
  node.value()->Start();
  auto s = node.value()->Status();
  spdlog::info("depai devnet '{}' running: API http://{} height={} block_time={}ms", s.chain_id, api_addr, s.height,
               nc.block_time_ms);
  std::cerr << "API listening on http://" << api_addr << " (Ctrl-C to stop)\n" << std::flush;
  int code = 0;
  for (;;) {
    timespec ts{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (auto f = node.value()->fault()) {
      spdlog::critical("stopping after a node fault: {}", *f);
      code = 1;
      break;
    }
  }
  node.value()->Stop();
  api.Stop();
  node.value().reset();
  spdlog::info("devnet stopped cleanly");
  if (code) throw CommandError{"node fault: see the log above", code};
}

}  // namespace

void RegisterDevnetCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<DevnetArgs>();
  auto* dn = app.add_subcommand("devnet", "Single-process devnet: `depai devnet` = init (if needed) + start");
  dn->require_subcommand(0, 1);
  dn->add_option("--block-time", a->block_time,
                 "Block interval, e.g. 1s or 200ms (default from config/devnet.toml: 1s)");
  dn->add_option("--api-addr", a->api_addr, "HTTP API address (default 127.0.0.1:1317)");

  auto* init = dn->add_subcommand("init", "Write a genesis with funded dev accounts (keys in the test keyring)");
  init->add_option("--chain-id", a->chain_id, "Chain id")->capture_default_str();
  init->add_option("--accounts", a->accounts, "Number of funded dev accounts (1-10)")->capture_default_str();
  init->add_flag("--force", a->force, "Overwrite an existing genesis and delete the chain data");
  init->callback([&g, a] { Init(g, *a); });

  auto* start = dn->add_subcommand("start", "Run the devnet: produce blocks and serve the HTTP API");
  start->add_option("--block-time", a->block_time, "Block interval, e.g. 1s or 200ms");
  start->add_option("--api-addr", a->api_addr, "HTTP API address, e.g. 127.0.0.1:1317");
  start->callback([&g, a] { Start(g, *a); });

  dn->callback([&g, a, dn] {
    if (!dn->get_subcommands().empty()) return;
    if (!fs::exists(g.home + "/config/genesis.json")) Init(g, *a);
    Start(g, *a);
  });
}

}  // namespace depai::cli
