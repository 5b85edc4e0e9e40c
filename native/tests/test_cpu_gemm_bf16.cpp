// CPU compute mode bf16 (cpu/gemm_compute.h): the avx512_bf16 GEMM kernels (operands rounded to bf16
// while packing, VDPBF16PS products, float32 accumulation) through gemm, pack_gemm_b, conv2d (direct and
// Winograd). Skipped on CPUs without avx512_bf16.
//
// Bounds, per output element, with S = sum_k |a_k * b_k| + |beta * c0| + |bias| (the magnitude the
// float32 sum could lose precision against):
//   - vs a float64 product of the bf16-ROUNDED operands (alpha folded into A before rounding):
//       |err| <= 1e-5 * S + 1e-6  (float32 accumulation only);
//   - vs the float64 product of the unrounded operands: |err| <= 1e-2 * S (each bf16 rounding is
//       <= 2^-9 relative, a product <= ~2^-8);
//   - conv2d direct vs float64 reference: |err| <= 1e-2 * S; Winograd F(4,3) (its transformed values are
//       rounded, up to ~10x amplification of the rounding through the transforms): |err| <= 5e-2 * S.
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "cpu_test_cases.h"
#include "test_framework.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

using sdn::SimdLevel;
using sdn::cpu::CpuCompute;
using sdn::cpu::DType;

namespace {

bool bf16_usable() {
    if (!sdn::cpu::cpu_bf16_available() || sdn::best_simd_level(sdn::detect_cpu_features()) != SimdLevel::Avx512) {
        sdn_test::skip("the CPU lacks avx512_bf16 (bf16 compute mode falls back to f32)");
        return false;
    }
    return true;
}

// Sets the process compute mode for the scope of a test case.
struct ComputeScope {
    CpuCompute saved;
    explicit ComputeScope(CpuCompute c) : saved(sdn::cpu::requested_cpu_compute()) { sdn::cpu::set_cpu_compute(c); }
    ~ComputeScope() { sdn::cpu::set_cpu_compute(saved); }
};

float round_bf16(float v) { return sdn::bf16_to_f32(sdn::f32_to_bf16(v)); }

using sdn_test::Operand;

struct Errors {
    double tight = 0, loose = 0;  // worst err / bound ratios (<= 1 passes)
    double rel_rounded = 0, rel_f32 = 0;
    bool pad_ok = true;
};

void check_gemm(sdn::ThreadPool & pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                DType at, DType bt, bool bias, bool prepack) {
    sdn_test::GemmCase gc(ta, tb, m, n, k, alpha, beta, at, bt, bias, static_cast<unsigned>(m * 131 + n * 17 + k + ta * 7 + tb * 3 + 99));
    sdn::cpu::GemmArgs g = gc.args();
    const Operand & a = gc.a;
    const Operand & b = gc.b;
    const int64_t lda = gc.lda, ldb = gc.ldb, ldc = gc.ldc;
    const auto & c = gc.c;
    const auto & c0 = gc.c0;
    const auto & bias_n = gc.bias_n;
    const auto & bias_m = gc.bias_m;
    sdn::cpu::PackedMatrix pb;
    if (prepack) {
        pb = sdn::cpu::pack_gemm_b(pool, SimdLevel::Avx512, b.data(), bt, tb, ldb, k, n);
        CHECK(pb.bf16);
        g.packed_b = &pb;
    }
    sdn::cpu::gemm(pool, SimdLevel::Avx512, g);
    Errors e;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s_r = 0, s_f = 0, mag = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
                const float av = ta ? a.f[kk * lda + i] : a.f[i * lda + kk];
                const float bv = tb ? b.f[j * ldb + kk] : b.f[kk * ldb + j];
                s_r += static_cast<double>(round_bf16(alpha * av)) * round_bf16(bv);
                s_f += static_cast<double>(alpha) * av * bv;
                mag += std::fabs(static_cast<double>(alpha) * av * bv);
            }
            double extra = beta == 0.0f ? 0.0 : beta * static_cast<double>(c0[i * ldc + j]);
            mag += std::fabs(extra);
            if (bias) {
                extra += static_cast<double>(bias_n[j]) + bias_m[i];
                mag += std::fabs(static_cast<double>(bias_n[j]) + bias_m[i]);
            }
            const double got = c[i * ldc + j];
            const double d_r = std::fabs(s_r + extra - got), d_f = std::fabs(s_f + extra - got);
            const double r_t = d_r / (1e-5 * mag + 1e-6), r_l = d_f / (1e-2 * mag + 1e-7);
            if (!(r_t <= e.tight)) e.tight = r_t;
            if (!(r_l <= e.loose)) e.loose = r_l;
            if (mag > 0) {
                e.rel_rounded = std::max(e.rel_rounded, d_r / mag);
                e.rel_f32 = std::max(e.rel_f32, d_f / mag);
            }
        }
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = n; j < ldc; ++j) {
            const float v = c[i * ldc + j];
            if (beta == 0.0f ? !std::isnan(v) : v != c0[i * ldc + j]) e.pad_ok = false;
        }
    CHECK_MSG(e.tight <= 1.0 && e.loose <= 1.0 && e.pad_ok,
              "bf16 m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) + " ta=" +
                  std::to_string(ta) + " tb=" + std::to_string(tb) + " A=" + sdn::cpu::dtype_name(at) +
                  " B=" + sdn::cpu::dtype_name(bt) + " rel err vs rounded " + std::to_string(e.rel_rounded) +
                  " vs f32 " + std::to_string(e.rel_f32) + (e.pad_ok ? "" : " (wrote outside C)"));
}

}  // namespace

TEST(cpu_gemm_bf16_mode_selection) {
    {
        ComputeScope scope(CpuCompute::F32);
        CHECK(!sdn::cpu::gemm_isa(SimdLevel::Avx512).bf16);
        CHECK(sdn::cpu::cpu_compute(SimdLevel::Avx512) == CpuCompute::F32);
    }
    {
        ComputeScope scope(CpuCompute::BF16);
        // never below avx512
        CHECK(!sdn::cpu::gemm_isa(SimdLevel::Avx2).bf16);
        CHECK(!sdn::cpu::gemm_isa(SimdLevel::Portable).bf16);
        CHECK(sdn::cpu::cpu_compute(SimdLevel::Avx2) == CpuCompute::F32);
        if (sdn::cpu::cpu_bf16_available()) {
            CHECK(sdn::cpu::gemm_isa(SimdLevel::Avx512).bf16);
            CHECK(std::string(sdn::cpu::cpu_compute_reason(SimdLevel::Avx512)).empty());
        } else {
            CHECK(!sdn::cpu::gemm_isa(SimdLevel::Avx512).bf16);
            CHECK(!std::string(sdn::cpu::cpu_compute_reason(SimdLevel::Avx512)).empty());
        }
    }
}

TEST(cpu_gemm_bf16_matches_rounded_reference) {
    if (!bf16_usable()) return;
    ComputeScope scope(CpuCompute::BF16);
    sdn::ThreadPool pool(2);
    const int64_t shapes[][3] = {{1, 1, 1}, {1, 33, 2}, {13, 33, 7}, {14, 32, 16}, {29, 65, 301}, {50, 47, 771}, {3, 130, 5}};
    for (const auto & s : shapes)
        for (int t = 0; t < 4; ++t) check_gemm(pool, t & 1, (t >> 1) & 1, s[0], s[1], s[2], 1.0f, 0.0f, DType::F32, DType::F32, false, false);
    check_gemm(pool, false, true, 37, 70, 97, 0.75f, 0.5f, DType::F32, DType::F16, true, false);
    check_gemm(pool, false, true, 37, 70, 97, -1.25f, 0.0f, DType::F32, DType::BF16, true, false);
    check_gemm(pool, true, false, 23, 41, 389, 1.0f, 1.0f, DType::BF16, DType::F16, true, false);
    check_gemm(pool, false, false, 45, 100, 800, 0.5f, 0.25f, DType::F16, DType::F32, false, false);
}

TEST(cpu_gemm_bf16_prepacked_b) {
    if (!bf16_usable()) return;
    sdn::ThreadPool pool(2);
    {
        ComputeScope scope(CpuCompute::BF16);
        check_gemm(pool, false, true, 61, 96, 321, 1.0f, 0.0f, DType::F32, DType::F16, true, true);
        check_gemm(pool, false, false, 30, 33, 777, 1.0f, 0.5f, DType::F32, DType::F32, false, true);
    }
    // packed in one mode, used in the other: rejected
    std::vector<float> b(64 * 64, 0.5f), a(64 * 64, 0.5f), c(64 * 64);
    sdn::cpu::PackedMatrix pf;
    {
        ComputeScope scope(CpuCompute::F32);
        pf = sdn::cpu::pack_gemm_b(pool, SimdLevel::Avx512, b.data(), DType::F32, false, 64, 64, 64);
    }
    ComputeScope scope(CpuCompute::BF16);
    sdn::cpu::GemmArgs g;
    g.m = g.n = g.k = 64;
    g.a = a.data();
    g.lda = 64;
    g.c = c.data();
    g.ldc = 64;
    g.packed_b = &pf;
    bool threw = false;
    try {
        sdn::cpu::gemm(pool, SimdLevel::Avx512, g);
    } catch (const sdn::Error &) {
        threw = true;
    }
    CHECK(threw);
}

namespace {

void check_conv_bf16(sdn::ThreadPool & pool, int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t ks,
                     int64_t stride, int64_t pad, DType wt, int algo /*0 auto 1 direct 2 winograd*/, double bound) {
    sdn_test::ConvCase cc(batch, cin, h, w, cout, ks, stride, pad, wt,
                          static_cast<unsigned>(cin * 7 + h * 13 + w + cout * 3 + ks + stride + algo));
    const auto a = cc.args(true, true);
    if (algo == 1) sdn::cpu::conv2d_direct(pool, SimdLevel::Avx512, a);
    else if (algo == 2) sdn::cpu::conv2d_winograd(pool, SimdLevel::Avx512, a);
    else sdn::cpu::conv2d(pool, SimdLevel::Avx512, a);
    std::vector<double> mag;
    const std::vector<double> ref = cc.reference(true, true, &mag);
    double worst = 0, worst_rel = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double d = std::fabs(ref[i] - cc.y[i]);
        const double ratio = d / (bound * mag[i]);
        if (!(ratio <= worst)) worst = ratio;
        worst_rel = std::max(worst_rel, d / mag[i]);
    }
    CHECK_MSG(worst <= 1.0, "bf16 conv cin=" + std::to_string(cin) + " " + std::to_string(h) + "x" + std::to_string(w) +
                                " cout=" + std::to_string(cout) + " k=" + std::to_string(ks) + " s=" + std::to_string(stride) +
                                " algo=" + std::to_string(algo) + " rel err " + std::to_string(worst_rel) + " (bound " +
                                std::to_string(bound) + ")");
}

}  // namespace

TEST(cpu_conv2d_bf16_matches_reference) {
    if (!bf16_usable()) return;
    ComputeScope scope(CpuCompute::BF16);
    sdn::ThreadPool pool(2);
    check_conv_bf16(pool, 2, 5, 9, 11, 19, 3, 1, 1, DType::F32, 1, 1e-2);
    check_conv_bf16(pool, 1, 37, 13, 10, 33, 3, 2, 1, DType::F16, 1, 1e-2);
    check_conv_bf16(pool, 2, 33, 7, 9, 17, 1, 1, 0, DType::BF16, 1, 1e-2);
    check_conv_bf16(pool, 1, 131, 12, 12, 30, 3, 1, 1, DType::F32, 1, 1e-2);  // K = 1179: odd K blocks
    check_conv_bf16(pool, 2, 40, 17, 19, 36, 3, 1, 1, DType::F32, 2, 5e-2);
    check_conv_bf16(pool, 1, 67, 20, 12, 45, 3, 1, 1, DType::F16, 2, 5e-2);
    // pre-transformed Winograd weights in bf16 mode, and rejection of f32-mode ones
    std::vector<float> wgt(32 * 32 * 9, 0.1f), x(32 * 8 * 8, 1.0f), y(32 * 8 * 8);
    const sdn::cpu::WinogradWeights u_bf =
        sdn::cpu::winograd_transform_weights(pool, SimdLevel::Avx512, wgt.data(), DType::F32, 32, 32);
    CHECK(u_bf.bf16);
    sdn::cpu::Conv2dArgs a;
    a.in_channels = a.out_channels = 32;
    a.in_h = a.in_w = 8;
    a.input = x.data();
    a.output = y.data();
    a.winograd_weight = &u_bf;
    sdn::cpu::conv2d_winograd(pool, SimdLevel::Avx512, a);
    // interior pixel: 32 channels * 9 taps * 0.1 = 28.8 (bf16(0.1) = 0.10009765625 -> 28.828125)
    CHECK_NEAR(y[3 * 8 + 3], 28.828125f, 0.05f);
    sdn::cpu::WinogradWeights u_f;
    {
        ComputeScope f32(CpuCompute::F32);
        u_f = sdn::cpu::winograd_transform_weights(pool, SimdLevel::Avx512, wgt.data(), DType::F32, 32, 32);
    }
    a.winograd_weight = &u_f;
    bool threw = false;
    try {
        sdn::cpu::conv2d_winograd(pool, SimdLevel::Avx512, a);
    } catch (const sdn::Error &) {
        threw = true;
    }
    CHECK(threw);
}
