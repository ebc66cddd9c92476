// `depai provider run --home H --config provider.toml`: the provider daemon in the foreground.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/keys_util.h"
#include "provider/config.h"
#include "provider/daemon.h"
#include "provider/sandbox.h"

namespace depai::cli {

namespace {

struct RunArgs {
  std::string config;
  std::string listen;
  std::string log_level = "info";
};

void Run(GlobalOptions& g, const RunArgs& a, bool node_given) {
  std::string cfg_path = a.config.empty() ? g.home + "/config/provider.toml" : a.config;
  if (!std::filesystem::exists(cfg_path))
    throw CommandError{"no provider config at " + cfg_path +
                       " (pass --config provider.toml; see doc/provider-operations.md)"};
  auto cfg = provider::LoadConfig(cfg_path);
  if (!cfg.ok()) throw CommandError{cfg.error().message};
  if (!a.listen.empty()) cfg->listen = a.listen;
  if (node_given) cfg->node = g.node;  // --node on the command line overrides the config
  GlobalOptions kg = g;
  kg.keyring_backend = cfg->keyring_backend;
  if (!cfg->keyring_home.empty()) kg.home = cfg->keyring_home;
  auto key = LoadKeyOrThrow(kg, cfg->key);
  spdlog::set_level(spdlog::level::from_str(a.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ provider: %v");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::filesystem::create_directories(g.home);
  provider::Daemon d(std::move(cfg).value(), g.home, key);
  auto st = d.Start();
  if (!st.ok()) throw CommandError{st.error().message};
  std::cerr << "provider " << d.address() << " running; endpoint on port " << d.port() << " (Ctrl-C to stop)\n"
            << std::flush;
  for (;;) {
    timespec ts{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, stopping (workloads keep running and are adopted on the next start)",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (auto f = d.fault()) {
      d.Stop();
      throw CommandError{"provider fault: " + *f};
    }
  }
  d.Stop();
  spdlog::info("provider stopped cleanly");
}

}  // namespace

void RegisterProviderRunCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<RunArgs>();
  auto* prov = app.add_subcommand("provider", "Provider daemon: bid on orders, run workloads, serve results");
  prov->require_subcommand(1);
  auto* run = prov->add_subcommand("run", "Run the provider daemon (state and workloads live under --home)");
  run->add_option("--config", a->config, "Provider config (TOML; default <home>/config/provider.toml)");
  run->add_option("--listen", a->listen, "Endpoint address, overrides the config (e.g. 127.0.0.1:8443)");
  run->add_option("--log-level", a->log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  auto* node_opt = app.get_option_no_throw("--node");
  run->callback([&g, a, node_opt] { Run(g, *a, node_opt != nullptr && node_opt->count() > 0); });

  auto* doctor =
      prov->add_subcommand("doctor", "Check what this host can enforce on workloads (sandbox, limits, GPUs)");
  doctor->add_option("--config", a->config, "Provider config whose [sandbox] settings to check (default: built-in)");
  doctor->callback([&g, a] {
    provider::SandboxConfig sb;
    std::string cfg_path = a->config.empty() ? g.home + "/config/provider.toml" : a->config;
    if (!a->config.empty() || std::filesystem::exists(cfg_path)) {
      auto cfg = provider::LoadConfig(cfg_path);
      if (!cfg.ok()) throw CommandError{cfg.error().message};
      sb = cfg->sandbox;
    }
    auto h = provider::ProbeHost(sb);
    if (g.output == "json") {
      std::cout << h.to_json().dump(2) << "\n";
    } else {
      std::cout << h.Text();
    }
    if (sb.mode != "none" && !h.can_sandbox())
      throw CommandError{"this host cannot sandbox workloads; `depai provider run` will refuse to start"};
  });
}

}  // namespace depai::cli
