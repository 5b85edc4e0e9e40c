// cpu::upsample_nearest2x: exact copy semantics on odd sizes, batch * channels planes.
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "test_framework.h"

#include <limits>
#include <vector>

TEST(cpu_upsample_nearest2x_exact) {
    sdn::ThreadPool pool(2);
    const int64_t shapes[][3] = {{2 * 3, 5, 7}, {1, 1, 1}, {640, 8, 8}};
    for (const auto & s : shapes) {
        const int64_t planes = s[0], h = s[1], w = s[2];
        std::vector<float> x(static_cast<size_t>(planes * h * w));
        for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.5f;
        std::vector<float> y(x.size() * 4, std::numeric_limits<float>::quiet_NaN());
        sdn::cpu::upsample_nearest2x(pool, x.data(), y.data(), planes, h, w);
        bool ok = true;
        for (int64_t p = 0; p < planes; ++p)
            for (int64_t i = 0; i < 2 * h; ++i)
                for (int64_t j = 0; j < 2 * w; ++j) ok = ok && y[(p * 2 * h + i) * 2 * w + j] == x[(p * h + i / 2) * w + j / 2];
        CHECK(ok);
    }
}
