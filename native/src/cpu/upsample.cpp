// Nearest-neighbour 2x upsampling of planes (NCHW with planes = N * C).
#include "cpu/kernels.h"

#include "core/error.h"

#include <algorithm>
#include <cstring>

namespace sdn::cpu {

void upsample_nearest2x(ThreadPool & pool, const float * x, float * y, int64_t planes, int64_t h, int64_t w) {
    require(planes >= 0 && h >= 1 && w >= 1, SDN_ERR_SHAPE, "upsample_nearest2x: need planes >= 0, h >= 1, w >= 1");
    if (planes == 0) return;
    require(x != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "upsample_nearest2x: x or y is NULL");
    const int64_t per_task = std::max<int64_t>(1, 16384 / (h * w));
    pool.parallel_for((planes + per_task - 1) / per_task, [&](int64_t t, int) {
        const int64_t p1 = std::min(planes, (t + 1) * per_task);
        for (int64_t p = t * per_task; p < p1; ++p) {
            const float * src = x + p * h * w;
            float * dst = y + p * 4 * h * w;
            for (int64_t i = 0; i < h; ++i) {
                const float * s = src + i * w;
                float * d0 = dst + 2 * i * 2 * w;
                for (int64_t j = 0; j < w; ++j) {
                    d0[2 * j] = s[j];
                    d0[2 * j + 1] = s[j];
                }
                std::memcpy(d0 + 2 * w, d0, static_cast<size_t>(2 * w) * sizeof(float));
            }
        }
    });
}

}  // namespace sdn::cpu
