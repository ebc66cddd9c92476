#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "abci/server.h"
#include "api/server.h"
#include "app/app.h"
#include "cli/commands.h"
#include "oracle/poller.h"

namespace depai::cli {

namespace {
struct NodeArgs {
  std::string abci = "tcp://127.0.0.1:26658";
  std::string api_addr;                        // empty: no HTTP API
  std::string rpc = "http://127.0.0.1:26657";  // this node's CometBFT RPC, for the API
  std::string config;                          // default <home>/config.toml ([oracle] sources)
};

void StartNode(GlobalOptions& g, const NodeArgs& a) {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::filesystem::create_directories(g.home + "/data");
  app::AppOptions o;
  o.db_path = g.home + "/data/state";
  o.hash_threads = std::thread::hardware_concurrency();  // 0 (unknown) means 1
  auto app = app::App::Open(o);
  if (!app.ok()) throw CommandError{app.error().message};
  // The validator's price sources for its vote extension (x/oracle): polled on their own thread.
  auto ocfg = oracle::LoadOracleConfig(a.config.empty() ? g.home + "/config.toml" : a.config);
  if (!ocfg.ok()) throw CommandError{ocfg.error().message};
  std::unique_ptr<oracle::Poller> poller;
  if (!ocfg->sources.empty()) {
    auto srcs = oracle::ParseSources(ocfg->sources, ocfg->http_timeout_ms);
    if (!srcs.ok()) throw CommandError{srcs.error().message};
    poller = std::make_unique<oracle::Poller>(std::move(srcs).value(), std::chrono::milliseconds(ocfg->interval_ms),
                                              std::chrono::milliseconds(ocfg->max_age_ms));
    poller->Start();
    app.value()->set_price_feed(poller.get());
    spdlog::info("depai node: oracle price from {} source(s), every {} ms", ocfg->sources.size(), ocfg->interval_ms);
  }
  std::mutex mu;
  abci::Server server(*app.value(), mu, a.abci);
  std::atomic<bool> fault{false};
  server.set_on_fault([&](const std::string&) { fault = true; });
  auto st = server.Start();
  if (!st.ok()) throw CommandError{st.error().message};
  // The node's own depai API: queries from this App's committed state, txs/blocks via CometBFT.
  std::unique_ptr<api::CometBackend> backend;
  std::unique_ptr<api::Server> api_server;
  if (!a.api_addr.empty()) {
    backend = std::make_unique<api::CometBackend>(*app.value(), mu, a.rpc);
    api_server = std::make_unique<api::Server>(*backend, a.api_addr);
    auto ast = api_server->Start();
    if (!ast.ok()) {
      server.Stop();
      throw CommandError{ast.error().message};
    }
    spdlog::info("depai node: API on http://{} (CometBFT RPC {})", a.api_addr, a.rpc);
  }
  spdlog::info("depai node: ABCI on {} (height {}), waiting for CometBFT", a.abci, app.value()->last_height());
  for (;;) {
    timespec ts{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (fault) break;
  }
  if (api_server) api_server->Stop();
  server.Stop();
  app.value()->set_price_feed(nullptr);
  if (poller) poller->Stop();
  if (fault) throw CommandError{"node fault: see the log above"};
  spdlog::info("depai node stopped cleanly at height {}", app.value()->last_height());
}
}  // namespace

void RegisterNodeCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<NodeArgs>();
  auto* node = app.add_subcommand("node", "Run the App as an ABCI 2.0 server for CometBFT");
  node->require_subcommand(1);
  auto* start = node->add_subcommand("start", "Serve ABCI on --abci (unix:///path.sock or tcp://host:port)");
  start->add_option("--abci", a->abci, "ABCI listen address")->capture_default_str();
  start->add_option("--api-addr", a->api_addr, "Serve the depai HTTP API on host:port (default: off)");
  start->add_option("--config", a->config, "Node config (TOML, [oracle] sources); default <home>/config.toml");
  start->add_option("--rpc", a->rpc, "This node's CometBFT RPC URL (used by the API)")->capture_default_str();
  start->callback([&g, a] { StartNode(g, *a); });
}

}  // namespace depai::cli
