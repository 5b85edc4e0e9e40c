// Elementwise add and broadcast bias add.
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/row_ops.h"

#include <algorithm>

namespace sdn::cpu {

namespace {
constexpr int64_t kChunk = 32768;
}

void add(ThreadPool & pool, SimdLevel level, const float * a, const float * b, float * y, int64_t n) {
    require(n >= 0, SDN_ERR_SHAPE, "add: n must be >= 0");
    if (n == 0) return;
    require(a != nullptr && b != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "add: a, b or y is NULL");
    const RowOps & ops = row_ops(level);
    pool.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t t, int) {
        const int64_t i0 = t * kChunk;
        ops.add(a + i0, b + i0, y + i0, std::min(kChunk, n - i0));
    });
}

void add_bias(ThreadPool & pool, SimdLevel level, const float * x, const float * bias, float * y, int64_t outer,
              int64_t channels, int64_t inner) {
    require(outer >= 0 && channels >= 1 && inner >= 1, SDN_ERR_SHAPE, "add_bias: need outer >= 0, channels >= 1, inner >= 1");
    if (outer == 0) return;
    require(x != nullptr && bias != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "add_bias: x, bias or y is NULL");
    const RowOps & ops = row_ops(level);
    if (inner == 1) {
        // rows of `channels`: y[o] = x[o] + bias
        const int64_t per_task = std::max<int64_t>(1, kChunk / channels);
        pool.parallel_for((outer + per_task - 1) / per_task, [&](int64_t t, int) {
            const int64_t r1 = std::min(outer, (t + 1) * per_task);
            for (int64_t r = t * per_task; r < r1; ++r) ops.add(x + r * channels, bias, y + r * channels, channels);
        });
        return;
    }
    const int64_t planes = outer * channels;
    const int64_t per_task = std::max<int64_t>(1, kChunk / inner);
    pool.parallel_for((planes + per_task - 1) / per_task, [&](int64_t t, int) {
        const int64_t p1 = std::min(planes, (t + 1) * per_task);
        for (int64_t p = t * per_task; p < p1; ++p)
            ops.affine_act(x + p * inner, y + p * inner, inner, 0.0f, 1.0f, bias[p % channels], static_cast<int>(Activation::Identity));
    });
}

}  // namespace sdn::cpu
