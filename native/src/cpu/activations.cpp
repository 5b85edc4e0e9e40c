// Pointwise activations (SiLU, exact-erf GELU, quick GELU) and GEGLU, split in chunks over the pool.
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/row_ops.h"

#include <algorithm>

namespace sdn::cpu {

namespace {
constexpr int64_t kChunk = 16384;
}

void activation(ThreadPool & pool, SimdLevel level, Activation act, const float * x, float * y, int64_t n) {
    require(n >= 0, SDN_ERR_SHAPE, "activation: n must be >= 0");
    if (n == 0) return;
    require(x != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "activation: x or y is NULL");
    const RowOps & ops = row_ops(level);
    pool.parallel_for((n + kChunk - 1) / kChunk, [&](int64_t t, int) {
        const int64_t i0 = t * kChunk, len = std::min(kChunk, n - i0);
        ops.affine_act(x + i0, y + i0, len, 0.0f, 1.0f, 0.0f, static_cast<int>(act));
    });
}

void geglu(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t rows, int64_t dim) {
    require(rows >= 0 && dim >= 1, SDN_ERR_SHAPE, "geglu: rows must be >= 0 and dim >= 1");
    if (rows == 0) return;
    require(x != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "geglu: x or y is NULL");
    const RowOps & ops = row_ops(level);
    const int64_t per_task = std::max<int64_t>(1, kChunk / dim);
    pool.parallel_for((rows + per_task - 1) / per_task, [&](int64_t t, int) {
        const int64_t r1 = std::min(rows, (t + 1) * per_task);
        for (int64_t r = t * per_task; r < r1; ++r) ops.geglu(x + r * 2 * dim, x + r * 2 * dim + dim, y + r * dim, dim);
    });
}

}  // namespace sdn::cpu
