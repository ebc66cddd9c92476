#include "proof/prover.h"

#include <algorithm>
#include <atomic>
#include <thread>

#ifdef DEPAI_HAVE_CUDA
#include "proof/prover_cuda.h"
#endif

namespace depai::proof {

namespace {

unsigned ThreadCount(unsigned threads) {
  if (threads == 0) threads = std::thread::hardware_concurrency();
  return threads == 0 ? 1 : threads;
}

// Runs body(t) for t in [0, threads) on threads-1 extra threads and the caller's.
template <typename F>
void ParallelFor(unsigned threads, const F& body) {
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back([&body, t] { body(t); });
  body(0);
  for (auto& th : pool) th.join();
}

// ---- the CPU kernel ----------------------------------------------------------------------
// Matrices are padded to np = n rounded up to a multiple of 8 (zeros: they add nothing), so the
// micro-tile (4 rows x 8 columns of u64 accumulators, kept in registers) never needs an edge case.
// A work unit is a block of kRowBlock rows; for each panel of kPanel columns it keeps the block's
// u64 accumulators (kRowBlock x kPanel), and for each tile of kTileK values of k it packs the
// B tile (kTileK x kPanel) into 8-column strips so the micro-kernel reads B contiguously.
// Every sum is < np * (p-1)^2 < 2^64 (np <= 2^16), reduced mod p once at the end.
constexpr uint32_t kMr = 4, kNr = 8;
constexpr uint32_t kRowBlock = 32;
constexpr uint32_t kPanel = 256;
constexpr uint32_t kTileK = 256;

struct Gemm {
  const uint32_t* a;  // np x np
  const uint32_t* b;  // np x np
  uint32_t np;
};

// acc (kMr rows, stride ldc) += a (kMr rows, stride lda, kc values) * packed strip (kc x kNr).
[[gnu::always_inline]] inline void MicroTile(const uint32_t* a, size_t lda, const uint32_t* strip, uint32_t kc,
                                             uint64_t* acc, size_t ldc) {
  uint64_t c[kMr][kNr];
  for (uint32_t r = 0; r < kMr; ++r)
    for (uint32_t j = 0; j < kNr; ++j) c[r][j] = acc[r * ldc + j];
  for (uint32_t k = 0; k < kc; ++k) {
    const uint32_t* b = strip + static_cast<size_t>(k) * kNr;
    for (uint32_t r = 0; r < kMr; ++r) {
      const uint64_t ar = a[r * lda + k];
      for (uint32_t j = 0; j < kNr; ++j) c[r][j] += ar * b[j];
    }
  }
  for (uint32_t r = 0; r < kMr; ++r)
    for (uint32_t j = 0; j < kNr; ++j) acc[r * ldc + j] = c[r][j];
}

// Rows [i0, i0 + rows) of C into c_out (np columns, already reduced). acc and packed are the
// calling thread's scratch (kRowBlock * kPanel u64, kTileK * kPanel u32).
[[gnu::always_inline]] inline void BlockBody(const Gemm& g, uint32_t i0, uint32_t rows, uint32_t* c_out, uint64_t* acc,
                                             uint32_t* packed) {
  const uint32_t np = g.np;
  for (uint32_t j0 = 0; j0 < np; j0 += kPanel) {
    const uint32_t w = std::min(kPanel, np - j0);  // a multiple of kNr
    std::fill(acc, acc + static_cast<size_t>(kRowBlock) * kPanel, 0);
    for (uint32_t k0 = 0; k0 < np; k0 += kTileK) {
      const uint32_t kc = std::min(kTileK, np - k0);
      for (uint32_t s = 0; s < w / kNr; ++s) {  // strip s: columns j0 + 8s .. +8, rows k0 .. k0+kc
        uint32_t* dst = packed + static_cast<size_t>(s) * kc * kNr;
        for (uint32_t k = 0; k < kc; ++k) {
          const uint32_t* src = g.b + static_cast<size_t>(k0 + k) * np + j0 + s * kNr;
          for (uint32_t j = 0; j < kNr; ++j) dst[k * kNr + j] = src[j];
        }
      }
      for (uint32_t r = 0; r < rows; r += kMr) {
        const uint32_t* a = g.a + static_cast<size_t>(i0 + r) * np + k0;
        for (uint32_t s = 0; s < w / kNr; ++s)
          MicroTile(a, np, packed + static_cast<size_t>(s) * kc * kNr, kc,
                    acc + static_cast<size_t>(r) * kPanel + s * kNr, kPanel);
      }
    }
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t j = 0; j < w; ++j)
        c_out[static_cast<size_t>(i0 + r) * np + j0 + j] =
            static_cast<uint32_t>(acc[static_cast<size_t>(r) * kPanel + j] % kPrime);
  }
}

void BlockDefault(const Gemm& g, uint32_t i0, uint32_t rows, uint32_t* c, uint64_t* acc, uint32_t* packed) {
  BlockBody(g, i0, rows, c, acc, packed);
}
#if defined(__x86_64__)
// The same code compiled for AVX2 (the accumulators fit the 16 ymm registers); chosen at run time.
__attribute__((target("avx2"))) void BlockAvx2(const Gemm& g, uint32_t i0, uint32_t rows, uint32_t* c, uint64_t* acc,
                                               uint32_t* packed) {
  BlockBody(g, i0, rows, c, acc, packed);
}
#endif

using BlockFn = void (*)(const Gemm&, uint32_t, uint32_t, uint32_t*, uint64_t*, uint32_t*);

BlockFn PickBlockFn() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) return BlockAvx2;
#endif
  return BlockDefault;
}

uint32_t Padded(uint32_t n) { return (n + kNr - 1) / kNr * kNr; }

// m padded to np x np with zeros.
std::vector<uint32_t> PaddedMatrix(std::string_view seed, uint32_t n, uint32_t np, Matrix m, unsigned threads) {
  std::vector<uint32_t> full = FullParallel(seed, n, m, threads);
  if (np == n) return full;
  std::vector<uint32_t> out(static_cast<size_t>(np) * np, 0);
  for (uint32_t i = 0; i < n; ++i)
    std::copy_n(full.data() + static_cast<size_t>(i) * n, n, out.data() + static_cast<size_t>(i) * np);
  return out;
}

}  // namespace

std::vector<uint32_t> FullParallel(std::string_view seed, uint32_t n, Matrix m, unsigned threads) {
  const uint64_t total = static_cast<uint64_t>(n) * n;
  std::vector<uint32_t> out(total);
  threads = std::min<uint64_t>(ThreadCount(threads), std::max<uint64_t>(1, total / (1u << 16)));
  // Split on 64-byte block boundaries (16 words) so no ChaCha20 block is generated twice.
  const uint64_t per = (total / threads + 15) / 16 * 16;
  ParallelFor(threads, [&](unsigned t) {
    const uint64_t first = std::min<uint64_t>(total, per * t);
    const uint64_t last = t + 1 == threads ? total : std::min<uint64_t>(total, per * (t + 1));
    if (last > first) Entries(seed, n, m, first, last - first, out.data() + first);
  });
  return out;
}

Product ProveCpu(std::string_view seed, uint32_t n, unsigned threads) {
  threads = ThreadCount(threads);
  const uint32_t np = Padded(n);
  const std::vector<uint32_t> a = PaddedMatrix(seed, n, np, Matrix::A, threads);
  const std::vector<uint32_t> b = PaddedMatrix(seed, n, np, Matrix::B, threads);
  const Gemm g{a.data(), b.data(), np};
  std::vector<uint32_t> c(static_cast<size_t>(np) * np);
  const uint32_t blocks = (np + kRowBlock - 1) / kRowBlock;
  const unsigned workers = std::max<unsigned>(1, std::min<unsigned>(threads, blocks));
  const BlockFn fn = PickBlockFn();
  std::atomic<uint32_t> next{0};
  ParallelFor(workers, [&](unsigned) {
    std::vector<uint64_t> acc(static_cast<size_t>(kRowBlock) * kPanel);
    std::vector<uint32_t> packed(static_cast<size_t>(kTileK) * kPanel);
    for (uint32_t blk; (blk = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
      const uint32_t i0 = blk * kRowBlock;
      fn(g, i0, std::min(kRowBlock, np - i0), c.data(), acc.data(), packed.data());
    }
  });
  Product p;
  p.n = n;
  if (np == n) {
    p.c = std::move(c);
  } else {
    p.c.resize(static_cast<size_t>(n) * n);
    for (uint32_t i = 0; i < n; ++i)
      std::copy_n(c.data() + static_cast<size_t>(i) * np, n, p.c.data() + static_cast<size_t>(i) * n);
  }
  return p;
}

bool CudaAvailable() {
#ifdef DEPAI_HAVE_CUDA
  return cuda::DeviceCount() > 0;
#else
  return false;
#endif
}

Result<Product> ProveCuda(std::string_view seed, uint32_t n) {
#ifdef DEPAI_HAVE_CUDA
  if (n < kMinN || n > kMaxN) return Error{"proof", 2, "n out of range"};
  if (cuda::DeviceCount() <= 0) return Error{"proof", 3, "no CUDA device"};
  // A and B are generated on the host (the same PRG code as every other path), then multiplied
  // on the device.
  const std::vector<uint32_t> a = FullParallel(seed, n, Matrix::A);
  const std::vector<uint32_t> b = FullParallel(seed, n, Matrix::B);
  Product p;
  p.n = n;
  p.c.resize(static_cast<size_t>(n) * n);
  std::string err;
  if (!cuda::GemmModP(a.data(), b.data(), n, p.c.data(), &err)) return Error{"proof", 4, "CUDA: " + err};
  return p;
#else
  (void)seed;
  (void)n;
  return Error{"proof", 1, "built without CUDA (configure with -DDEPAI_WITH_CUDA=ON where nvcc exists)"};
#endif
}

MerkleTree BuildTree(const Product& p) {
  std::vector<Bytes> leaves(p.n);
  const unsigned threads = std::min<unsigned>(ThreadCount(0), std::max<uint32_t>(1, p.n / 64));
  std::atomic<uint32_t> next{0};
  ParallelFor(threads, [&](unsigned) {
    for (uint32_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < p.n;)
      leaves[i] = LeafHash(i, p.n, RowBytes(p.c.data() + static_cast<size_t>(i) * p.n, p.n));
  });
  return MerkleTree(std::move(leaves));
}

}  // namespace depai::proof
