// x/channel benchmark: off-chain payments against the anchors measured in the same run.
//
//   BM_Ed25519Verify        the raw libsodium ed25519 verify of a 150-byte message (the anchor)
//   BM_TicketVerify         one PayWord step as the payee checks it: SHA-256(h_k) == h_{k-1}
//                           (client::VerifyTicketStep). Bar: >= 1M/s per core.
//   BM_VoucherVerify        a voucher as the payee checks it: sign bytes + ed25519 verify
//                           (client::VerifyVoucher). Bar: >= 0.9 of the raw verify rate.
//   BM_StreamVoucher/Ticket end to end: paid units per second over a loopback WebSocket (the
//                           receiver, client::ChannelReceiver, and the payer, client::PayOverStream,
//                           both in this process), one round trip per unit.
//   BM_LedgerTxPerSecond    the ledger's tx/s: pre-signed MsgSend blocks through FinalizeBlock +
//                           Commit on RocksDB (the method of bench_execution.cpp, smaller).
// Each reports `ratio` against its anchor (verify rate, or the ledger's tx/s). Figures:
// bench/README.md.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app/app.h"
#include "client/channel.h"
#include "client/channel_stream.h"
#include "client/tx_builder.h"
#include "crypto/bech32.h"
#include "crypto/hash.h"

using namespace depai;

namespace {

double g_verify_rate = 0;
double g_ledger_tps = 0;

double MeasureVerifyRate() {
  if (g_verify_rate > 0) return g_verify_rate;
  auto key = crypto::GenerateKey();
  std::string msg(150, 'm');
  auto sig = crypto::Sign(key, msg);
  const int n = 20000;
  auto t0 = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += crypto::Verify(key.pubkey, msg, sig);
  benchmark::DoNotOptimize(ok);
  g_verify_rate = n / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return g_verify_rate;
}

void BM_Ed25519Verify(benchmark::State& state) {
  auto key = crypto::GenerateKey();
  std::string msg(150, 'm');
  auto sig = crypto::Sign(key, msg);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Verify(key.pubkey, msg, sig));
  state.SetItemsProcessed(state.iterations());
}

void BM_TicketVerify(benchmark::State& state) {
  const double anchor = MeasureVerifyRate();
  client::HashChain chain(crypto::Sha256("bench-seed"), 4096);
  std::vector<Bytes> h;
  for (uint64_t k = 0; k <= 4096; ++k) h.push_back(chain.at(k));
  size_t k = 1;
  int ok = 0;
  for (auto _ : state) {
    ok += client::VerifyTicketStep(h[k], h[k - 1]);
    if (++k > 4096) k = 1;
  }
  if (ok != static_cast<int>(state.iterations())) state.SkipWithError("a ticket failed");
  state.SetItemsProcessed(state.iterations());
  state.counters["per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["verify_per_s_1core"] = anchor;
}

void BM_VoucherVerify(benchmark::State& state) {
  const double anchor = MeasureVerifyRate();
  auto key = crypto::GenerateKey();
  auto v = client::SignVoucher(key, "depai-bench-1", x::channel::VoucherFields{7, 123456, 42, {}, 0, 0}).value();
  int ok = 0;
  for (auto _ : state) ok += client::VerifyVoucher(key.pubkey, "depai-bench-1", 7, v).ok();
  if (ok != static_cast<int>(state.iterations())) state.SkipWithError("a voucher failed");
  state.SetItemsProcessed(state.iterations());
  state.counters["per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["verify_per_s_1core"] = anchor;
}

double MeasureLedgerTps() {
  if (g_ledger_tps > 0) return g_ledger_tps;
  constexpr int kAccounts = 2000, kTxsPerBlock = 1000, kBlocks = 4;
  const auto dir = std::filesystem::temp_directory_path() / ("depai-bench-channel-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::vector<crypto::KeyPair> keys;
  std::vector<std::string> addrs;
  nlohmann::json accs = nlohmann::json::array(), bals = nlohmann::json::array();
  for (int i = 0; i < kAccounts; ++i) {
    keys.push_back(*crypto::KeyFromSeed(crypto::Sha256("bench-" + std::to_string(i))));
    addrs.push_back(crypto::AddressToBech32(crypto::AddressOf(keys.back().pubkey)));
    accs.push_back({{"address", addrs.back()}, {"account_number", std::to_string(i)}});
    bals.push_back({{"address", addrs.back()}, {"coins", {{{"denom", "udpai"}, {"amount", "1000000000000"}}}}});
  }
  nlohmann::json g = {{"auth", {{"accounts", accs}}},
                      {"bank", {{"denom_metadata", {{{"denom", "udpai"}, {"exponent", 6}}}}, {"balances", bals}}}};
  app::AppOptions o;
  o.db_path = dir.string();
  auto a = std::move(app::App::Open(o)).value();
  app::RequestInitChain ic;
  ic.chain_id = "bench-1";
  ic.app_state_bytes = g.dump();
  if (!a->InitChain(ic).ok()) std::abort();
  app::RequestFinalizeBlock fb;
  fb.height = 1;
  if (!a->FinalizeBlock(fb).ok() || !a->Commit().ok()) std::abort();
  std::vector<std::vector<Bytes>> blocks;
  std::vector<uint64_t> seq(kAccounts, 0);
  client::TxOptions opts;
  opts.fee = Coins::Parse("10udpai").value();
  int sender = 0;
  for (int b = 0; b < kBlocks; ++b) {
    std::vector<Bytes> txs;
    for (int t = 0; t < kTxsPerBlock; ++t, sender = (sender + 1) % kAccounts) {
      client::SignerData sd{"bench-1", static_cast<uint64_t>(sender), seq[sender]++};
      txs.push_back(client::BuildSignedTx(
          keys[sender], sd,
          {client::PackMsgSend(addrs[sender], addrs[(sender * 7 + 13) % kAccounts], Coins::Parse("1udpai").value())},
          opts));
    }
    blocks.push_back(std::move(txs));
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& txs : blocks) {
    app::RequestFinalizeBlock req;
    req.height = a->last_height() + 1;
    req.time_unix_ms = 1'700'000'000'000 + req.height * 1000;
    req.txs = txs;
    auto r = a->FinalizeBlock(req);
    if (!r.ok() || !a->Commit().ok()) std::abort();
  }
  g_ledger_tps = kBlocks * kTxsPerBlock / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  a.reset();
  std::filesystem::remove_all(dir);
  return g_ledger_tps;
}

void BM_LedgerTxPerSecond(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(MeasureLedgerTps());
  state.counters["tx_per_s"] = g_ledger_tps;
}

void Stream(benchmark::State& state, bool tickets) {
  const double tps = MeasureLedgerTps();
  const uint64_t units = static_cast<uint64_t>(state.range(0));
  auto key = *crypto::KeyFromSeed(crypto::Sha256("bench-voucher-key"));
  double paid_s = 0;
  uint64_t paid = 0;
  for (auto _ : state) {
    state.PauseTiming();
    client::ReceiverState st(1, "bench-1", key.pubkey, 0);
    client::ChannelReceiver r(std::move(st), client::ReceiverOptions{"127.0.0.1:0", "", 1, 32});
    if (!r.Start().ok()) std::abort();
    client::PayOptions o{
        "ws://127.0.0.1:" + std::to_string(r.port()) + "/channel/1/stream", 1, "bench-1", units, tickets, 1};
    state.ResumeTiming();
    auto sum = client::PayOverStream(key, o);
    state.PauseTiming();
    if (!sum.ok()) {
      state.SkipWithError(sum.error().message.c_str());
      return;
    }
    paid += sum->units;
    paid_s += sum->elapsed_s;
    r.Stop();
    state.ResumeTiming();
  }
  state.counters["units_per_s"] = paid_s > 0 ? paid / paid_s : 0;
  state.counters["ledger_tx_per_s"] = tps;
  state.counters["ratio"] = paid_s > 0 && tps > 0 ? paid / paid_s / tps : 0;
}
void BM_StreamVoucher(benchmark::State& state) { Stream(state, false); }
void BM_StreamTicket(benchmark::State& state) { Stream(state, true); }

}  // namespace

BENCHMARK(BM_Ed25519Verify);
BENCHMARK(BM_TicketVerify);
BENCHMARK(BM_VoucherVerify);
BENCHMARK(BM_LedgerTxPerSecond)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamVoucher)->Arg(5000)->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StreamTicket)->Arg(5000)->Iterations(2)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
