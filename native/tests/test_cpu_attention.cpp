// cpu::attention (flash style, online softmax) against a naive double-precision softmax(QK^T)V at every
// SIMD level: batch 2, 3 heads, Nq/Nk not multiples of the blocks, head dims 40, 64, 80, 160 and odd
// ones, both layouts (bhsd and bshd), causal masks (square and Nq < Nk), output poisoned with NaN.
// Tolerance: 2e-5 absolute (outputs are convex combinations of values in [-1, 1]).
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
using sdn::cpu::AttnLayout;

namespace {

std::vector<SimdLevel> levels() {
    std::vector<SimdLevel> out;
    const SimdLevel best = sdn::best_simd_level(sdn::detect_cpu_features());
    for (int l = 0; l <= static_cast<int>(best); ++l) out.push_back(static_cast<SimdLevel>(l));
    return out;
}

int64_t idx(AttnLayout layout, int64_t b, int64_t h, int64_t s, int64_t t, int64_t heads, int64_t seq, int64_t d) {
    return layout == AttnLayout::BHSD ? ((b * heads + h) * seq + s) * d + t : ((b * seq + s) * heads + h) * d + t;
}

void check_attention(sdn::ThreadPool & pool, SimdLevel level, AttnLayout layout, int64_t batch, int64_t heads, int64_t nq,
                     int64_t nk, int64_t d, bool causal, float qscale = 1.0f) {
    std::mt19937 rng(static_cast<unsigned>(nq * 31 + nk * 7 + d));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> q(static_cast<size_t>(batch * heads * nq * d)), k(static_cast<size_t>(batch * heads * nk * d)), v(k.size());
    for (auto & x : q) x = dist(rng) * qscale;
    for (auto & x : k) x = dist(rng);
    for (auto & x : v) x = dist(rng);
    std::vector<float> o(q.size(), std::numeric_limits<float>::quiet_NaN());
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    sdn::cpu::attention(pool, level,
                        sdn::cpu::attention_args(layout, batch, heads, nq, nk, d, q.data(), k.data(), v.data(), o.data(), scale, causal));
    double worst = 0;
    std::vector<double> s(nk);
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < nq; ++i) {
                const int64_t visible = causal ? std::min(nk, i + (nk - nq) + 1) : nk;
                double mx = -1e300;
                for (int64_t j = 0; j < visible; ++j) {
                    double acc = 0;
                    for (int64_t t = 0; t < d; ++t)
                        acc += static_cast<double>(q[idx(layout, b, h, i, t, heads, nq, d)]) * k[idx(layout, b, h, j, t, heads, nk, d)];
                    s[j] = acc * scale;
                    mx = std::max(mx, s[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j < visible; ++j) sum += (s[j] = std::exp(s[j] - mx));
                for (int64_t t = 0; t < d; ++t) {
                    double acc = 0;
                    for (int64_t j = 0; j < visible; ++j) acc += s[j] * v[idx(layout, b, h, j, t, heads, nk, d)];
                    const double ref = visible > 0 ? acc / sum : 0.0;
                    const double diff = std::fabs(ref - o[idx(layout, b, h, i, t, heads, nq, d)]);
                    if (!(diff <= worst)) worst = diff;
                }
            }
    CHECK_MSG(worst <= 2e-5, std::string(sdn::simd_level_name(level)) + (layout == AttnLayout::BHSD ? " bhsd" : " bshd") +
                                 " nq=" + std::to_string(nq) + " nk=" + std::to_string(nk) + " d=" + std::to_string(d) +
                                 (causal ? " causal" : "") + " max err " + std::to_string(worst));
}

}  // namespace

TEST(cpu_attention_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        for (int64_t d : {40, 64, 80, 160, 7})
            check_attention(pool, level, AttnLayout::BHSD, 2, 3, 37, 77, d, false);
        check_attention(pool, level, AttnLayout::BSHD, 2, 3, 70, 45, 40, false);
        check_attention(pool, level, AttnLayout::BSHD, 1, 2, 19, 130, 33, false, 8.0f);  // peaky softmax
    }
}

TEST(cpu_attention_causal_mask) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        check_attention(pool, level, AttnLayout::BSHD, 2, 3, 77, 77, 64, true);
        check_attention(pool, level, AttnLayout::BHSD, 1, 2, 9, 70, 40, true);  // queries are the last 9 positions
    }
}

TEST(cpu_attention_rejects_bad_shapes) {
    sdn::ThreadPool pool(1);
    std::vector<float> q(8), o(8);
    bool threw = false;
    try {
        sdn::cpu::attention(pool, SimdLevel::Portable,
                            sdn::cpu::attention_args(AttnLayout::BHSD, 1, 1, 2, 0, 4, q.data(), q.data(), q.data(), o.data(), 1.0f, false));
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_SHAPE;
    }
    CHECK(threw);
}

namespace {
int attn_abort_now(void *) { return 1; }
}  // namespace

TEST(cpu_attention_polls_the_abort_callback) {
    sdn::ThreadPool pool(2);
    std::vector<float> q(2 * 64 * 40, 0.5f), o(q.size());
    sdn::ExecControl control;
    control.abort_cb = attn_abort_now;
    bool aborted = false;
    try {
        sdn::cpu::attention(pool, sdn::best_simd_level(sdn::detect_cpu_features()),
                            sdn::cpu::attention_args(AttnLayout::BHSD, 1, 2, 64, 64, 40, q.data(), q.data(), q.data(), o.data(), 1.0f, false),
                            &control);
    } catch (const sdn::Error & e) {
        aborted = e.status() == SDN_ERR_ABORTED;
    }
    CHECK(aborted);
}
