// AVX-512 GEMM kernels: 14 x 32 register tile (28 zmm accumulators, 2 B vectors, broadcast A).
#include "cpu/simd_avx512.h"
#define SDN_GEMM_NS isa_avx512
#include "cpu/gemm_kernel_impl.h"

namespace sdn::cpu {
const GemmIsa & gemm_isa_avx512() { return isa_avx512::make_isa<isa_avx512::V, 14, 2>(); }
}  // namespace sdn::cpu
