// The compute challenge's costs (bench/README.md, "bench_verify"): proving vs checking, Merkle
// proof checks per second per core beside raw SHA-256, and the chain's cost of a dispute.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "crypto/hash.h"
#include "proof/compute.h"
#include "proof/merkle.h"
#include "proof/prover.h"

namespace {

using depai::Bytes;
using namespace depai::proof;
using Clock = std::chrono::steady_clock;

const std::string kSeed(32, '\x5a');
constexpr uint32_t kSampled = 32;  // s rows per challenge
constexpr uint32_t kRounds = 2;    // Freivalds rounds

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// A committed challenge: the product and its tree.
struct Committed {
  Product p;
  std::unique_ptr<MerkleTree> tree;
};

// The checker's whole job for one challenge, fetch-free: B r for each round (regenerating B), then
// for each of the s sampled rows the Merkle opening (leaf hash of the row + path) and Freivalds
// (regenerating A_i). Returns false if an honest row fails (the benchmark then errors).
bool CheckChallenge(const Committed& c, uint32_t n) {
  const Freivalds f(kSeed, n, "checker's own r", kRounds);
  bool ok = true;
  for (uint32_t i : SampleRows("sample seed", n, kSampled)) {
    const uint32_t* row = c.p.c.data() + static_cast<size_t>(i) * n;
    ok &= VerifyProof(c.tree->root(), n, i, LeafHash(i, n, RowBytes(row, n)), c.tree->proof(i));
    ok &= f.check_row(i, row);
  }
  return ok;
}

// (a) One run: ProveCpu on all cores (timed once: n^3 work), then the checker's cost (timed over
// several repetitions, single-threaded), reported as a ratio.
void BM_CheckVsProve(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  double prove_s = 0, check_s = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    Product p = ProveCpu(kSeed, n);
    prove_s = Seconds(t0, Clock::now());
    benchmark::DoNotOptimize(p.c.data());
    Committed c;
    c.tree = std::make_unique<MerkleTree>(BuildTree(p));
    c.p = std::move(p);
    const int reps = 3;
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      const auto t1 = Clock::now();
      if (!CheckChallenge(c, n)) state.SkipWithError("an honest row failed the check");
      best = std::min(best, Seconds(t1, Clock::now()));
    }
    check_s = best;
  }
  state.counters["prove_s"] = prove_s;
  state.counters["prove_threads"] = std::max(1u, std::thread::hardware_concurrency());
  state.counters["check_ms"] = check_s * 1e3;
  state.counters["check_over_prove_pct"] = 100.0 * check_s / prove_s;
  state.counters["mul_add_per_s"] = static_cast<double>(n) * n * n / prove_s;
}
BENCHMARK(BM_CheckVsProve)->Arg(1024)->Arg(4096)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// The checker's parts alone, at n (for the breakdown in bench/README.md).
void BM_CheckerFreivaldsSetup(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    Freivalds f(kSeed, n, "r", kRounds);
    benchmark::DoNotOptimize(&f);
  }
}
BENCHMARK(BM_CheckerFreivaldsSetup)->Arg(4096)->Unit(benchmark::kMillisecond);

void BM_RegenerateB(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<uint32_t> row(n);
  for (auto _ : state)
    for (uint32_t i = 0; i < n; ++i) {
      Row(kSeed, n, Matrix::B, i, row.data());
      benchmark::DoNotOptimize(row.data());
    }
  state.counters["words_per_s"] =
      benchmark::Counter(static_cast<double>(n) * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_RegenerateB)->Arg(4096)->Unit(benchmark::kMillisecond);

// (b) Merkle proof checks at n = 4096 (12 siblings; the leaf hash is given), one core.
void BM_MerkleVerify(benchmark::State& state) {
  const uint32_t n = 4096;
  std::vector<Bytes> leaves;
  for (uint32_t i = 0; i < n; ++i) leaves.push_back(LeafHash(i, n, "row " + std::to_string(i)));
  const MerkleTree tree(leaves);
  std::vector<std::vector<Bytes>> proofs;
  for (uint32_t i = 0; i < n; ++i) proofs.push_back(tree.proof(i));
  uint32_t i = 0;
  for (auto _ : state) {
    if (!VerifyProof(tree.root(), n, i, leaves[i], proofs[i])) state.SkipWithError("proof failed");
    i = (i + 1) % n;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MerkleVerify);

// Anchor: one SHA-256 of a 65-byte node input (what each of the 12 levels costs).
void BM_Sha256Node(benchmark::State& state) {
  Bytes in(65, '\x01');
  for (auto _ : state) {
    Bytes h = depai::crypto::Sha256(in);
    in[1] = h[0];
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Sha256Node);

// (c) The chain's cost of a dispute: recompute row i (ComputeRow: n^2 multiply-adds, B regenerated)
// and check the provider's opening of it against the committed root.
void BM_Dispute(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  std::vector<Bytes> leaves;
  const uint32_t i = n / 3;
  const auto row = ComputeRow(kSeed, n, i);
  // A tree whose leaf i is the true row (the others are placeholders: the cost is the same).
  for (uint32_t k = 0; k < n; ++k) leaves.push_back(k == i ? LeafHash(i, n, RowBytes(row.data(), n)) : Bytes(32, 'x'));
  const MerkleTree tree(leaves);
  const auto proof = tree.proof(i);
  const Bytes opened = RowBytes(row.data(), n);
  for (auto _ : state) {
    std::vector<uint32_t> parsed;
    bool ok = ParseRow(opened, n, &parsed) && VerifyProof(tree.root(), n, i, LeafHash(i, n, opened), proof);
    const auto recomputed = ComputeRow(kSeed, n, i);
    ok &= recomputed == parsed;
    if (!ok) state.SkipWithError("dispute check failed on an honest row");
  }
}
BENCHMARK(BM_Dispute)->Arg(1024)->Arg(4096)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
