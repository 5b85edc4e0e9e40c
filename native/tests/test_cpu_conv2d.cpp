// cpu::conv2d (implicit GEMM) against a naive double-precision convolution at every SIMD level:
// batch 2, odd channel counts, images not multiples of the tiles, 3x3 (stride 1 / 2, pad 1) and 1x1,
// bias and fused residual, f16/bf16 weights, output poisoned with NaN.
// Tolerance: 2e-6 * sqrt(K) * 4 + 1e-5 absolute (K = in_channels * kh * kw, values in [-1, 1]).
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu_test_cases.h"
#include "test_framework.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sdn::SimdLevel;
using sdn::cpu::DType;

namespace {

std::vector<SimdLevel> levels() { return sdn_test::simd_levels(); }

void check_conv(sdn::ThreadPool & pool, SimdLevel level, int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout,
                int64_t ks, int64_t stride, int64_t pad, bool bias, bool residual, DType wt) {
    sdn_test::ConvCase cc(batch, cin, h, w, cout, ks, stride, pad, wt, static_cast<unsigned>(cin * 7 + h * 13 + w + cout * 3 + ks + stride));
    sdn::cpu::conv2d(pool, level, cc.args(bias, residual));
    const std::vector<double> ref = cc.reference(bias, residual);
    double worst = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = std::fabs(ref[i] - cc.y[i]);
        if (!(d <= worst)) worst = d;
    }
    const double tol = 2e-6 * std::sqrt(static_cast<double>(cin * ks * ks)) * 4 + 1e-5;
    CHECK_MSG(worst <= tol, std::string(sdn::simd_level_name(level)) + " cin=" + std::to_string(cin) + " " +
                                std::to_string(h) + "x" + std::to_string(w) + " cout=" + std::to_string(cout) + " k=" +
                                std::to_string(ks) + " s=" + std::to_string(stride) + " w=" + sdn::cpu::dtype_name(wt) +
                                " max err " + std::to_string(worst));
}

}  // namespace

TEST(cpu_conv2d_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels()) {
        check_conv(pool, level, 2, 5, 9, 11, 19, 3, 1, 1, true, false, DType::F32);
        check_conv(pool, level, 2, 7, 13, 10, 17, 3, 2, 1, true, true, DType::F32);
        check_conv(pool, level, 2, 33, 6, 7, 21, 1, 1, 0, false, true, DType::F32);
        check_conv(pool, level, 1, 3, 1, 37, 5, 3, 1, 1, true, false, DType::F32);
        check_conv(pool, level, 2, 30, 17, 19, 35, 3, 1, 1, true, true, DType::F16);
        check_conv(pool, level, 1, 9, 8, 8, 15, 3, 2, 1, false, false, DType::BF16);
    }
}

TEST(cpu_conv2d_large_k_spans_several_k_blocks) {
    sdn::ThreadPool pool(3);
    for (SimdLevel level : levels()) check_conv(pool, level, 2, 67, 12, 21, 40, 3, 1, 1, true, true, DType::F32);
}

TEST(cpu_conv2d_rejects_bad_shapes) {
    sdn::ThreadPool pool(1);
    std::vector<float> x(16), w(9), y(16);
    sdn::cpu::Conv2dArgs a;
    a.in_channels = 1;
    a.in_h = a.in_w = 1;
    a.out_channels = 1;
    a.pad = 0;  // 3x3 kernel on a 1x1 image without padding
    a.input = x.data();
    a.weight = w.data();
    a.output = y.data();
    bool threw = false;
    try {
        sdn::cpu::conv2d(pool, SimdLevel::Portable, a);
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_SHAPE;
    }
    CHECK(threw);
}

TEST(cpu_conv2d_polls_the_abort_callback) {
    sdn::ThreadPool pool(2);
    sdn_test::ConvCase cc(2, 8, 16, 16, 8, 3, 1, 1, DType::F32, 1);
    const auto a = cc.args(false, false);
    CHECK(sdn_test::aborts_when_asked([&](const sdn::ExecControl & ctl) {
        sdn::cpu::conv2d(pool, sdn::best_simd_level(sdn::detect_cpu_features()), a, &ctl);
    }));
}

TEST(cpu_conv2d_prepacked_weights_match_per_call_packing) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels())
        for (DType wt : {DType::F32, DType::BF16}) {
            const int64_t cin = 13, cout = 29, h = 10, w = 9;
            std::mt19937 rng(9);
            std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
            std::vector<float> x(static_cast<size_t>(2 * cin * h * w)), wf(static_cast<size_t>(cout * cin * 9)), b(cout);
            std::vector<uint16_t> wh(wf.size());
            for (auto & v : x) v = dist(rng);
            for (size_t i = 0; i < wf.size(); ++i) wh[i] = sdn::f32_to_bf16(wf[i] = dist(rng));
            for (auto & v : b) v = dist(rng);
            std::vector<float> y1(static_cast<size_t>(2 * cout * h * w)), y2(y1.size(), std::nanf(""));
            sdn::cpu::Conv2dArgs a;
            a.batch = 2;
            a.in_channels = cin;
            a.in_h = h;
            a.in_w = w;
            a.out_channels = cout;
            a.input = x.data();
            a.weight = wt == DType::F32 ? static_cast<const void *>(wf.data()) : wh.data();
            a.weight_type = wt;
            a.bias = b.data();
            a.output = y1.data();
            // The direct path both times (conv2d() may pick Winograd, which rounds differently).
            sdn::cpu::conv2d_direct(pool, level, a);
            const auto packed = sdn::cpu::pack_conv2d_weights(pool, level, a.weight, wt, cout, cin, 3, 3);
            a.weight = nullptr;
            a.packed_weight = &packed;
            a.output = y2.data();
            sdn::cpu::conv2d_direct(pool, level, a);
            CHECK_MSG(y1 == y2, std::string(sdn::simd_level_name(level)) + " w=" + sdn::cpu::dtype_name(wt));
        }
}
