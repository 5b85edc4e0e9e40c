// cpu::group_norm (optionally fused SiLU) against a double-precision reference at every SIMD level:
// batch 2, odd channels per group and spatial sizes, in place and out of place, NaN-poisoned output.
// Tolerance: 2e-5 absolute on outputs of order 1 (inputs have a large common offset to test the
// two-pass variance).
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

void check_gn(sdn::ThreadPool & pool, SimdLevel level, int64_t batch, int64_t channels, int64_t hw, int64_t groups, bool silu,
              bool affine, bool in_place) {
    std::mt19937 rng(static_cast<unsigned>(channels * 5 + hw + groups));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(batch * channels * hw)), gamma(channels), beta(channels);
    for (size_t i = 0; i < x.size(); ++i) x[i] = 3.0f + 2.0f * dist(rng);
    for (auto & v : gamma) v = dist(rng) * 2;
    for (auto & v : beta) v = dist(rng);
    std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
    if (in_place) y = x;
    const float eps = 1e-5f;
    sdn::cpu::group_norm(pool, level, in_place ? y.data() : x.data(), y.data(), batch, channels, hw, groups,
                         affine ? gamma.data() : nullptr, affine ? beta.data() : nullptr, eps, silu);
    const int64_t cg = channels / groups;
    double worst = 0;
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t g = 0; g < groups; ++g) {
            const float * xs = x.data() + (b * channels + g * cg) * hw;
            double mean = 0, var = 0;
            for (int64_t i = 0; i < cg * hw; ++i) mean += xs[i];
            mean /= static_cast<double>(cg * hw);
            for (int64_t i = 0; i < cg * hw; ++i) var += (xs[i] - mean) * (xs[i] - mean);
            var /= static_cast<double>(cg * hw);
            for (int64_t c = 0; c < cg; ++c)
                for (int64_t i = 0; i < hw; ++i) {
                    const int64_t ch = g * cg + c;
                    double r = (xs[c * hw + i] - mean) / std::sqrt(var + eps);
                    if (affine) r = r * gamma[ch] + beta[ch];
                    if (silu) r = r / (1.0 + std::exp(-r));
                    const double d = std::fabs(r - y[(b * channels + ch) * hw + i]);
                    if (!(d <= worst)) worst = d;
                }
        }
    CHECK_MSG(worst <= 2e-5, std::string(sdn::simd_level_name(level)) + " C=" + std::to_string(channels) + " hw=" +
                                 std::to_string(hw) + " G=" + std::to_string(groups) + (silu ? " silu" : "") + " max err " +
                                 std::to_string(worst));
}

}  // namespace

TEST(cpu_group_norm_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        check_gn(pool, level, 2, 15, 37, 5, false, true, false);
        check_gn(pool, level, 2, 15, 37, 5, true, true, true);
        check_gn(pool, level, 2, 64, 81, 32, true, false, false);
        check_gn(pool, level, 1, 6, 5000, 3, false, true, false);
        check_gn(pool, level, 2, 7, 1, 7, true, true, false);
    }
}

TEST(cpu_group_norm_rejects_bad_groups) {
    sdn::ThreadPool pool(1);
    std::vector<float> x(30), y(30);
    bool threw = false;
    try {
        sdn::cpu::group_norm(pool, SimdLevel::Portable, x.data(), y.data(), 1, 10, 3, 4, nullptr, nullptr, 1e-5f, false);
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_SHAPE;
    }
    CHECK(threw);
}
