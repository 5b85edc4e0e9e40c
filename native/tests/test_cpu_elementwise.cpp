// cpu::add and cpu::add_bias (NCHW channel bias and last-dimension bias) at every SIMD level; exact.
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "test_framework.h"

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
std::vector<float> rnd(size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (auto & x : v) x = d(rng);
    return v;
}
}  // namespace

TEST(cpu_add_and_bias_exact_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        for (int64_t n : {1, 17, 100003}) {
            const auto a = rnd(n, 1), b = rnd(n, 2);
            std::vector<float> y(n, std::numeric_limits<float>::quiet_NaN());
            sdn::cpu::add(pool, level, a.data(), b.data(), y.data(), n);
            bool ok = true;
            for (int64_t i = 0; i < n; ++i) ok = ok && y[i] == a[i] + b[i];
            CHECK_MSG(ok, std::string(sdn::simd_level_name(level)) + " add n=" + std::to_string(n));
        }
        const int64_t shapes[][3] = {{2, 19, 37}, {3, 5, 1}, {77, 768, 1}, {2, 320, 4096}};
        for (const auto & s : shapes) {
            const int64_t outer = s[0], ch = s[1], inner = s[2];
            const auto x = rnd(static_cast<size_t>(outer * ch * inner), 3), bias = rnd(ch, 4);
            std::vector<float> y(x.size(), std::numeric_limits<float>::quiet_NaN());
            sdn::cpu::add_bias(pool, level, x.data(), bias.data(), y.data(), outer, ch, inner);
            bool ok = true;
            for (int64_t o = 0; o < outer; ++o)
                for (int64_t c = 0; c < ch; ++c)
                    for (int64_t i = 0; i < inner; ++i) {
                        const size_t k = static_cast<size_t>((o * ch + c) * inner + i);
                        ok = ok && y[k] == x[k] + bias[c];
                    }
            CHECK_MSG(ok, std::string(sdn::simd_level_name(level)) + " add_bias " + std::to_string(outer) + "x" +
                              std::to_string(ch) + "x" + std::to_string(inner));
        }
    }
}
