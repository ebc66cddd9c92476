// x/market per-block cost with many open leases: settlement is lazy, so an empty block must cost
// the same with 0, 10,000 or 100,000 open leases.
//
// Two measurements, each beside its anchor (the same measurement with 0 leases, in the same run):
//  - BM_MarketEndBlock/N: the market's end_block alone (auto-select windows + escrow events due
//    at this height) on a branch over an in-memory store holding N open leases (plus their orders,
//    escrows, bids and indexes), one iteration = one height.
//  - BM_MarketFinalizeCommit/N: the whole App, FinalizeBlock + Commit of an empty block, on an
//    on-disk RocksDB state whose genesis holds N open leases (imported through the market genesis).
// Counters: us_per_block, anchor_us_per_block (0 leases, same process) and ratio = us / anchor.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"
#include "store/mem_store.h"
#include "x/market/keeper.h"
#include "x/market/module.h"

using namespace depai;
namespace mv1 = depai::market::v1;

namespace {
constexpr uint64_t kRate = 10;
constexpr uint64_t kEscrow = kRate * 1'000'000;  // App chains: funds 1e6 blocks, none due while measuring
// The keeper-level benchmark runs millions of heights: fund 1e12 blocks there.
constexpr uint64_t kKeeperEscrow = kRate * 1'000'000'000'000;
constexpr uint64_t kDeposit = 100000;

std::string Bech(const std::string& seed) { return crypto::AddressToBech32(crypto::Sha256(seed).substr(0, 20)); }

struct Records {
  std::vector<mv1::Order> orders;
  std::vector<mv1::Escrow> escrows;
  std::vector<mv1::Bid> bids;
  std::vector<mv1::Lease> leases;
};

// N orders, each ACTIVE with one WON bid and one ACTIVE lease started at height 1.
Records MakeRecords(int n, uint64_t escrow) {
  Records r;
  std::vector<std::string> owners, providers;
  for (int i = 0; i < 1000; ++i) owners.push_back(Bech("owner-" + std::to_string(i)));
  for (int i = 0; i < 100; ++i) providers.push_back(Bech("provider-" + std::to_string(i)));
  for (int i = 1; i <= n; ++i) {
    const std::string& owner = owners[i % owners.size()];
    const std::string& prov = providers[i % providers.size()];
    mv1::Order o;
    o.set_id(i);
    o.set_owner(owner);
    auto* g = o.add_groups();
    g->set_name("job");
    g->set_count(1);
    g->mutable_units()->set_cpu_millicores(1000);
    o.set_max_price_per_block(std::to_string(kRate));
    o.set_bid_window_blocks(5);
    o.set_manifest_hash(crypto::Sha256("m"));
    o.set_state(mv1::ORDER_STATE_ACTIVE);
    o.set_created_height(1);
    o.set_bid_window_end(1);
    o.set_lease_id(i);
    r.orders.push_back(o);
    mv1::Escrow e;
    e.set_order_id(i);
    e.set_owner(owner);
    e.set_balance(std::to_string(escrow));
    e.set_settled_height(1);
    e.set_debt("0");
    e.set_withdrawable("0");
    e.set_paid_to_provider("0");
    e.set_paid_take_fee("0");
    r.escrows.push_back(e);
    mv1::Bid b;
    b.set_order_id(i);
    b.set_provider(prov);
    b.set_price_per_block(std::to_string(kRate));
    b.set_deposit(std::to_string(kDeposit));
    b.set_height(1);
    b.set_state(mv1::BID_STATE_WON);
    r.bids.push_back(b);
    mv1::Lease l;
    l.set_id(i);
    l.set_order_id(i);
    l.set_owner(owner);
    l.set_provider(prov);
    l.set_price_per_block(std::to_string(kRate));
    l.set_state(mv1::LEASE_STATE_ACTIVE);
    l.set_start_height(1);
    r.leases.push_back(l);
  }
  return r;
}

// ---- keeper level -------------------------------------------------------------------------

class NullBank : public x::market::BankKeeper {
 public:
  Status send(x::Context&, std::string_view, std::string_view, const Coins&, bool) const override { return {}; }
  Result<Amount> balance(const store::KVReader&, std::string_view, std::string_view) const override { return Amount(); }
};

struct KeeperWorld {
  NullBank bank;
  x::market::Keeper keeper{nullptr, &bank};
  store::MemStore store;
  int64_t height = 2;
};

std::map<int, std::unique_ptr<KeeperWorld>> g_worlds;

KeeperWorld& World(int n) {
  auto& w = g_worlds[n];
  if (w) return *w;
  w = std::make_unique<KeeperWorld>();
  Records r = MakeRecords(n, kKeeperEscrow);
  for (const auto& o : r.orders) w->keeper.set_order(w->store, o);
  for (const auto& e : r.escrows) w->keeper.set_escrow(w->store, e);
  for (const auto& b : r.bids) w->keeper.set_bid(w->store, b);
  for (const auto& l : r.leases) w->keeper.set_lease(w->store, l);
  w->keeper.set_params(w->store, x::market::DefaultParams());
  w->keeper.rebuild_indexes(w->store, 2);
  return *w;
}

// One height: end_block on a fresh branch, written back (like FinalizeBlock + Commit).
void EndBlockOnce(KeeperWorld& w) {
  store::CacheStore branch(&w.store);
  x::GasMeter gas = x::GasMeter::Infinite();
  x::EventManager events;
  x::BlockHeader header{"bench", w.height++, 0, {}, {}};
  x::Context ctx{&branch, &gas, &events, &header, false};
  if (!w.keeper.end_block(ctx).ok()) std::abort();
  branch.write_to(w.store);
}

double TimeUs(const std::function<void()>& f, int reps) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void BM_MarketEndBlock(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  KeeperWorld& w = World(n);
  KeeperWorld& anchor = World(0);
  for (auto _ : state) EndBlockOnce(w);
  const double us = TimeUs([&] { EndBlockOnce(w); }, 2000);
  const double a = TimeUs([&] { EndBlockOnce(anchor); }, 2000);
  state.counters["open_leases"] = n;
  state.counters["us_per_block"] = us;
  state.counters["anchor_us_per_block"] = a;
  state.counters["ratio"] = us / a;
}

// ---- whole app ----------------------------------------------------------------------------

struct Chain {
  std::filesystem::path dir;
  std::unique_ptr<app::App> app;
  double setup_s = 0;
};
std::map<int, std::unique_ptr<Chain>> g_chains;

Chain& GetChain(int n) {
  auto& c = g_chains[n];
  if (c) return *c;
  auto t0 = std::chrono::steady_clock::now();
  c = std::make_unique<Chain>();
  c->dir = std::filesystem::temp_directory_path() /
           ("depai-bench-market-" + std::to_string(::getpid()) + "-" + std::to_string(n));
  std::filesystem::remove_all(c->dir);
  Records r = MakeRecords(n, kEscrow);
  nlohmann::json orders = nlohmann::json::array(), escrows = nlohmann::json::array(), bids = nlohmann::json::array(),
                 leases = nlohmann::json::array();
  for (const auto& o : r.orders) {
    auto j = x::market::ProtoToJson(o);
    j["manifest_hash"] = crypto::Base64Encode(o.manifest_hash());  // genesis uses proto JSON (base64)
    orders.push_back(std::move(j));
  }
  for (const auto& e : r.escrows) escrows.push_back(x::market::ProtoToJson(e));
  for (const auto& b : r.bids) bids.push_back(x::market::ProtoToJson(b));
  for (const auto& l : r.leases) leases.push_back(x::market::ProtoToJson(l));
  const uint64_t held = static_cast<uint64_t>(n) * (kEscrow + kDeposit);
  std::string user = Bech("bench-user");
  nlohmann::json bals = nlohmann::json::array();
  bals.push_back({{"address", user}, {"coins", {{{"denom", "udpai"}, {"amount", "1000000000"}}}}});
  if (held > 0)
    bals.push_back({{"address", crypto::AddressToBech32(x::market::EscrowModuleAddress())},
                    {"coins", {{{"denom", "udpai"}, {"amount", std::to_string(held)}}}}});
  nlohmann::json g = {{"auth", {{"accounts", nlohmann::json::array()}}},
                      {"bank", {{"denom_metadata", {{{"denom", "udpai"}, {"exponent", 6}}}}, {"balances", bals}}},
                      {"market",
                       {{"orders", orders},
                        {"escrows", escrows},
                        {"bids", bids},
                        {"leases", leases},
                        {"last_order_id", std::to_string(n)},
                        {"last_lease_id", std::to_string(n)}}}};
  app::AppOptions o;
  o.db_path = c->dir.string();
  c->app = std::move(app::App::Open(o)).value();
  app::RequestInitChain ic;
  ic.chain_id = "bench-market-1";
  ic.app_state_bytes = g.dump();
  auto icr = c->app->InitChain(ic);
  if (!icr.ok()) {
    fprintf(stderr, "InitChain: %s\n", icr.error().message.c_str());
    std::abort();
  }
  app::RequestFinalizeBlock fb;
  fb.height = 1;
  if (!c->app->FinalizeBlock(fb).ok() || !c->app->Commit().ok()) std::abort();
  c->setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return *c;
}

void EmptyBlock(Chain& c) {
  app::RequestFinalizeBlock req;
  req.height = c.app->last_height() + 1;
  req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
  auto r = c.app->FinalizeBlock(req);
  if (!r.ok()) {
    fprintf(stderr, "FinalizeBlock: %s\n", r.error().message.c_str());
    std::abort();
  }
  if (!c.app->Commit().ok()) std::abort();
}

void BM_MarketFinalizeCommit(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Chain& c = GetChain(n);
  Chain& anchor = GetChain(0);
  for (auto _ : state) EmptyBlock(c);
  const double us = TimeUs([&] { EmptyBlock(c); }, 200);
  const double a = TimeUs([&] { EmptyBlock(anchor); }, 200);
  state.counters["open_leases"] = n;
  state.counters["us_per_block"] = us;
  state.counters["anchor_us_per_block"] = a;
  state.counters["ratio"] = us / a;
  state.counters["setup_s"] = c.setup_s;
  if (!c.app->CheckInvariants().ok()) state.SkipWithError("market invariant broken");
}

}  // namespace

BENCHMARK(BM_MarketEndBlock)->Arg(0)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MarketFinalizeCommit)->Arg(0)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (auto& [n, c] : g_chains) {
    c->app.reset();
    std::filesystem::remove_all(c->dir);
  }
  return 0;
}
