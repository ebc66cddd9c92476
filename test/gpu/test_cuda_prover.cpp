// Built only with -DDEPAI_WITH_CUDA=ON where nvcc exists (scripts/gpu-check.sh): the CUDA prover
// gives the same bytes as the CPU prover. Fails (does not skip) when no device is present, since
// this binary exists to check the GPU path.
#include <gtest/gtest.h>

#include "proof/compute.h"
#include "proof/prover.h"

namespace depai::proof {
namespace {

TEST(CudaProver, DeviceIsPresent) { ASSERT_TRUE(CudaAvailable()) << "CUDA build, but no CUDA device"; }

TEST(CudaProver, SameBytesAsCpu) {
  ASSERT_TRUE(CudaAvailable());
  const std::string seed(32, '\x33');
  for (uint32_t n : {8u, 200u, 256u, 1000u, 1024u}) {  // 200 and 1000: partial 32-wide tiles
    const Product cpu = ProveCpu(seed, n);
    auto gpu = ProveCuda(seed, n);
    ASSERT_TRUE(gpu.ok()) << gpu.error().message;
    ASSERT_EQ(gpu->n, n);
    ASSERT_EQ(gpu->c.size(), cpu.c.size());
    size_t diff = 0;
    for (size_t k = 0; k < cpu.c.size(); ++k) diff += gpu->c[k] != cpu.c[k];
    EXPECT_EQ(diff, 0u) << "n " << n << ": " << diff << " entries differ";
    EXPECT_EQ(RowBytes(gpu->c.data(), static_cast<uint32_t>(gpu->c.size())),
              RowBytes(cpu.c.data(), static_cast<uint32_t>(cpu.c.size())));
    EXPECT_EQ(BuildTree(*gpu).root(), BuildTree(cpu).root());
    // and a row against the chain's own recomputation
    EXPECT_TRUE(std::equal(gpu->c.begin() + static_cast<size_t>(n / 2) * n,
                           gpu->c.begin() + static_cast<size_t>(n / 2 + 1) * n, ComputeRow(seed, n, n / 2).begin()));
  }
}

}  // namespace
}  // namespace depai::proof
