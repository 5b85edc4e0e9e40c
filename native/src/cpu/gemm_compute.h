// CPU compute mode of the packed GEMM (and of everything that runs on its panels: linear layers, the
// implicit-GEMM conv2d, Winograd): float32 FMA (default) or bfloat16 dot products (avx512_bf16).
//
// bf16 mode: both operands are rounded to bfloat16 (round to nearest even) while they are packed, the
// products run on VDPBF16PS (two bf16 x bf16 products added into a float32 lane per instruction),
// accumulation and C stay float32. Expect ~1e-2 relative error against float32 (8-bit mantissa
// operands); against a float64 product of the same rounded operands the error is float32 accumulation
// only. Selected by the environment variable SDN_CPU_COMPUTE=f32|bf16 (read once, default f32) and used
// only at SimdLevel::Avx512 on CPUs with avx512_bf16 (otherwise float32, see cpu_compute_reason()).
#pragma once

#include "core/cpu_features.h"

namespace sdn::cpu {

struct GemmIsa;

enum class CpuCompute : int { F32 = 0, BF16 = 1 };

const char * cpu_compute_name(CpuCompute c);

// Mode requested by SDN_CPU_COMPUTE (or set_cpu_compute), before the CPU check.
CpuCompute requested_cpu_compute();
// Mode actually used for `level`: BF16 only when requested, level == Avx512 and the CPU has avx512_bf16.
CpuCompute cpu_compute(SimdLevel level);
// Why the mode used for `level` differs from the requested one ("" when it does not).
const char * cpu_compute_reason(SimdLevel level);
// Whether this machine can run the bf16 kernels at all.
bool cpu_bf16_available();
// Overrides the requested mode for the whole process (tests, benchmarks). Not synchronised with
// running kernels: call it between operations. Weights packed / transformed in one mode must not be
// used in the other (gemm / conv2d reject them).
void set_cpu_compute(CpuCompute c);

// The kernel table for `level` in compute mode `c` (falls back to the float32 table for `level` when
// bf16 cannot run there). gemm_isa(level) == gemm_isa_for(level, requested_cpu_compute()).
const GemmIsa & gemm_isa_for(SimdLevel level, CpuCompute c);

// AVX-512 BF16 kernels (gemm_kernel_avx512bf16.cpp): 14 x 32 register tile of VDPBF16PS. Packed
// panels keep the float32 geometry (panel of P rows / columns and kc K steps = kc * P float slots) but
// hold bf16 PAIRS: slot [p * P + r] (p < ceil(kc / 2)) = bf16 of element (k = 2p, r) in its low 16 bits
// and of (k = 2p + 1, r) in its high 16 bits (zero when 2p + 1 == kc); the rest of the panel is unused.
const GemmIsa & gemm_isa_avx512bf16();

}  // namespace sdn::cpu
