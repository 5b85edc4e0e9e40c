// cpu::timestep_embedding against diffusers' get_timestep_embedding formula evaluated in double:
// per-sample float timesteps, flip_sin_to_cos both ways, downscale_freq_shift 0 and 1, odd dim (zero pad).
// Tolerance: 1e-4 absolute (the reference forms the angle t * freq in float32, which at t ~ 1000 already
// moves sin/cos by ~6e-5; the kernel does the same, so the real agreement is much tighter).
#include "cpu/kernels.h"
#include "test_framework.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

TEST(cpu_timestep_embedding_matches_diffusers_formula) {
    const std::vector<float> t = {0.0f, 1.0f, 499.5f, 999.0f};
    for (int64_t dim : {320, 7, 2}) {
        for (bool flip : {true, false}) {
            for (float shift : {0.0f, 1.0f}) {
                if (dim == 2 && shift == 1.0f) continue;  // half - shift == 0
                std::vector<float> y(t.size() * dim, std::numeric_limits<float>::quiet_NaN());
                sdn::cpu::timestep_embedding(t.data(), static_cast<int64_t>(t.size()), dim, y.data(), flip, shift);
                const int64_t half = dim / 2;
                double worst = 0;
                for (size_t i = 0; i < t.size(); ++i) {
                    for (int64_t j = 0; j < half; ++j) {
                        const double f = std::exp(-std::log(10000.0) * j / (half - shift));
                        const double e = t[i] * f;
                        const double first = flip ? std::cos(e) : std::sin(e), second = flip ? std::sin(e) : std::cos(e);
                        worst = std::max(worst, std::fabs(first - y[i * dim + j]));
                        worst = std::max(worst, std::fabs(second - y[i * dim + half + j]));
                    }
                    if (dim % 2 == 1) CHECK(y[i * dim + dim - 1] == 0.0f);
                }
                CHECK_MSG(worst <= 1e-4, "dim=" + std::to_string(dim) + " flip=" + std::to_string(flip) + " shift=" +
                                             std::to_string(shift) + " max err " + std::to_string(worst));
            }
        }
    }
}
