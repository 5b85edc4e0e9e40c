// Attention kernels, portable build (see attention_impl.h).
#include "cpu/simd_scalar.h"
#define SDN_ATTN_NS isa_portable
#include "cpu/attention_impl.h"

namespace sdn::cpu {
int64_t attention_scratch_floats_portable(int64_t nk, int64_t d) { return isa_portable::Attn<isa_portable::V, 8>::scratch_floats(nk, d); }
void attention_task_portable(const AttentionArgs & a, int64_t b, int64_t h, int64_t q0, int64_t q1, float * scratch) {
    isa_portable::Attn<isa_portable::V, 8>::run(a, b, h, q0, q1, scratch);
}
}  // namespace sdn::cpu
