// cpu::conv2d_winograd (F(4x4, 3x3)) against a naive double-precision convolution at every SIMD level:
// awkward image sizes (1, 3, 5, 7, 13, 64: not multiples of the 4x4 tile), odd channel counts, batch 2,
// bias and fused residual (also in place), f16 / bf16 weights, NaN-poisoned outputs; cached transformed
// weights; the SDN_CONV_ALGO dispatch; abort polling.
//
// Fidelity bound (stated here, checked below): with activations ~ N(0, 1) (post-GroupNorm scale) and
// weights ~ N(0, 1/(9C)), C = 128..512, the max abs error against the double reference is at most
// 5e-5 x max |out| (measured: ~3e-6 .. 1e-5 x max |out|, the direct f32 path ~1e-6). The shape tests
// use uniform [-1, 1] data and the same relative bound (plus 1e-5 absolute).
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"
#include "cpu_test_cases.h"
#include "test_framework.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sdn::SimdLevel;
using sdn::cpu::DType;

namespace {

std::vector<SimdLevel> levels() { return sdn_test::simd_levels(); }

// out[n][o][y][x] = bias + residual + sum w * x (3x3, stride 1, pad 1) in double
std::vector<double> reference(const std::vector<float> & x, const std::vector<float> & w, const float * bias,
                              const float * residual, int64_t batch, int64_t cin, int64_t h, int64_t wd, int64_t cout) {
    std::vector<double> out(static_cast<size_t>(batch * cout * h * wd));
    for (int64_t n = 0; n < batch; ++n)
        for (int64_t o = 0; o < cout; ++o) {
            double * op = out.data() + (n * cout + o) * h * wd;
            for (int64_t i = 0; i < h * wd; ++i)
                op[i] = (bias ? bias[o] : 0.0) + (residual ? residual[(n * cout + o) * h * wd + i] : 0.0);
            for (int64_t c = 0; c < cin; ++c) {
                const float * xp = x.data() + (n * cin + c) * h * wd;
                for (int64_t ky = 0; ky < 3; ++ky)
                    for (int64_t kx = 0; kx < 3; ++kx) {
                        const double wv = w[static_cast<size_t>(((o * cin + c) * 3 + ky) * 3 + kx)];
                        for (int64_t y = 0; y < h; ++y) {
                            const int64_t iy = y + ky - 1;
                            if (iy < 0 || iy >= h) continue;
                            for (int64_t xx = 0; xx < wd; ++xx) {
                                const int64_t ix = xx + kx - 1;
                                if (ix < 0 || ix >= wd) continue;
                                op[y * wd + xx] += wv * xp[iy * wd + ix];
                            }
                        }
                    }
            }
        }
    return out;
}

struct Err {
    double max_abs = 0, max_ref = 0;
    bool finite = true;
};

Err compare(const std::vector<float> & y, const std::vector<double> & ref) {
    Err e;
    for (size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i])) e.finite = false;
        const double d = std::fabs(y[i] - ref[i]);
        if (!(d <= e.max_abs)) e.max_abs = d;
        e.max_ref = std::max(e.max_ref, std::fabs(ref[i]));
    }
    return e;
}

sdn::cpu::Conv2dArgs args_for(int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, const float * x,
                              const void * wt, DType type, const float * bias, const float * residual, float * y) {
    sdn::cpu::Conv2dArgs a;
    a.batch = batch;
    a.in_channels = cin;
    a.in_h = h;
    a.in_w = w;
    a.out_channels = cout;
    a.input = x;
    a.weight = wt;
    a.weight_type = type;
    a.bias = bias;
    a.residual = residual;
    a.output = y;
    return a;
}

void check_shape(sdn::ThreadPool & pool, SimdLevel level, int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout,
                 bool bias, bool residual, bool in_place, DType wt) {
    sdn_test::ConvCase cc(batch, cin, h, w, cout, 3, 1, 1, wt, static_cast<unsigned>(cin * 7 + h * 13 + w + cout * 3));
    const auto ref = cc.reference(bias, residual);
    auto a = cc.args(bias, residual);
    if (in_place) {  // residual == output
        cc.y = cc.r;
        a.output = cc.y.data();
        if (residual) a.residual = cc.y.data();
    }
    const std::vector<float> & y = cc.y;
    sdn::cpu::conv2d_winograd(pool, level, a);
    const Err e = compare(y, ref);
    const double tol = 5e-5 * e.max_ref + 1e-5;
    CHECK_MSG(e.finite && e.max_abs <= tol,
              std::string(sdn::simd_level_name(level)) + " n=" + std::to_string(batch) + " cin=" + std::to_string(cin) + " " +
                  std::to_string(h) + "x" + std::to_string(w) + " cout=" + std::to_string(cout) + " w=" +
                  sdn::cpu::dtype_name(wt) + (in_place ? " in-place" : "") + " max err " + std::to_string(e.max_abs) +
                  " (tol " + std::to_string(tol) + ")");
}

}  // namespace

TEST(cpu_winograd_matches_double_reference_awkward_sizes_every_level) {
    sdn::ThreadPool pool(2);
    const int64_t sizes[] = {1, 3, 5, 7, 13, 64};
    for (SimdLevel level : levels()) {
        for (int64_t h : sizes)
            for (int64_t w : {int64_t(1), int64_t(7), int64_t(13)}) check_shape(pool, level, 2, 5, h, w, 7, true, true, false, DType::F32);
        check_shape(pool, level, 2, 3, 64, 64, 5, true, false, false, DType::F32);
        check_shape(pool, level, 1, 1, 5, 3, 1, false, false, false, DType::F32);
        check_shape(pool, level, 2, 37, 13, 11, 41, true, true, true, DType::F32);    // residual == output
        check_shape(pool, level, 2, 19, 9, 14, 33, false, true, false, DType::F16);
        check_shape(pool, level, 1, 17, 6, 10, 15, true, false, false, DType::BF16);
    }
}

TEST(cpu_winograd_several_k_blocks_tile_blocks_and_channel_groups) {
    sdn::ThreadPool pool(3);
    for (SimdLevel level : levels()) {
        check_shape(pool, level, 2, 401, 7, 9, 45, true, true, false, DType::F32);  // 2 K blocks
        check_shape(pool, level, 1, 9, 45, 37, 131, true, true, false, DType::F32); // 120 tiles, > 112 channels
    }
}

// Realistic scales: x ~ N(0,1), w ~ N(0, 1/(9C)). Bound: max |err| <= 5e-5 * max |out|.
TEST(cpu_winograd_fidelity_realistic_scales) {
    sdn::ThreadPool pool(2);
    const SimdLevel level = sdn::best_simd_level(sdn::detect_cpu_features());
    for (int64_t cin : {128, 256, 512}) {
        const int64_t cout = 32, h = 20, w = 18;
        std::mt19937 rng(static_cast<unsigned>(cin));
        std::normal_distribution<float> nd(0.0f, 1.0f);
        std::vector<float> x(static_cast<size_t>(cin * h * w)), wf(static_cast<size_t>(cout * cin * 9));
        for (auto & v : x) v = nd(rng);
        const float ws = 1.0f / std::sqrt(9.0f * static_cast<float>(cin));
        for (auto & v : wf) v = nd(rng) * ws;
        const auto ref = reference(x, wf, nullptr, nullptr, 1, cin, h, w, cout);
        std::vector<float> yw(ref.size(), std::nanf("")), yd(ref.size(), std::nanf(""));
        auto a = args_for(1, cin, h, w, cout, x.data(), wf.data(), DType::F32, nullptr, nullptr, yw.data());
        sdn::cpu::conv2d_winograd(pool, level, a);
        a.output = yd.data();
        sdn::cpu::conv2d_direct(pool, level, a);
        const Err ew = compare(yw, ref), ed = compare(yd, ref);
        double sq = 0;
        for (size_t i = 0; i < yw.size(); ++i) sq += (yw[i] - ref[i]) * (yw[i] - ref[i]);
        std::printf("    winograd C=%lld: max|out| %.3f max abs err %.3e (%.2e of max|out|, rms %.2e); direct f32 %.3e\n",
                    static_cast<long long>(cin), ew.max_ref, ew.max_abs, ew.max_abs / ew.max_ref,
                    std::sqrt(sq / static_cast<double>(yw.size())), ed.max_abs);
        CHECK_MSG(ew.finite && ew.max_abs <= 5e-5 * ew.max_ref,
                  "C=" + std::to_string(cin) + " max err " + std::to_string(ew.max_abs) + " max|out| " + std::to_string(ew.max_ref));
    }
}

TEST(cpu_winograd_transformed_weights_match_per_call_transform) {
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
            const void * wp = wt == DType::F32 ? static_cast<const void *>(wf.data()) : wh.data();
            auto a = args_for(2, cin, h, w, cout, x.data(), wp, wt, b.data(), nullptr, y1.data());
            sdn::cpu::conv2d_winograd(pool, level, a);
            const auto tw = sdn::cpu::winograd_transform_weights(pool, level, wp, wt, cout, cin);
            CHECK(tw.bytes() == static_cast<size_t>(sdn::cpu::winograd_weight_floats(level, cout, cin)) * sizeof(float));
            a.weight = nullptr;
            a.winograd_weight = &tw;
            a.output = y2.data();
            sdn::cpu::conv2d(pool, level, a);  // only transformed weights: conv2d must take the Winograd path
            CHECK_MSG(y1 == y2, std::string(sdn::simd_level_name(level)) + " w=" + sdn::cpu::dtype_name(wt));
        }
}

TEST(cpu_winograd_conv_algo_env_forces_the_path) {
    sdn::ThreadPool pool(2);
    const SimdLevel level = sdn::best_simd_level(sdn::detect_cpu_features());
    const int64_t cin = 8, cout = 8, h = 12, w = 12;  // small: auto takes the direct path
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(cin * h * w)), wf(static_cast<size_t>(cout * cin * 9));
    for (auto & v : x) v = dist(rng);
    for (auto & v : wf) v = dist(rng);
    std::vector<float> yd(static_cast<size_t>(cout * h * w)), yw(yd.size()), y(yd.size());
    auto a = args_for(1, cin, h, w, cout, x.data(), wf.data(), DType::F32, nullptr, nullptr, yd.data());
    sdn::cpu::conv2d_direct(pool, level, a);
    a.output = yw.data();
    sdn::cpu::conv2d_winograd(pool, level, a);
    CHECK(yd != yw);  // the two paths round differently
    a.output = y.data();
    const char * old = std::getenv("SDN_CONV_ALGO");
    const std::string saved = old != nullptr ? old : "";
    CHECK(!sdn::cpu::winograd_pays(a, false));
    setenv("SDN_CONV_ALGO", "winograd", 1);
    CHECK(sdn::cpu::conv_algo() == sdn::cpu::ConvAlgo::Winograd);
    sdn::cpu::conv2d(pool, level, a);
    CHECK(y == yw);
    setenv("SDN_CONV_ALGO", "direct", 1);
    sdn::cpu::conv2d(pool, level, a);
    CHECK(y == yd);
    setenv("SDN_CONV_ALGO", "auto", 1);
    sdn::cpu::conv2d(pool, level, a);
    CHECK(y == yd);
    // a big enough shape takes Winograd under auto
    a.in_channels = a.out_channels = 64;
    a.in_h = a.in_w = 64;
    CHECK(sdn::cpu::winograd_pays(a, false));
    a.kernel_h = a.kernel_w = 1;
    a.pad = 0;
    CHECK(!sdn::cpu::winograd_pays(a, true));
    if (old != nullptr) setenv("SDN_CONV_ALGO", saved.c_str(), 1);
    else unsetenv("SDN_CONV_ALGO");
}

TEST(cpu_winograd_every_level_through_sdn_simd) {
    // the level the backend would pick from SDN_SIMD, run through the Winograd kernels
    sdn::ThreadPool pool(2);
    const char * old = std::getenv("SDN_SIMD");
    const std::string saved = old != nullptr ? old : "";
    for (const char * name : {"portable", "avx2", "avx512"}) {
        setenv("SDN_SIMD", name, 1);
        const SimdLevel level = sdn::select_simd_level(sdn::detect_cpu_features());
        check_shape(pool, level, 2, 11, 13, 7, 9, true, true, false, DType::F32);
    }
    if (old != nullptr) setenv("SDN_SIMD", saved.c_str(), 1);
    else unsetenv("SDN_SIMD");
}

TEST(cpu_winograd_polls_the_abort_callback) {
    sdn::ThreadPool pool(2);
    sdn_test::ConvCase cc(2, 8, 16, 16, 8, 3, 1, 1, DType::F32, 1);
    const auto a = cc.args(false, false);
    CHECK(sdn_test::aborts_when_asked([&](const sdn::ExecControl & ctl) {
        sdn::cpu::conv2d_winograd(pool, sdn::best_simd_level(sdn::detect_cpu_features()), a, &ctl);
    }));
}

TEST(cpu_winograd_rejects_ineligible_shapes) {
    sdn::ThreadPool pool(1);
    std::vector<float> x(64), w(64), y(64);
    auto a = args_for(1, 1, 4, 4, 1, x.data(), w.data(), DType::F32, nullptr, nullptr, y.data());
    a.stride = 2;
    bool threw = false;
    try {
        sdn::cpu::conv2d_winograd(pool, SimdLevel::Portable, a);
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_INVALID_ARGUMENT;
    }
    CHECK(threw);
}
