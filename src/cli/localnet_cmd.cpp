// `depai localnet init|start|stop|status`: an N-validator CometBFT network on loopback, each
// validator on its own 127.0.0.(i+1) with the standard ports, its app on a unix socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "client/http_client.h"
#include "oracle/source.h"
#include "x/auth/keeper.h"
#include "x/auth/module.h"

namespace depai::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
struct LocalnetArgs {
  int validators = 4;
  std::string dir = "./localnet";
  std::string chain_id = "depai-localnet-1";
  std::string timeout_commit = "500ms";
  int mempool_size = 20000;
  std::string cometbft;
  std::string app = "depai";  // or "kvstore": CometBFT's own example app, for comparisons
  // x/oracle: validator i's price source (the i-th --oracle-source, or the only one given);
  // none: the validators report no price. Vote extensions are on from height 1 either way.
  std::vector<std::string> oracle_sources;
  int64_t ve_height = 1;
};

std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string CometBin(const LocalnetArgs& a) {
  if (!a.cometbft.empty()) return a.cometbft;
  if (const char* gp = std::getenv("GOPATH")) {
    if (fs::exists(std::string(gp) + "/bin/cometbft")) return std::string(gp) + "/bin/cometbft";
  }
  if (const char* h = std::getenv("HOME")) {
    if (fs::exists(std::string(h) + "/go/bin/cometbft")) return std::string(h) + "/go/bin/cometbft";
  }
  return "cometbft";
}

int Run(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

// Starts a detached process (own session) and returns its pid.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::string SetToml(const std::string& cfg, const std::string& section, const std::string& key,
                    const std::string& value) {
  // Replaces `key = ...` inside [section] (or at top level when section is empty).
  size_t start = 0, end = cfg.size();
  if (!section.empty()) {
    start = cfg.find("\n[" + section + "]");
    if (start == std::string::npos) throw CommandError{"config.toml has no [" + section + "]"};
    end = cfg.find("\n[", start + 1);
    if (end == std::string::npos) end = cfg.size();
  }
  std::regex re("\n" + key + " = [^\n]*");
  std::string part = cfg.substr(start, end - start);
  std::smatch m;
  if (!std::regex_search(part, m, re)) throw CommandError{"config.toml has no " + key + " in [" + section + "]"};
  part = part.substr(0, m.position()) + "\n" + key + " = " + value + part.substr(m.position() + m.length());
  return cfg.substr(0, start) + part + cfg.substr(end);
}

std::string NodeDir(const LocalnetArgs& a, int i) { return fs::absolute(a.dir).string() + "/node" + std::to_string(i); }
std::string Ip(int i) { return "127.0.0." + std::to_string(i + 1); }

void Init(GlobalOptions& g, const LocalnetArgs& a) {
  if (a.validators < 1 || a.validators > 16) throw CommandError{"--validators must be 1..16"};
  if (fs::exists(a.dir + "/node0")) throw CommandError{a.dir + " already holds a localnet; remove it first"};
  if (a.oracle_sources.size() > 1 && a.oracle_sources.size() != static_cast<size_t>(a.validators))
    throw CommandError{"--oracle-source: give one for every validator (" + std::to_string(a.validators) +
                       ") or a single one for all, got " + std::to_string(a.oracle_sources.size())};
  for (const auto& src : a.oracle_sources)
    if (auto p = oracle::ParseSource(src); !p.ok()) throw CommandError{"--oracle-source: " + p.error().message};
  fs::create_directories(a.dir);
  std::string cmt = CometBin(a);
  int rc = Run({cmt, "testnet", "--v", std::to_string(a.validators), "--o", a.dir, "--starting-ip-address", "127.0.0.1",
                "--populate-persistent-peers"},
               a.dir + "/testnet.log");
  if (rc != 0)
    throw CommandError{"`" + cmt + " testnet` failed (see " + a.dir + "/testnet.log); is cometbft v0.38.25 installed?"};
  // Funded accounts in a test keyring shared by the CLI: --home <dir>.
  GlobalOptions kg = g;
  kg.home = fs::absolute(a.dir).string();
  kg.keyring_backend = "test";
  auto kr = OpenKeyringOrThrow(kg);
  json accounts = json::array(), balances = json::array();
  const char* names[] = {"alice", "bob", "carol", "dave"};
  for (int i = 0; i < 4; ++i) {
    auto info = kr.add(names[i]);
    if (!info.ok()) throw CommandError{info.error().message};
    accounts.push_back({{"address", info->address}, {"account_number", std::to_string(i)}, {"sequence", "0"}});
    balances.push_back({{"address", info->address}, {"coins", {{{"denom", "udpai"}, {"amount", "1000000000000"}}}}});
  }
  json app_state{{"auth", {{"params", x::auth::ParamsToJson(x::auth::DefaultParams())}, {"accounts", accounts}}},
                 {"bank",
                  {{"denom_metadata",
                    {{{"denom", "ucredit"}, {"display", "CREDIT"}, {"exponent", 6}, {"transferable", false}},
                     {{"denom", "udpai"},
                      {"display", "DPAI"},
                      {"exponent", 6},
                      {"transferable", true},
                      {"max_supply", "1000000000000000000"}}}},
                   {"balances", balances}}}};
  json genesis = json::parse(Slurp(a.dir + "/node0/config/genesis.json"));
  genesis["chain_id"] = a.chain_id;
  genesis["app_state"] = app_state;
  // ABCI 2.0 vote extensions carry each validator's price (x/oracle).
  if (a.ve_height > 0) {
    if (!genesis.contains("consensus_params")) genesis["consensus_params"] = json::object();
    genesis["consensus_params"]["abci"] = {{"vote_extensions_enable_height", std::to_string(a.ve_height)}};
  }
  for (int i = 0; i < a.validators; ++i) {
    std::string d = NodeDir(a, i);
    std::ofstream(d + "/config/genesis.json") << genesis.dump(2) << "\n";
    std::string cfg = Slurp(d + "/config/config.toml");
    cfg = SetToml(cfg, "", "proxy_app", "\"unix://" + d + "/abci.sock\"");
    cfg = SetToml(cfg, "rpc", "laddr", "\"tcp://" + Ip(i) + ":26657\"");
    cfg = SetToml(cfg, "p2p", "laddr", "\"tcp://" + Ip(i) + ":26656\"");
    cfg = SetToml(cfg, "p2p", "allow_duplicate_ip", "true");
    cfg = SetToml(cfg, "consensus", "timeout_commit", "\"" + a.timeout_commit + "\"");
    cfg = SetToml(cfg, "mempool", "size", std::to_string(a.mempool_size));
    cfg = SetToml(cfg, "", "moniker", "\"depai-val" + std::to_string(i) + "\"");
    std::ofstream(d + "/config/config.toml") << cfg;
    fs::create_directories(d + "/app");
    if (!a.oracle_sources.empty()) {
      const std::string& src = a.oracle_sources[a.oracle_sources.size() == 1 ? 0 : static_cast<size_t>(i)];
      std::ofstream(d + "/app/config.toml") << "# depai node settings (doc/modules/oracle.md)\n[oracle]\nsources = ["
                                            << json(src).dump() << "]\ninterval_ms = 500\n";
    }
  }
  std::ofstream(a.dir + "/localnet.json")
      << json{{"validators", a.validators}, {"chain_id", a.chain_id}, {"cometbft", cmt}}.dump(2);
  if (g.output == "json") {
    json nodes = json::array();
    for (int i = 0; i < a.validators; ++i)
      nodes.push_back({{"rpc", "http://" + Ip(i) + ":26657"}, {"home", NodeDir(a, i)}});
    std::cout << json{{"chain_id", a.chain_id}, {"nodes", nodes}}.dump() << "\n";
  } else {
    std::cout << "localnet '" << a.chain_id << "' with " << a.validators << " validators in " << a.dir << "\n";
    for (int i = 0; i < a.validators; ++i) std::cout << "  node" << i << ": RPC http://" << Ip(i) << ":26657\n";
    std::cout << "keys (alice, bob, carol, dave) in " << a.dir
              << "/keyring-test; start with `depai localnet start --dir " << a.dir << "`\n";
  }
}

json Meta(const LocalnetArgs& a) {
  if (!fs::exists(a.dir + "/localnet.json"))
    throw CommandError{"no localnet in " + a.dir + " (run `depai localnet init`)"};
  return json::parse(Slurp(a.dir + "/localnet.json"));
}

// Node i's depai API: 127.0.0.1:(1317 + i).
std::string ApiAddr(int i) { return "127.0.0.1:" + std::to_string(1317 + i); }

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

pid_t ReadPid(const std::string& p) {
  std::ifstream f(p);
  pid_t pid = 0;
  f >> pid;
  return pid;
}

void StartNode(const LocalnetArgs& a, const std::string& self, const std::string& cmt, int i) {
  std::string d = NodeDir(a, i);
  if (!Alive(ReadPid(d + "/app.pid"))) {
    std::vector<std::string> argv = {self,
                                     "node",
                                     "start",
                                     "--home",
                                     d + "/app",
                                     "--abci",
                                     "unix://" + d + "/abci.sock",
                                     "--api-addr",
                                     ApiAddr(i),
                                     "--rpc",
                                     "http://" + Ip(i) + ":26657"};
    if (a.app == "kvstore") {
      auto cmt_path = fs::path(cmt);
      std::string abci_cli = cmt_path.has_parent_path() ? (cmt_path.parent_path() / "abci-cli").string() : "abci-cli";
      argv = {abci_cli, "kvstore", "--address", "unix://" + d + "/abci.sock"};
    }
    // An app killed with SIGKILL leaves its socket file behind, and nobody listens on it. Remove it
    // first, so the wait below sees the new app's socket: CometBFT started against the stale one
    // would fail to connect and exit.
    std::error_code rm_ec;
    fs::remove(d + "/abci.sock", rm_ec);
    pid_t p = Spawn(argv, d + "/app.log");
    std::ofstream(d + "/app.pid") << p;
    // Up to 30 s (a loaded machine opens RocksDB slowly); an app that exited is not waited for.
    for (int t = 0; t < 600 && !fs::exists(d + "/abci.sock") && waitpid(p, nullptr, WNOHANG) == 0; ++t)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!Alive(ReadPid(d + "/cometbft.pid"))) {
    pid_t p = Spawn({cmt, "start", "--home", d}, d + "/cometbft.log");
    std::ofstream(d + "/cometbft.pid") << p;
  }
}

void Start(const LocalnetArgs& a, int only) {
  auto meta = Meta(a);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  for (int i = 0; i < meta["validators"].get<int>(); ++i)
    if (only < 0 || only == i) StartNode(a, self, meta["cometbft"].get<std::string>(), i);
  std::cout << "started; logs in " << a.dir << "/node*/{app,cometbft}.log\n";
}

void Stop(const LocalnetArgs& a, int only, bool hard) {
  auto meta = Meta(a);
  for (int i = 0; i < meta["validators"].get<int>(); ++i) {
    if (only >= 0 && only != i) continue;
    std::string d = NodeDir(a, i);
    for (const char* which : {"cometbft", "app"}) {
      pid_t pid = ReadPid(d + "/" + which + ".pid");
      if (!Alive(pid)) continue;
      ::kill(pid, hard ? SIGKILL : SIGTERM);
      for (int t = 0; t < 100 && Alive(pid); ++t) {
        waitpid(pid, nullptr, WNOHANG);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

void Status(const GlobalOptions& g, const LocalnetArgs& a) {
  auto meta = Meta(a);
  json out = json::array();
  for (int i = 0; i < meta["validators"].get<int>(); ++i) {
    json n{{"node", i}, {"rpc", "http://" + Ip(i) + ":26657"}, {"api", "http://" + ApiAddr(i)}};
    auto r = client::HttpRequest("http://" + Ip(i) + ":26657", "GET", "/status", "", 3000);
    if (r.ok()) {
      auto j = json::parse(r->body, nullptr, false);
      if (!j.is_discarded() && j.contains("result")) {
        n["height"] = j["result"]["sync_info"]["latest_block_height"];
        n["app_hash"] = j["result"]["sync_info"]["latest_app_hash"];
        n["catching_up"] = j["result"]["sync_info"]["catching_up"];
      }
    } else {
      n["error"] = r.error().message;
    }
    out.push_back(n);
  }
  if (g.output == "json") {
    std::cout << out.dump() << "\n";
    return;
  }
  for (const auto& n : out)
    std::cout << "node" << n["node"] << " " << n["rpc"].get<std::string>() << " api " << n["api"].get<std::string>()
              << " "
              << (n.contains("height")
                      ? "height " + n["height"].get<std::string>() + " app_hash " + n["app_hash"].get<std::string>()
                      : std::string("down"))
              << "\n";
}
}  // namespace

void RegisterLocalnetCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<LocalnetArgs>();
  auto only = std::make_shared<int>(-1);
  auto hard = std::make_shared<bool>(false);
  auto* ln = app.add_subcommand("localnet", "A multi-validator CometBFT network on loopback");
  ln->require_subcommand(1);
  ln->add_option("--dir", a->dir, "Localnet directory")->capture_default_str();
  auto* init = ln->add_subcommand("init", "Create validators with `cometbft testnet`, a shared genesis and configs");
  init->add_option("--validators", a->validators, "Number of validators")->capture_default_str();
  init->add_option("--dir", a->dir, "Localnet directory")->capture_default_str();
  init->add_option("--chain-id", a->chain_id, "Chain id")->capture_default_str();
  init->add_option("--timeout-commit", a->timeout_commit, "CometBFT timeout_commit")->capture_default_str();
  init->add_option("--mempool-size", a->mempool_size, "CometBFT mempool size (txs)")->capture_default_str();
  init->add_option("--oracle-source", a->oracle_sources,
                   "Validator i's price source (file:<path>, http://..#/ptr, fixed:<usd>); once for all, or once per "
                   "validator");
  init->add_option("--vote-extensions-height", a->ve_height,
                   "consensus_params.abci.vote_extensions_enable_height (0: off)")
      ->capture_default_str();
  init->add_option("--cometbft", a->cometbft, "Path to the cometbft binary (default: $GOPATH/bin or ~/go/bin or PATH)");
  init->callback([&g, a] { Init(g, *a); });
  auto* start = ln->add_subcommand("start", "Start every validator (or --node i) and its app in the background");
  start->add_option("--dir", a->dir, "Localnet directory")->capture_default_str();
  start->add_option("--node", *only, "Only this node index");
  start->add_option("--app", a->app, "depai, or kvstore (CometBFT's abci-cli kvstore, for benchmarks)")
      ->check(CLI::IsMember({"depai", "kvstore"}))
      ->capture_default_str();
  start->callback([a, only] { Start(*a, *only); });
  auto* stop = ln->add_subcommand("stop", "Stop every validator (or --node i); --kill sends SIGKILL");
  stop->add_option("--dir", a->dir, "Localnet directory")->capture_default_str();
  stop->add_option("--node", *only, "Only this node index");
  stop->add_flag("--kill", *hard, "SIGKILL instead of SIGTERM");
  stop->callback([a, only, hard] { Stop(*a, *only, *hard); });
  auto* status = ln->add_subcommand("status", "Height and app hash of every validator");
  status->add_option("--dir", a->dir, "Localnet directory")->capture_default_str();
  status->callback([&g, a] { Status(g, *a); });
}

}  // namespace depai::cli
