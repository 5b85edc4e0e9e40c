// GroupNorm on NCHW with optional fused SiLU: one pool task per (image, group); two passes over the
// group (mean, then centred variance, accumulated in double across float chunks), then one fused
// normalise + per-channel affine (+ SiLU) pass per channel.
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/row_ops.h"

#include <cmath>
#include <string>

namespace sdn::cpu {

void group_norm(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t batch, int64_t channels,
                int64_t hw, int64_t groups, const float * gamma, const float * beta, float eps, bool silu,
                const ExecControl * control) {
    require(batch >= 1 && channels >= 1 && hw >= 1 && groups >= 1, SDN_ERR_SHAPE,
            "group_norm: batch, channels, hw and groups must be positive");
    require(channels % groups == 0, SDN_ERR_SHAPE,
            "group_norm: channels (" + std::to_string(channels) + ") not divisible by groups (" + std::to_string(groups) + ")");
    require(x != nullptr && y != nullptr, SDN_ERR_INVALID_ARGUMENT, "group_norm: x or y is NULL");
    require(eps >= 0.0f, SDN_ERR_INVALID_ARGUMENT, "group_norm: eps must be >= 0");
    const RowOps & ops = row_ops(level);
    const int64_t cg = channels / groups;
    const int act = silu ? static_cast<int>(Activation::Silu) : static_cast<int>(Activation::Identity);
    pool.parallel_for(batch * groups, [&](int64_t t, int) {
        if (control != nullptr && t % 16 == 0) control->poll("group_norm");
        const int64_t b = t / groups, g = t % groups;
        const int64_t c0 = g * cg;
        const float * xs = x + (b * channels + c0) * hw;
        float * ys = y + (b * channels + c0) * hw;
        const int64_t n = cg * hw;
        const double mean = ops.sum(xs, n) / static_cast<double>(n);
        const double var = ops.sumsq_centered(xs, n, static_cast<float>(mean)) / static_cast<double>(n);
        const double rstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
        for (int64_t c = 0; c < cg; ++c) {
            const double ga = gamma != nullptr ? gamma[c0 + c] : 1.0;
            const double be = beta != nullptr ? beta[c0 + c] : 0.0;
            const double scale = ga * rstd;
            ops.affine_act(xs + c * hw, ys + c * hw, hw, static_cast<float>(mean), static_cast<float>(scale), static_cast<float>(be), act);
        }
    });
}

}  // namespace sdn::cpu
