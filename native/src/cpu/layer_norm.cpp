// LayerNorm over the last dimension: rows in parallel, two passes per row (mean, centred variance).
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/row_ops.h"

#include <algorithm>
#include <cmath>

namespace sdn::cpu {

void layer_norm(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t rows, int64_t dim,
                const float * gamma, const float * beta, float eps, const ExecControl * control) {
    require(rows >= 0 && dim >= 1, SDN_ERR_SHAPE, "layer_norm: rows must be >= 0 and dim >= 1");
    if (rows == 0) return;
    require(x != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "layer_norm: x or y is NULL");
    require(eps >= 0.0f, SDN_ERR_INVALID_ARGUMENT, "layer_norm: eps must be >= 0");
    const RowOps & ops = row_ops(level);
    const int64_t per_task = std::max<int64_t>(1, std::min<int64_t>(rows / (4 * pool.size()), 16384 / dim + 1));
    const int64_t n_tasks = (rows + per_task - 1) / per_task;
    pool.parallel_for(n_tasks, [&](int64_t t, int) {
        if (control != nullptr) control->poll("layer_norm");
        const int64_t r1 = std::min(rows, (t + 1) * per_task);
        for (int64_t r = t * per_task; r < r1; ++r) {
            const float * xr = x + r * dim;
            const double mean = ops.sum(xr, dim) / static_cast<double>(dim);
            const double var = ops.sumsq_centered(xr, dim, static_cast<float>(mean)) / static_cast<double>(dim);
            const float rstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
            ops.normalize(xr, y + r * dim, dim, static_cast<float>(mean), rstd, gamma, beta);
        }
    });
}

}  // namespace sdn::cpu
