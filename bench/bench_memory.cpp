// Memory benchmark: the peak RSS of a node holding 1,000,000 accounts and 100,000 providers.
//
// A child process builds the state through the real path (a JSON genesis imported by InitChain:
// x/auth accounts, x/bank balances, x/provider registrations with attributes, committed with
// block 1 to an on-disk RocksDB in a temp directory) and exits. This process then reopens the
// node from disk (App::Open, which runs the full invariants) and runs blocks of signed transfers
// between random accounts, and reports its peak RSS (getrusage ru_maxrss and /proc/self/status
// VmHWM). Anchor, measured first in the same process: an empty chain (no accounts, no providers)
// reopened the same way and run for the same number of (empty) blocks. Bar: under 1 GiB.
// Sizes: DEPAI_BENCH_MEMORY_ACCOUNTS / DEPAI_BENCH_MEMORY_PROVIDERS override the defaults (smoke runs).
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "app/app.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "x/provider/keeper.h"

using namespace depai;

namespace {
constexpr int kBlocks = 30;
constexpr int kTxsPerBlock = 2000;  // 60,000 transfers, each from a distinct random account
constexpr uint64_t kBalance = 1'000'000'000;
constexpr uint64_t kCollateral = 5'000'000;
constexpr const char* kChainId = "bench-memory-1";

int EnvInt(const char* name, int dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : dflt;
}

double MiB(long kib) { return static_cast<double>(kib) / 1024.0; }

// A field of /proc/self/status in KiB (VmHWM, VmRSS), or -1.
long StatusKiB(const std::string& field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

long MaxRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Resets VmHWM to the current RSS (Linux: "5" > /proc/self/clear_refs). ru_maxrss cannot be reset.
void ResetHwm() {
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";
}

// Account i's address. The accounts that send in the measured blocks have keys (seed from i);
// the others get an address straight from a hash (deriving 1,000,000 ed25519 keys costs minutes).
std::string Seed(int i) { return crypto::Sha256("bench-memory-" + std::to_string(i)); }
std::string Address(int i, const std::set<int>& keyed) {
  Bytes a = keyed.count(i) ? crypto::AddressOf(crypto::KeyFromSeed(Seed(i))->pubkey) : Seed(i).substr(0, 20);
  return crypto::AddressToBech32(a);
}

// One registration as `depai tx provider register` stores it: endpoint, location, region, sorted
// attributes, resources with GPUs and storage, collateral, heights.
nlohmann::json ProviderJson(int i, const std::string& owner) {
  using nlohmann::json;
  const std::string n = std::to_string(i);
  json attrs = json::array({{{"key", "country"}, {"value", i % 2 ? "de" : "us"}},
                            {{"key", "datacenter"}, {"value", "dc-" + std::to_string(i % 997)}},
                            {{"key", "gpu.cuda"}, {"value", "12.4"}},
                            {{"key", "network"}, {"value", "10gbe"}},
                            {{"key", "tier"}, {"value", i % 3 ? "gold" : "silver"}}});
  json res = {
      {"cpu_millicores", "64000"},
      {"memory_mib", "262144"},
      {"gpus",
       json::array(
           {{{"vendor", "nvidia"}, {"model", "h100"}, {"count", 8}, {"vram_mib", "81920"}, {"interface", "sxm"}}})},
      {"storage", json::array({{{"storage_class", "nvme"}, {"size_mib", "3815447"}}})},
      {"bandwidth_mbps", "10000"}};
  return {{"owner", owner},
          {"endpoint", "https://provider-" + n + ".example.net:8443"},
          {"location", {{"lat_e6", std::to_string(52'000'000 + i % 1000)}, {"lon_e6", "13405000"}, {"cell", "8a1f1d"}}},
          {"region", i % 2 ? "eu-west" : "us-east"},
          {"attributes", attrs},
          {"resources", res},
          {"collateral", std::to_string(kCollateral)},
          {"registered_height", "0"},
          {"heartbeat_windows", "1"},
          {"last_heartbeat_height", "0"}};
}

// The genesis app_state as a string, written entry by entry (no JSON tree of a million objects here;
// InitChain parses it as a node would).
std::string Genesis(int accounts, int providers, const std::set<int>& keyed) {
  std::string auth = "[", bank = "[", prov = "[";
  for (int i = 0; i < accounts; ++i) {
    const std::string a = Address(i, keyed);
    if (i) auth += ",", bank += ",";
    auth += nlohmann::json{{"address", a}, {"account_number", std::to_string(i)}}.dump();
    bank +=
        nlohmann::json{{"address", a}, {"coins", {{{"denom", "udpai"}, {"amount", std::to_string(kBalance)}}}}}.dump();
    // Every tenth account runs a provider, up to `providers`.
    if (i % 10 == 0 && i / 10 < providers) prov += (i ? "," : "") + ProviderJson(i / 10, a).dump();
  }
  if (providers > 0) {
    const uint64_t bond = static_cast<uint64_t>(providers) * kCollateral;
    bank += std::string(accounts ? "," : "") +
            nlohmann::json{{"address", crypto::AddressToBech32(x::provider::BondAddress())},
                           {"coins", {{{"denom", "udpai"}, {"amount", std::to_string(bond)}}}}}
                .dump();
  }
  auth += "]", bank += "]", prov += "]";
  return R"({"auth":{"accounts":)" + auth +
         R"(},"bank":{"denom_metadata":[{"denom":"udpai","exponent":6}],"balances":)" + bank +
         R"(},"provider":{"providers":)" + prov + "}}";
}

struct SetupReport {
  double seconds = 0;
  long maxrss_kib = 0;
  bool ok = false;
};

// Builds the chain in a child process (InitChain + block 1 + Commit) so that its memory does not
// count in this process's peak. Returns the child's time and peak RSS.
SetupReport SetupInChild(const std::filesystem::path& dir, int accounts, int providers, const std::set<int>& keyed) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    auto t0 = std::chrono::steady_clock::now();
    SetupReport r;
    {
      app::AppOptions o;
      o.db_path = dir.string();
      auto opened = app::App::Open(o);
      if (!opened.ok()) {
        fprintf(stderr, "App::Open: %s\n", opened.error().message.c_str());
        _exit(1);
      }
      auto app = std::move(opened).value();
      app::RequestInitChain ic;
      ic.chain_id = kChainId;
      ic.app_state_bytes = Genesis(accounts, providers, keyed);
      auto icr = app->InitChain(ic);
      ic.app_state_bytes.clear();
      ic.app_state_bytes.shrink_to_fit();
      if (!icr.ok()) {
        fprintf(stderr, "InitChain: %s\n", icr.error().message.c_str());
        _exit(1);
      }
      app::RequestFinalizeBlock fb;
      fb.height = 1;
      fb.time_unix_ms = 1'700'000'000'000;
      if (!app->FinalizeBlock(fb).ok() || !app->Commit().ok()) _exit(1);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.maxrss_kib = MaxRssKiB();
    r.ok = true;
    if (write(fds[1], &r, sizeof r) != sizeof r) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  SetupReport r;
  if (read(fds[0], &r, sizeof r) != sizeof r) r.ok = false;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) r.ok = false;
  return r;
}

struct RunReport {
  long open_hwm_kib = 0, open_rss_kib = 0, hwm_kib = 0, maxrss_kib = 0, rss_kib = 0;
  double open_s = 0, blocks_s = 0;
  bool ok = false;
};

// Reopens the chain at `dir` from disk and runs `blocks` (each a list of signed txs; all must succeed).
RunReport ReopenAndRun(const std::filesystem::path& dir, const std::vector<std::vector<Bytes>>& blocks,
                       benchmark::State& state) {
  RunReport r;
  ResetHwm();
  auto t0 = std::chrono::steady_clock::now();
  app::AppOptions o;
  o.db_path = dir.string();
  auto opened = app::App::Open(o);
  if (!opened.ok()) {
    state.SkipWithError(("App::Open: " + opened.error().message).c_str());
    return r;
  }
  auto app = std::move(opened).value();
  auto t1 = std::chrono::steady_clock::now();
  r.open_hwm_kib = StatusKiB("VmHWM");
  r.open_rss_kib = StatusKiB("VmRSS");
  for (const auto& txs : blocks) {
    app::RequestFinalizeBlock req;
    req.height = app->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    req.txs = txs;
    auto res = app->FinalizeBlock(req);
    if (!res.ok()) {
      state.SkipWithError(("FinalizeBlock: " + res.error().message).c_str());
      return r;
    }
    for (const auto& tr : res->tx_results)
      if (tr.code != 0) {
        state.SkipWithError(("tx failed: " + tr.log).c_str());
        return r;
      }
    if (!app->Commit().ok()) {
      state.SkipWithError("Commit failed");
      return r;
    }
  }
  r.open_s = std::chrono::duration<double>(t1 - t0).count();
  r.blocks_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  r.hwm_kib = StatusKiB("VmHWM");
  r.rss_kib = StatusKiB("VmRSS");
  r.maxrss_kib = MaxRssKiB();
  r.ok = true;
  return r;
}

void BM_MemoryReopenAndBlocks(benchmark::State& state) {
  const int accounts = EnvInt("DEPAI_BENCH_MEMORY_ACCOUNTS", 1'000'000);
  const int providers = EnvInt("DEPAI_BENCH_MEMORY_PROVIDERS", 100'000);
  const int txs_per_block = std::min(kTxsPerBlock, std::max(1, accounts / (2 * kBlocks)));
  const auto base = std::filesystem::temp_directory_path() / ("depai-bench-memory-" + std::to_string(::getpid()));
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base);
  const auto anchor_dir = base / "empty", big_dir = base / "big";
  const long start_rss = StatusKiB("VmRSS");

  // Senders: distinct random accounts, one transfer each; recipients: random accounts.
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> pick(0, accounts - 1);
  std::set<int> keyed;
  std::vector<int> senders;
  while (static_cast<int>(senders.size()) < kBlocks * txs_per_block)
    if (int i = pick(rng); keyed.insert(i).second) senders.push_back(i);

  // Both chains are built by children before this process opens any RocksDB (fork-safe).
  const SetupReport anchor_setup = SetupInChild(anchor_dir, 0, 0, {});
  const SetupReport setup = SetupInChild(big_dir, accounts, providers, keyed);
  if (!anchor_setup.ok || !setup.ok) {
    state.SkipWithError("chain setup failed");
    return;
  }

  // Pre-sign the blocks (outside both measurements; held in memory during both).
  std::vector<std::vector<Bytes>> blocks(kBlocks), empty_blocks(kBlocks);
  client::TxOptions opts;
  opts.fee = Coins::Parse("10udpai").value();
  for (int b = 0, s = 0; b < kBlocks; ++b)
    for (int t = 0; t < txs_per_block; ++t, ++s) {
      const int from = senders[s];
      const auto key = *crypto::KeyFromSeed(Seed(from));
      client::SignerData sd{kChainId, static_cast<uint64_t>(from), 0};
      blocks[b].push_back(client::BuildSignedTx(
          key, sd,
          {client::PackMsgSend(Address(from, keyed), Address(pick(rng), keyed), Coins::Parse("1udpai").value())},
          opts));
    }

  RunReport anchor, run;
  for (auto _ : state) {
    anchor = ReopenAndRun(anchor_dir, empty_blocks, state);
    if (!anchor.ok) return;
    run = ReopenAndRun(big_dir, blocks, state);
    if (!run.ok) return;
  }
  std::filesystem::remove_all(base);
  state.counters["accounts"] = accounts;
  state.counters["providers"] = providers;
  state.counters["txs"] = kBlocks * txs_per_block;
  state.counters["start_rss_MiB"] = MiB(start_rss);
  state.counters["anchor_hwm_MiB"] = MiB(anchor.hwm_kib);
  state.counters["anchor_maxrss_MiB"] = MiB(anchor.maxrss_kib);
  state.counters["open_hwm_MiB"] = MiB(run.open_hwm_kib);
  state.counters["open_rss_MiB"] = MiB(run.open_rss_kib);
  state.counters["hwm_MiB"] = MiB(run.hwm_kib);
  state.counters["maxrss_MiB"] = MiB(run.maxrss_kib);
  state.counters["rss_end_MiB"] = MiB(run.rss_kib);
  state.counters["ratio_hwm"] = static_cast<double>(run.hwm_kib) / static_cast<double>(anchor.hwm_kib);
  state.counters["under_1GiB"] = run.maxrss_kib < 1024 * 1024 ? 1 : 0;
  state.counters["open_s"] = run.open_s;
  state.counters["blocks_s"] = run.blocks_s;
  state.counters["setup_s"] = setup.seconds;
  state.counters["setup_child_maxrss_MiB"] = MiB(setup.maxrss_kib);
}

}  // namespace

BENCHMARK(BM_MemoryReopenAndBlocks)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

int main(int argc, char** argv) {
  crypto::InitCrypto();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
