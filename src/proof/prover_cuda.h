// Internal to depai_prover: the CUDA side of ProveCuda (src/proof/prover_cuda.cu), declared in
// plain C++ so prover.cpp needs no CUDA headers. Built only with DEPAI_WITH_CUDA (then
// DEPAI_HAVE_CUDA is defined for prover.cpp). Thread-safety: each call uses its own device
// buffers and the default device; calls may run concurrently.
#pragma once

#include <cstdint>
#include <string>

namespace depai::proof::cuda {

// Number of CUDA devices (0 when the driver or device is missing).
int DeviceCount();
// C = A*B mod p on device 0 for n x n row-major A, B with entries < p (u64 accumulation, one
// reduction per entry). Returns false and sets *err on any CUDA error. kernel_ms (optional): the
// kernel's own time (CUDA events), without the copies.
bool GemmModP(const uint32_t* a, const uint32_t* b, uint32_t n, uint32_t* c, std::string* err,
              float* kernel_ms = nullptr);

}  // namespace depai::proof::cuda
