#include "cpu/simd_avx2.h"
#define SDN_FMA_NS isa_avx2
#include "cpu/fma_peak_impl.h"

namespace sdn::cpu {
float fma_loop_avx2(int64_t iters, float seed, int64_t * flops) {
    *flops = iters * 12 * 2 * 8;
    return isa_avx2::fma_loop<isa_avx2::V, 12>(iters, seed);
}
}  // namespace sdn::cpu
