// cpu::layer_norm against a double-precision reference at every SIMD level: odd row lengths, with and
// without gamma/beta, in place. Tolerance: 2e-5 absolute.
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "test_framework.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sdn::SimdLevel;

namespace {

std::vector<SimdLevel> levels() {
    std::vector<SimdLevel> out;
    const SimdLevel best = sdn::best_simd_level(sdn::detect_cpu_features());
    for (int l = 0; l <= static_cast<int>(best); ++l) out.push_back(static_cast<SimdLevel>(l));
    return out;
}

void check_ln(sdn::ThreadPool & pool, SimdLevel level, int64_t rows, int64_t dim, bool affine, bool in_place) {
    std::mt19937 rng(static_cast<unsigned>(rows * 3 + dim));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(rows * dim)), gamma(dim), beta(dim);
    for (auto & v : x) v = 1.5f + 3.0f * dist(rng);
    for (auto & v : gamma) v = dist(rng) * 2;
    for (auto & v : beta) v = dist(rng);
    std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
    if (in_place) y = x;
    sdn::cpu::layer_norm(pool, level, in_place ? y.data() : x.data(), y.data(), rows, dim, affine ? gamma.data() : nullptr,
                         affine ? beta.data() : nullptr, 1e-5f);
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < dim; ++i) mean += x[r * dim + i];
        mean /= dim;
        for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
        var /= dim;
        for (int64_t i = 0; i < dim; ++i) {
            double v = (x[r * dim + i] - mean) / std::sqrt(var + 1e-5);
            if (affine) v = v * gamma[i] + beta[i];
            const double d = std::fabs(v - y[r * dim + i]);
            if (!(d <= worst)) worst = d;
        }
    }
    CHECK_MSG(worst <= 2e-5, std::string(sdn::simd_level_name(level)) + " rows=" + std::to_string(rows) + " dim=" +
                                 std::to_string(dim) + " max err " + std::to_string(worst));
}

}  // namespace

TEST(cpu_layer_norm_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        check_ln(pool, level, 77, 768, true, false);
        check_ln(pool, level, 13, 37, true, true);
        check_ln(pool, level, 3, 5, false, false);
        check_ln(pool, level, 1, 1, true, false);
    }
}

TEST(cpu_layer_norm_rejects_bad_dim) {
    sdn::ThreadPool pool(1);
    float x = 0;
    bool threw = false;
    try {
        sdn::cpu::layer_norm(pool, SimdLevel::Portable, &x, &x, 1, 0, nullptr, nullptr, 1e-5f);
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_SHAPE;
    }
    CHECK(threw);
}
