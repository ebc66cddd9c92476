// The epoch distribution of x/rewards at 100,000 providers (bench/README.md, "bench_economy").
//
// State is built through the real path: a JSON genesis imported by InitChain into an on-disk
// RocksDB (x/auth accounts, x/provider registrations, x/rewards work accumulators for the epoch,
// the pending pool's udpai), committed with block 1. Block 2 ends the epoch (epoch_blocks = 2):
// its FinalizeBlock walks every provider (x/verify standing per provider), pays each one's work
// share (a bank send and a ProviderRewards record each), writes the epoch record and clears the
// accumulators; Commit persists it. Reported: that block's FinalizeBlock and Commit in ms.
// Anchor, in the same run: the same epoch end on a chain with no providers (the empty epoch),
// and the 100k-provider walk with no billed work (nothing to pay).
// Size: DEPAI_BENCH_ECONOMY_PROVIDERS overrides 100,000 (smoke runs).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "x/provider/keeper.h"
#include "x/rewards/keeper.h"

using namespace depai;

namespace {
using Clock = std::chrono::steady_clock;
constexpr uint64_t kCollateral = 5'000'000;
constexpr uint64_t kPool = 1'000'000'000'000;  // 1M DPAI to distribute

int Providers() {
  const char* v = std::getenv("DEPAI_BENCH_ECONOMY_PROVIDERS");
  return v && *v ? std::atoi(v) : 100'000;
}

std::string Addr(int i) {
  return crypto::AddressToBech32(crypto::Sha256("bench-provider-" + std::to_string(i)).substr(0, 20));
}

std::string Genesis(int providers, bool work) {
  using nlohmann::json;
  std::string auth = "[", bank = "[", prov = "[", works = "[";
  for (int i = 0; i < providers; ++i) {
    const std::string a = Addr(i), sep = i ? "," : "";
    auth += sep + json{{"address", a}, {"account_number", std::to_string(i)}}.dump();
    bank += sep + json{{"address", a}, {"coins", {{{"denom", "udpai"}, {"amount", "1000000"}}}}}.dump();
    json res = {{"cpu_millicores", "64000"},
                {"memory_mib", "262144"},
                {"gpus", json::array({{{"vendor", "nvidia"}, {"model", "h100"}, {"count", 8}}})}};
    prov += sep + json{{"owner", a},
                       {"endpoint", "https://p" + std::to_string(i) + ".example.net:8443"},
                       {"region", i % 2 ? "eu-west" : "us-east"},
                       {"resources", res},
                       {"collateral", std::to_string(kCollateral)},
                       {"registered_height", "0"}}
                      .dump();
    if (work) works += sep + json{{"provider", a}, {"uusd", std::to_string(1000 + i % 977)}}.dump();
  }
  const std::string sep = providers ? "," : "";
  if (providers > 0)
    bank += sep + json{{"address", crypto::AddressToBech32(x::provider::BondAddress())},
                       {"coins", {{{"denom", "udpai"}, {"amount", std::to_string(kCollateral * providers)}}}}}
                      .dump();
  bank += sep + json{{"address", crypto::AddressToBech32(x::rewards::PendingAddress())},
                     {"coins", {{{"denom", "udpai"}, {"amount", std::to_string(kPool)}}}}}
                    .dump();
  auth += "]", bank += "]", prov += "]", works += "]";
  return R"({"auth":{"accounts":)" + auth +
         R"(},"bank":{"denom_metadata":[{"denom":"udpai","exponent":6},{"denom":"ucredit","exponent":6,"transferable":false}],"balances":)" +
         bank + R"(},"provider":{"providers":)" + prov +
         R"(},"mint":{"params":{"initial_reward":"0"}},"rewards":{"params":{"epoch_blocks":"2"},"work":)" + works +
         "}}";
}

// Builds the chain, runs block 1, then times block 2 (the epoch end). Sets ms counters.
void EpochEnd(benchmark::State& state, int providers, bool work) {
  const auto dir = std::filesystem::temp_directory_path() / ("depai-bench-economy-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  double finalize_ms = 0, commit_ms = 0;
  uint64_t rewarded = 0;
  for (auto _ : state) {
    {
      app::AppOptions o;
      o.db_path = dir.string();
      auto app = app::App::Open(o).value();
      app::RequestInitChain ic;
      ic.chain_id = "bench-economy-1";
      ic.app_state_bytes = Genesis(providers, work);
      auto r = app->InitChain(ic);
      if (!r.ok()) {
        state.SkipWithError(r.error().message.c_str());
        return;
      }
      app::RequestFinalizeBlock b1;
      b1.height = 1;
      b1.time_unix_ms = 1'700'000'000'000;
      if (!app->FinalizeBlock(b1).ok() || !app->Commit().ok()) {
        state.SkipWithError("block 1");
        return;
      }
      app::RequestFinalizeBlock b2;
      b2.height = 2;
      b2.time_unix_ms = 1'700'000'001'000;
      auto t0 = Clock::now();
      auto fb = app->FinalizeBlock(b2);
      auto t1 = Clock::now();
      if (!fb.ok()) {
        state.SkipWithError(fb.error().message.c_str());
        return;
      }
      auto c = app->Commit();
      auto t2 = Clock::now();
      if (!c.ok()) {
        state.SkipWithError(c.error().message.c_str());
        return;
      }
      finalize_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
      commit_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
      state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
      app::RequestQuery q;
      q.path = "/economy/epochs/0";
      auto rec = nlohmann::json::parse(app->Query(q).value);
      rewarded = std::stoull(rec["rewarded_providers"].get<std::string>());
    }
    std::filesystem::remove_all(dir);
  }
  state.counters["providers"] = providers;
  state.counters["rewarded"] = static_cast<double>(rewarded);
  state.counters["finalize_ms"] = finalize_ms;
  state.counters["commit_ms"] = commit_ms;
}

void BM_EpochEnd_Empty(benchmark::State& s) { EpochEnd(s, 0, false); }
void BM_EpochEnd_ProvidersNoWork(benchmark::State& s) { EpochEnd(s, Providers(), false); }
void BM_EpochEnd_ProvidersAllPaid(benchmark::State& s) { EpochEnd(s, Providers(), true); }
}  // namespace

BENCHMARK(BM_EpochEnd_Empty)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EpochEnd_ProvidersNoWork)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EpochEnd_ProvidersAllPaid)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
