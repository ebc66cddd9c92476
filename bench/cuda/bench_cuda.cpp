// Built only with -DDEPAI_WITH_CUDA=ON (scripts/gpu-check.sh). The CUDA prover's integer GEMM mod p
// beside cuBLAS in the same run, at the same n: SGEMM (FP32) and GemmEx int8 x int8 -> int32, the
// nearest vendor-tuned kernels (neither computes our u32 x u32 -> u64 mod p product; they are
// the anchor for "how far is our kernel from the hardware's GEMM rate"). Times are the kernels
// alone (CUDA events; manual time); BM_ProveCuda and BM_ProveCpu are end to end.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "proof/compute.h"
#include "proof/prover.h"
#include "proof/prover_cuda.h"

namespace {

using namespace depai::proof;
const std::string kSeed(32, '\x42');

void SetRate(benchmark::State& state, uint32_t n) {
  state.counters["mul_add_per_s"] =
      benchmark::Counter(static_cast<double>(n) * n * n, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GemmModPKernel(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const auto a = FullParallel(kSeed, n, Matrix::A);
  const auto b = FullParallel(kSeed, n, Matrix::B);
  std::vector<uint32_t> c(static_cast<size_t>(n) * n);
  for (auto _ : state) {
    std::string err;
    float ms = 0;
    if (!cuda::GemmModP(a.data(), b.data(), n, c.data(), &err, &ms)) {
      state.SkipWithError(err.c_str());
      break;
    }
    state.SetIterationTime(ms / 1e3);
  }
  SetRate(state, n);
}

template <bool kInt8>
void BM_Cublas(benchmark::State& state) {
  const auto n = static_cast<int>(state.range(0));
  const size_t elems = static_cast<size_t>(n) * n;
  const size_t in_bytes = elems * (kInt8 ? 1 : 4);
  void *a = nullptr, *b = nullptr, *c = nullptr;
  cublasHandle_t h = nullptr;
  if (cudaMalloc(&a, in_bytes) != cudaSuccess || cudaMalloc(&b, in_bytes) != cudaSuccess ||
      cudaMalloc(&c, elems * 4) != cudaSuccess || cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
    state.SkipWithError("CUDA/cuBLAS setup failed");
    return;
  }
  cudaMemset(a, kInt8 ? 1 : 0, in_bytes);  // zeros for FP32 (no denormals), ones for int8
  cudaMemset(b, kInt8 ? 1 : 0, in_bytes);
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    cudaEventRecord(start);
    cublasStatus_t st;
    if constexpr (kInt8) {
      const int32_t alpha = 1, beta = 0;
      st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a, CUDA_R_8I, n, b, CUDA_R_8I, n, &beta, c,
                        CUDA_R_32I, n, CUBLAS_COMPUTE_32I, CUBLAS_GEMM_DEFAULT);
    } else {
      const float alpha = 1, beta = 0;
      st = cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, static_cast<float*>(a), n, static_cast<float*>(b),
                       n, &beta, static_cast<float*>(c), n);
    }
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    if (st != CUBLAS_STATUS_SUCCESS) {
      state.SkipWithError("cuBLAS call failed");
      break;
    }
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms / 1e3);
  }
  SetRate(state, static_cast<uint32_t>(n));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cublasDestroy(h);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
}

void BM_ProveCuda(benchmark::State& state) {  // end to end: host PRG, copies, kernel
  const auto n = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    auto r = ProveCuda(kSeed, n);
    if (!r.ok()) {
      state.SkipWithError(r.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(r->c.data());
  }
  SetRate(state, n);
}

void BM_ProveCpu(benchmark::State& state) {  // all cores
  const auto n = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    Product p = ProveCpu(kSeed, n);
    benchmark::DoNotOptimize(p.c.data());
  }
  SetRate(state, n);
}

BENCHMARK(BM_GemmModPKernel)->Arg(256)->Arg(1024)->Arg(4096)->Arg(8192)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cublas<false>)
    ->Name("BM_CublasSgemm")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(8192)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Cublas<true>)
    ->Name("BM_CublasGemmExInt8")
    ->Arg(256)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(8192)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProveCuda)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProveCpu)->Arg(1024)->Arg(4096)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
