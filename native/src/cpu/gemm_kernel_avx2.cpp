// AVX2 + FMA GEMM kernels: 6 x 16 register tile (12 ymm accumulators, 2 B vectors, broadcast A).
#include "cpu/simd_avx2.h"
#define SDN_GEMM_NS isa_avx2
#include "cpu/gemm_kernel_impl.h"

namespace sdn::cpu {
const GemmIsa & gemm_isa_avx2() { return isa_avx2::make_isa<isa_avx2::V, 6, 2>(); }
}  // namespace sdn::cpu
