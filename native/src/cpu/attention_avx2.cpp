// Attention kernels, avx2 build (see attention_impl.h).
#include "cpu/simd_avx2.h"
#define SDN_ATTN_NS isa_avx2
#include "cpu/attention_impl.h"

namespace sdn::cpu {
int64_t attention_scratch_floats_avx2(int64_t nk, int64_t d) { return isa_avx2::Attn<isa_avx2::V, 2>::scratch_floats(nk, d); }
void attention_task_avx2(const AttentionArgs & a, int64_t b, int64_t h, int64_t q0, int64_t q1, float * scratch) {
    isa_avx2::Attn<isa_avx2::V, 2>::run(a, b, h, q0, q1, scratch);
}
}  // namespace sdn::cpu
