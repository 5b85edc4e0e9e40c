// Sinusoidal timestep embedding, as diffusers' get_timestep_embedding: frequencies and their product
// with the timestep are formed in float32 like the reference; sin/cos are then evaluated exactly.
#include "cpu/kernels.h"

#include "core/error.h"

#include <cmath>

namespace sdn::cpu {

void timestep_embedding(const float * timesteps, int64_t n, int64_t dim, float * out, bool flip_sin_to_cos,
                        float downscale_freq_shift, float scale, float max_period) {
    require(n >= 0 && dim >= 1, SDN_ERR_SHAPE, "timestep_embedding: need n >= 0 and dim >= 1");
    if (n == 0) return;
    require(timesteps != nullptr && out != nullptr, SDN_ERR_INVALID_ARGUMENT, "timestep_embedding: timesteps or out is NULL");
    const int64_t half = dim / 2;
    require(half == 0 || static_cast<float>(half) != downscale_freq_shift, SDN_ERR_INVALID_ARGUMENT,
            "timestep_embedding: half_dim - downscale_freq_shift must not be 0");
    const float log_max = std::log(max_period);
    for (int64_t i = 0; i < n; ++i) {
        float * o = out + i * dim;
        for (int64_t j = 0; j < half; ++j) {
            const float exponent = -log_max * static_cast<float>(j) / (static_cast<float>(half) - downscale_freq_shift);
            const float arg = scale * (timesteps[i] * std::exp(exponent));
            const float s = static_cast<float>(std::sin(static_cast<double>(arg)));
            const float c = static_cast<float>(std::cos(static_cast<double>(arg)));
            o[j] = flip_sin_to_cos ? c : s;
            o[half + j] = flip_sin_to_cos ? s : c;
        }
        if (dim % 2 == 1) o[dim - 1] = 0.0f;
    }
}

}  // namespace sdn::cpu
