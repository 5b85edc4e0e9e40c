// Attention driver: validation, layouts, and the split of (batch, head, query chunk) tasks over the
// pool. The per-ISA flash kernel is in attention_impl.h.
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/scratch.h"

#include <algorithm>
#include <string>

namespace sdn::cpu {

int64_t attention_scratch_floats_avx512(int64_t nk, int64_t d);
int64_t attention_scratch_floats_avx2(int64_t nk, int64_t d);
int64_t attention_scratch_floats_portable(int64_t nk, int64_t d);
void attention_task_avx512(const AttentionArgs & a, int64_t b, int64_t h, int64_t q0, int64_t q1, float * scratch);
void attention_task_avx2(const AttentionArgs & a, int64_t b, int64_t h, int64_t q0, int64_t q1, float * scratch);
void attention_task_portable(const AttentionArgs & a, int64_t b, int64_t h, int64_t q0, int64_t q1, float * scratch);

AttnTensor attn_tensor(const float * data, AttnLayout layout, int64_t heads, int64_t seq, int64_t head_dim) {
    AttnTensor t;
    t.data = data;
    if (layout == AttnLayout::BHSD) {
        t.stride_s = head_dim;
        t.stride_h = seq * head_dim;
        t.stride_b = heads * seq * head_dim;
    } else {
        t.stride_s = heads * head_dim;
        t.stride_h = head_dim;
        t.stride_b = seq * heads * head_dim;
    }
    return t;
}

AttentionArgs attention_args(AttnLayout layout, int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t head_dim,
                             const float * q, const float * k, const float * v, float * out, float scale, bool causal) {
    AttentionArgs a;
    a.batch = batch;
    a.heads = heads;
    a.nq = nq;
    a.nk = nk;
    a.head_dim = head_dim;
    a.q = attn_tensor(q, layout, heads, nq, head_dim);
    a.k = attn_tensor(k, layout, heads, nk, head_dim);
    a.v = attn_tensor(v, layout, heads, nk, head_dim);
    const AttnTensor o = attn_tensor(out, layout, heads, nq, head_dim);
    a.out = out;
    a.out_stride_b = o.stride_b;
    a.out_stride_h = o.stride_h;
    a.out_stride_s = o.stride_s;
    a.scale = scale;
    a.causal = causal;
    return a;
}

void attention(ThreadPool & pool, SimdLevel level, const AttentionArgs & a, const ExecControl * control) {
    auto num = [](int64_t v) { return std::to_string(v); };
    require(a.batch >= 1 && a.heads >= 1 && a.nq >= 0 && a.nk >= 1 && a.head_dim >= 1, SDN_ERR_SHAPE,
            "attention: need batch, heads, nk, head_dim >= 1 and nq >= 0 (batch=" + num(a.batch) + " heads=" +
                num(a.heads) + " nq=" + num(a.nq) + " nk=" + num(a.nk) + " d=" + num(a.head_dim) + ")");
    if (a.nq == 0) return;
    require(a.q.data != nullptr && a.k.data != nullptr && a.v.data != nullptr && a.out != nullptr,
            SDN_ERR_INVALID_ARGUMENT, "attention: q, k, v or out is NULL");
    require(a.q.stride_s >= a.head_dim && a.k.stride_s >= a.head_dim && a.v.stride_s >= a.head_dim &&
                a.out_stride_s >= a.head_dim,
            SDN_ERR_INVALID_ARGUMENT, "attention: sequence strides must be >= head_dim (d is contiguous)");

    int64_t (*scratch_floats)(int64_t, int64_t) = attention_scratch_floats_portable;
    void (*task)(const AttentionArgs &, int64_t, int64_t, int64_t, int64_t, float *) = attention_task_portable;
    if (level == SimdLevel::Avx512) {
        scratch_floats = attention_scratch_floats_avx512;
        task = attention_task_avx512;
    } else if (level == SimdLevel::Avx2) {
        scratch_floats = attention_scratch_floats_avx2;
        task = attention_task_avx2;
    }
    const int64_t need = scratch_floats(a.nk, a.head_dim);
    const int64_t bh = a.batch * a.heads;
    // Query chunks: enough tasks for the pool, each long enough that transposing K once per task is cheap.
    const int64_t want_tasks = 4 * static_cast<int64_t>(pool.size());
    int64_t n_qc = std::max<int64_t>((a.nq + 1023) / 1024, (want_tasks + bh - 1) / bh);
    int64_t chunk = (a.nq + n_qc - 1) / n_qc;
    chunk = std::max<int64_t>(chunk, std::min<int64_t>(a.nq, 16));
    n_qc = (a.nq + chunk - 1) / chunk;
    pool.parallel_for(bh * n_qc, [&](int64_t t, int) {
        if (control != nullptr) control->poll("attention");
        const int64_t qc = t % n_qc, h = (t / n_qc) % a.heads, b = t / (n_qc * a.heads);
        const int64_t q0 = qc * chunk, q1 = std::min(a.nq, q0 + chunk);
        if (q0 >= q1) return;
        task(a, b, h, q0, q1, thread_scratch(3, static_cast<size_t>(need)));
    });
    if (control != nullptr) control->report(1, 1);
}

}  // namespace sdn::cpu
