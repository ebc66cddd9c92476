// The provider's side of the compute challenge: C = A*B mod p (proof/compute.h) and the Merkle
// tree over its rows.
//
// CPU: a blocked, multi-threaded kernel (threads over row blocks; within a block, cache tiles of
// B and u64 accumulators reduced once per row entry). CUDA (built when DEPAI_WITH_CUDA is ON and
// nvcc exists): the same bytes; ProveCuda returns an error when no GPU or no CUDA build.
// Not used by src/x (threads). Thread-safety: functions are reentrant.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "proof/merkle.h"
#include "util/result.h"

namespace depai::proof {

struct Product {
  uint32_t n = 0;
  std::vector<uint32_t> c;  // n*n, row-major
};

// threads = 0: std::thread::hardware_concurrency().
Product ProveCpu(std::string_view seed, uint32_t n, unsigned threads = 0);
// Whether this build has the CUDA kernel and a device is present.
bool CudaAvailable();
Result<Product> ProveCuda(std::string_view seed, uint32_t n);

// The tree over the rows of c.
MerkleTree BuildTree(const Product& p);

}  // namespace depai::proof
