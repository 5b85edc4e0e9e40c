#include "cpu/simd_avx512.h"
#define SDN_FMA_NS isa_avx512
#include "cpu/fma_peak_impl.h"

namespace sdn::cpu {
float fma_loop_avx512(int64_t iters, float seed, int64_t * flops) {
    *flops = iters * 24 * 2 * 16;
    return isa_avx512::fma_loop<isa_avx512::V, 24>(iters, seed);
}
}  // namespace sdn::cpu
