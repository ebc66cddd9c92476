// `depai verify prove`: the compute challenge's product C = A*B mod p for a seed (proof/prover.h),
// written as n*n little-endian u32 (row-major) to --out, with the Merkle root of its rows.
// Operators use it to time their hardware; tests use it to build honest and cheating answers; the
// provider daemon's `[verify] prover` may point at any executable with the same arguments.
// Prints one JSON line: {"root": hex, "n": N, "ms": proving + tree time, "threads": T, "prover": "cpu"|"cuda"}.
#include <bit>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "proof/compute.h"
#include "proof/prover.h"
#include "util/bytes.h"
#include "util/files.h"

namespace depai::cli {

namespace {

struct ProveArgs {
  std::string seed_hex;
  uint32_t n = 0;
  std::string out;
  unsigned threads = 0;
  bool cuda = false;
};

void Prove(const ProveArgs& a) {
  auto seed = HexDecode(a.seed_hex);
  if (a.seed_hex.size() != 64 || !seed || seed->size() != 32)
    throw CommandError{"--seed: expected 64 hex characters (32 bytes), got '" + a.seed_hex + "'"};
  if (a.n < proof::kMinN || a.n > proof::kMaxN || a.n % 8 != 0)
    throw CommandError{"--n: expected a multiple of 8 in [" + std::to_string(proof::kMinN) + ", " +
                       std::to_string(proof::kMaxN) + "], got " + std::to_string(a.n)};
  if (a.out.empty()) throw CommandError{"--out: a file path is required"};
  if (a.cuda && a.threads != 0) throw CommandError{"--threads applies to the CPU prover, not --cuda"};
  const unsigned threads = a.cuda ? 0 : (a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency()));

  const auto t0 = std::chrono::steady_clock::now();
  proof::Product p;
  if (a.cuda) {
    auto r = proof::ProveCuda(*seed, a.n);
    if (!r.ok()) throw CommandError{"--cuda: " + r.error().message};
    p = std::move(r).value();
  } else {
    p = proof::ProveCpu(*seed, a.n, threads);
  }
  const proof::MerkleTree tree = proof::BuildTree(p);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();

  Status st;
  if constexpr (std::endian::native == std::endian::little) {
    st = WriteFileAtomic(a.out, std::string_view(reinterpret_cast<const char*>(p.c.data()), p.c.size() * 4));
  } else {
    st = WriteFileAtomic(a.out, proof::RowBytes(p.c.data(), static_cast<uint32_t>(p.c.size())));
  }
  if (!st.ok()) throw CommandError{"--out " + a.out + ": " + st.error().message};
  nlohmann::json j = {{"root", HexEncode(tree.root())},
                      {"n", a.n},
                      {"ms", ms},
                      {"threads", threads},
                      {"prover", a.cuda ? "cuda" : "cpu"}};
  std::cout << j.dump() << "\n";
}

}  // namespace

void RegisterVerifyProveCommands(CLI::App& app, GlobalOptions& g) {
  auto* verify = app.add_subcommand("verify", "Compute-challenge tools (doc/modules/verify-compute.md)");
  verify->require_subcommand(1);
  auto a = std::make_shared<ProveArgs>();
  auto* prove = verify->add_subcommand(
      "prove", "Compute C = A*B mod p for a challenge seed; write its rows and print the Merkle root");
  prove->add_option("--seed", a->seed_hex, "Challenge seed (64 hex characters)")->required();
  prove->add_option("--n", a->n, "Matrix size (a multiple of 8, 8..65536)")->required();
  prove->add_option("--out", a->out, "Output file: n*n little-endian u32, row-major")->required();
  prove->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  prove->add_flag("--cuda", a->cuda, "Use the CUDA prover (builds with -DDEPAI_WITH_CUDA=ON)");
  prove->callback([a] { Prove(*a); });
  (void)g;
}

}  // namespace depai::cli
