// cpu::activation (SiLU, exact GELU, quick GELU) and cpu::geglu against double-precision formulas at
// every SIMD level, lengths not multiples of the vector width, inputs spanning [-12, 12] plus extremes.
// Tolerance: 2e-6 * max(1, |y|) (the erf approximation is good to ~1.2e-7 relative in erfc).
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "test_framework.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sdn::SimdLevel;
using sdn::cpu::Activation;

namespace {

std::vector<SimdLevel> levels() {
    std::vector<SimdLevel> out;
    const SimdLevel best = sdn::best_simd_level(sdn::detect_cpu_features());
    for (int l = 0; l <= static_cast<int>(best); ++l) out.push_back(static_cast<SimdLevel>(l));
    return out;
}

double ref_act(Activation a, double x) {
    switch (a) {
        case Activation::Silu: return x / (1.0 + std::exp(-x));
        case Activation::Gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case Activation::QuickGelu: return x / (1.0 + std::exp(-1.702 * x));
        default: return x;
    }
}

std::vector<float> inputs(int64_t n, bool extremes_too = true) {
    std::mt19937 rng(static_cast<unsigned>(n));
    std::uniform_real_distribution<float> dist(-12.0f, 12.0f);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto & v : x) v = dist(rng);
    const float extremes[] = {0.0f, -0.0f, 1e-8f, -1e-8f, 100.0f, -100.0f, 88.0f, -88.0f, 3.0e38f, -3.0e38f};
    for (size_t i = 0; extremes_too && i < sizeof extremes / sizeof extremes[0] && i < x.size(); ++i) x[i * 3 % x.size()] = extremes[i];
    return x;
}

}  // namespace

TEST(cpu_activations_match_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels())
        for (Activation act : {Activation::Silu, Activation::Gelu, Activation::QuickGelu})
            for (int64_t n : {1, 15, 16, 17, 1000, 40001}) {
                const auto x = inputs(n);
                std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
                sdn::cpu::activation(pool, level, act, x.data(), y.data(), n);
                double worst = 0;
                for (int64_t i = 0; i < n; ++i) {
                    const double r = ref_act(act, x[i]);
                    const double d = std::fabs(r - y[i]) / std::max(1.0, std::fabs(r));
                    if (!(d <= worst)) worst = d;
                }
                CHECK_MSG(worst <= 2e-6, std::string(sdn::simd_level_name(level)) + " act=" + std::to_string(static_cast<int>(act)) +
                                             " n=" + std::to_string(n) + " max rel err " + std::to_string(worst));
                // in place
                std::vector<float> z = x;
                sdn::cpu::activation(pool, level, act, z.data(), z.data(), n);
                CHECK(z == y);
            }
}

TEST(cpu_geglu_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels())
        for (int64_t dim : {1, 7, 40, 1280}) {
            const int64_t rows = 5;
            const auto x = inputs(rows * 2 * dim, false);
            std::vector<float> y(static_cast<size_t>(rows * dim), std::numeric_limits<float>::quiet_NaN());
            sdn::cpu::geglu(pool, level, x.data(), y.data(), rows, dim);
            double worst = 0;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t i = 0; i < dim; ++i) {
                    const double a = x[r * 2 * dim + i], g = x[r * 2 * dim + dim + i];
                    const double ref = a * ref_act(Activation::Gelu, g);
                    const double d = std::fabs(ref - y[r * dim + i]) / std::max(1.0, std::fabs(ref));
                    if (!(d <= worst)) worst = d;
                }
            CHECK_MSG(worst <= 2e-6, std::string(sdn::simd_level_name(level)) + " dim=" + std::to_string(dim) + " max rel err " +
                                         std::to_string(worst));
        }
}
