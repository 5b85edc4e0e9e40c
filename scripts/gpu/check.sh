#!/usr/bin/env bash
# One-shot GPU verification for a machine with an NVIDIA GPU, nvcc and PyTorch (no Node needed):
# builds the native core with CUDA for this GPU, runs the native tests (CUDA vs CPU op tests and the
# tiny-model parity tests on CUDA), the native benchmarks, and captures torch CUDA randn fixtures.
# Output goes to ${OUT:-./gpu-out}. Usage: bash scripts/gpu/check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-./gpu-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,compute_cap,memory.total --format=csv > "$out/gpu.csv" 2>&1
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
# cuDNN / cuBLAS from the Python environment's nvidia packages are found at run time by sd-native itself.
cmake -S . -B build-gpu -DSDN_CUDA=ON -DSDN_CUDA_ARCHS="${arch:-90}" -DCMAKE_BUILD_TYPE=Release > "$out/configure.log" 2>&1
cmake --build build-gpu -j"$(nproc)" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
./build-gpu/bin/sdn_tests > "$out/sdn_tests.log" 2>&1; echo "sdn_tests exit $?" | tee -a "$out/sdn_tests.log"
tail -3 "$out/sdn_tests.log"
./build-gpu/bin/sdn_bench --seconds 1 > "$out/sdn_bench.jsonl" 2>&1
python3 scripts/gpu/torch_cuda_randn.py > "$out/torch_cuda_randn.json" 2> "$out/torch_cuda_randn.err"
echo "results in $out"
