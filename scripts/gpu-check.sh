#!/usr/bin/env bash
# The CUDA prover's check, for a machine with nvcc and an NVIDIA GPU (and the project's usual build
# dependencies, scripts/install-deps.sh): configures build/cuda with -DDEPAI_WITH_CUDA=ON, builds,
# runs the byte-equality test of ProveCuda against ProveCpu (n = 8, 200, 256, 1000, 1024), compares
# `depai verify prove --cuda` with the CPU prover's root, then runs bench_cuda: our kernel beside
# cuBLAS SGEMM and GemmEx int8 at the same n, in the same run.
# Usage: scripts/gpu-check.sh [extra benchmark args...]   Exit: non-zero if any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin:/usr/local/go/bin"
command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found (install the CUDA toolkit)" >&2; exit 2; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || { echo "gpu-check: no GPU/driver" >&2; exit 2; }
nvcc --version | tail -2
build=build/cuda
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDEPAI_WITH_CUDA=ON -DDEPAI_FUZZ=OFF \
  ${DEPAI_CUDA_ARCHS:+-DCMAKE_CUDA_ARCHITECTURES="$DEPAI_CUDA_ARCHS"} >/dev/null
# Without a CUDA compiler CMake warns and the CUDA-only targets below do not exist: the build fails.
cmake --build "$build" -j"$(nproc)" --target depai_gpu_tests bench_cuda depai

echo "== ProveCuda vs ProveCpu (bytes)"
"$build/test/depai_gpu_tests"

echo "== depai verify prove: --cuda vs CPU"
seed=$(printf '7%.0s' $(seq 64))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in 256 1024; do
  cpu=$("$build/depai" verify prove --seed "$seed" --n "$n" --out "$tmp/cpu.bin")
  gpu=$("$build/depai" verify prove --seed "$seed" --n "$n" --out "$tmp/gpu.bin" --cuda)
  echo "cpu: $cpu"
  echo "gpu: $gpu"
  cmp "$tmp/cpu.bin" "$tmp/gpu.bin"
done

echo "== bench_cuda (kernel times beside cuBLAS)"
"$build/bench/bench_cuda" --benchmark_counters_tabular=true "$@"
echo "gpu-check: ok"
