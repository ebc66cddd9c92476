// `depai checker run --home H --config checker.toml` (the checker daemon in the foreground) and
// `depai checker status --home H` (what it did, from its state file). See doc/checker-operations.md.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "checker/checker.h"
#include "checker/config.h"
#include "cli/commands.h"
#include "cli/keys_util.h"
#include "cli/output.h"

namespace depai::cli {

using nlohmann::json;

namespace {

struct CheckerArgs {
  std::string config;
  std::string log_level = "info";
};

void RunChecker(GlobalOptions& g, const CheckerArgs& a, bool node_given) {
  std::string cfg_path = a.config.empty() ? g.home + "/config/checker.toml" : a.config;
  if (!std::filesystem::exists(cfg_path))
    throw CommandError{"no checker config at " + cfg_path +
                       " (pass --config checker.toml; see doc/checker-operations.md)"};
  auto cfg = checker::LoadCheckerConfig(cfg_path);
  if (!cfg.ok()) throw CommandError{cfg.error().message};
  if (node_given) cfg->node = g.node;
  GlobalOptions kg = g;
  kg.keyring_backend = cfg->keyring_backend;
  if (!cfg->keyring_home.empty()) kg.home = cfg->keyring_home;
  auto key = LoadKeyOrThrow(kg, cfg->key);
  spdlog::set_level(spdlog::level::from_str(a.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ checker: %v");

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::filesystem::create_directories(g.home);
  checker::CheckerDaemon d(std::move(cfg).value(), g.home, key);
  auto st = d.Start();
  if (!st.ok()) throw CommandError{st.error().message};
  std::cerr << "checker " << d.address() << " running (Ctrl-C to stop)\n" << std::flush;
  for (;;) {
    int sig = sigwaitinfo(&sigs, nullptr);
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
  }
  d.Stop();
  spdlog::info("checker stopped cleanly");
}

void PrintStatus(const json& j) {
  std::cout << "checker: " << j.value("checker", "?") << "\nnext_height: " << j.value("next_height", int64_t{0})
            << "\nattestations: " << j.value("attestations", uint64_t{0}) << " (pass " << j.value("passes", uint64_t{0})
            << ", fail " << j.value("fails", uint64_t{0}) << ", missed " << j.value("missed", uint64_t{0}) << ")\n";
  if (!j.value("last_error", "").empty()) std::cout << "last_error: " << j.value("last_error", "") << "\n";
  const json pending = j.value("pending", json::array());
  std::cout << "open assignments: " << pending.size() << "\n";
  for (const auto& p : pending)
    std::cout << "  challenge " << p.value("id", uint64_t{0}) << "  " << p.value("kind", "") << "  provider "
              << p.value("provider", "") << "\n";
  std::cout << "recent:\n";
  for (const auto& r : j.value("recent", json::array())) {
    if (r.contains("event")) {
      std::cout << "  " << r.value("event", "") << " at height " << r.value("height", int64_t{0}) << "\n";
      continue;
    }
    std::cout << "  challenge " << r.value("challenge_id", "?") << "  " << r.value("kind", "") << "  "
              << (r.value("missed", false) ? "MISSED"
                  : r.value("pass", false) ? "pass"
                                           : "FAIL")
              << "  " << r.value("reason", "")
              << (r.contains("error") ? "  (rejected: " + r.value("error", "") + ")" : "") << "\n";
  }
}

}  // namespace

void RegisterCheckerCommands(CLI::App& app, GlobalOptions& g) {
  auto a = std::make_shared<CheckerArgs>();
  auto* ck = app.add_subcommand("checker", "Checker daemon: run x/verify challenges and attest");
  ck->require_subcommand(1);
  auto* run = ck->add_subcommand("run", "Run the checker daemon (state lives under --home/checker)");
  run->add_option("--config", a->config, "Checker config (TOML; default <home>/config/checker.toml)");
  run->add_option("--log-level", a->log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  auto* node_opt = app.get_option_no_throw("--node");
  run->callback([&g, a, node_opt] { RunChecker(g, *a, node_opt != nullptr && node_opt->count() > 0); });

  auto* status = ck->add_subcommand("status", "What the checker under --home did: assignments, attestations");
  status->callback([&g] {
    auto j = checker::Checker::ReadStatus(g.home + "/checker");
    if (!j.ok()) throw CommandError{j.error().message};
    Print(g, *j, PrintStatus);
  });
}

}  // namespace depai::cli
