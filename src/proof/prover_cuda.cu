// The CUDA half of ProveCuda (proof/prover_cuda.h): C = A*B mod p on device 0.
// Built only with -DDEPAI_WITH_CUDA=ON where nvcc exists. UNVERIFIED until scripts/gpu-check.sh
// has run on a GPU machine (doc/modules/verify-compute.md).
//
// Kernel: a 32 x 32 tile of C per block of 32 x 8 threads; each thread owns 4 entries of one
// column (rows ty, ty+8, ty+16, ty+24). Tiles of A and B (32 x 32 u32) are staged in shared
// memory; products are u32 x u32 -> u64 (mul.wide.u32) summed in u64 registers: n * (p-1)^2 <
// 2^64 for n <= 2^16, so each entry is reduced mod p once, at the end, as on the CPU.
#include <cuda_runtime.h>

#include "proof/compute.h"
#include "proof/prover_cuda.h"

namespace depai::proof::cuda {

namespace {

constexpr int kTile = 32;
constexpr int kThreadsY = 8;
constexpr int kRowsPerThread = kTile / kThreadsY;  // 4

__global__ void GemmModPKernel(const uint32_t* __restrict__ a, const uint32_t* __restrict__ b, uint32_t n,
                               uint32_t* __restrict__ c) {
  __shared__ uint32_t as[kTile][kTile];
  __shared__ uint32_t bs[kTile][kTile];
  const uint32_t tx = threadIdx.x;  // 0..31: column within the tile
  const uint32_t ty = threadIdx.y;  // 0..7
  const uint32_t row_base = blockIdx.y * kTile;
  const uint32_t col = blockIdx.x * kTile + tx;
  unsigned long long acc[kRowsPerThread];
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) acc[r] = 0;

  for (uint32_t k0 = 0; k0 < n; k0 += kTile) {
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) {
      const uint32_t ly = ty + r * kThreadsY;  // 0..31
      const uint32_t arow = row_base + ly;
      const uint32_t acol = k0 + tx;
      as[ly][tx] = (arow < n && acol < n) ? a[static_cast<size_t>(arow) * n + acol] : 0u;
      const uint32_t brow = k0 + ly;
      bs[ly][tx] = (brow < n && col < n) ? b[static_cast<size_t>(brow) * n + col] : 0u;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kTile; ++k) {
      const unsigned long long bv = bs[k][tx];
#pragma unroll
      for (int r = 0; r < kRowsPerThread; ++r)
        acc[r] += static_cast<unsigned long long>(as[ty + r * kThreadsY][k]) * bv;
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kRowsPerThread; ++r) {
    const uint32_t row = row_base + ty + r * kThreadsY;
    if (row < n && col < n) c[static_cast<size_t>(row) * n + col] = static_cast<uint32_t>(acc[r] % kPrime);
  }
}

bool Ok(cudaError_t e, const char* what, std::string* err) {
  if (e == cudaSuccess) return true;
  *err = std::string(what) + ": " + cudaGetErrorString(e);
  return false;
}

struct DeviceBuffers {
  uint32_t* a = nullptr;
  uint32_t* b = nullptr;
  uint32_t* c = nullptr;
  ~DeviceBuffers() {
    if (a) cudaFree(a);
    if (b) cudaFree(b);
    if (c) cudaFree(c);
  }
};

}  // namespace

int DeviceCount() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

bool GemmModP(const uint32_t* a, const uint32_t* b, uint32_t n, uint32_t* c, std::string* err, float* kernel_ms) {
  const size_t bytes = static_cast<size_t>(n) * n * sizeof(uint32_t);
  DeviceBuffers d;
  if (!Ok(cudaSetDevice(0), "cudaSetDevice", err)) return false;
  if (!Ok(cudaMalloc(reinterpret_cast<void**>(&d.a), bytes), "cudaMalloc A", err)) return false;
  if (!Ok(cudaMalloc(reinterpret_cast<void**>(&d.b), bytes), "cudaMalloc B", err)) return false;
  if (!Ok(cudaMalloc(reinterpret_cast<void**>(&d.c), bytes), "cudaMalloc C", err)) return false;
  if (!Ok(cudaMemcpy(d.a, a, bytes, cudaMemcpyHostToDevice), "copy A", err)) return false;
  if (!Ok(cudaMemcpy(d.b, b, bytes, cudaMemcpyHostToDevice), "copy B", err)) return false;
  const dim3 block(kTile, kThreadsY);
  const dim3 grid((n + kTile - 1) / kTile, (n + kTile - 1) / kTile);
  cudaEvent_t start = nullptr, stop = nullptr;
  if (kernel_ms) {
    if (!Ok(cudaEventCreate(&start), "cudaEventCreate", err)) return false;
    if (!Ok(cudaEventCreate(&stop), "cudaEventCreate", err)) return false;
    cudaEventRecord(start);
  }
  GemmModPKernel<<<grid, block>>>(d.a, d.b, n, d.c);
  const cudaError_t launched = cudaGetLastError();
  if (kernel_ms) cudaEventRecord(stop);
  const cudaError_t ran = cudaDeviceSynchronize();
  if (kernel_ms) {
    if (launched == cudaSuccess && ran == cudaSuccess) cudaEventElapsedTime(kernel_ms, start, stop);
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  }
  if (!Ok(launched, "kernel launch", err)) return false;
  if (!Ok(ran, "kernel", err)) return false;
  if (!Ok(cudaMemcpy(c, d.c, bytes, cudaMemcpyDeviceToHost), "copy C", err)) return false;
  return true;
}

}  // namespace depai::proof::cuda
