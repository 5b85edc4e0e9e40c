// cpu::gemm (packed, blocked, per-ISA) against a naive double-precision product at every SIMD level the
// machine supports: awkward sizes (not multiples of the register tiles), all transposes, alpha/beta,
// f16/bf16 operands widened while packing, row/column bias, C poisoned with NaN when beta == 0.
// Tolerance: |err| <= 2e-6 * sqrt(k) * 4 + 1e-6 (float32 accumulation of k products of values in [-1, 1]);
// half operands are compared against the reference computed from the rounded halves.
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

using sdn_test::make_operand;
using sdn_test::Operand;

std::vector<SimdLevel> levels() { return sdn_test::simd_levels(); }

void check_case(sdn::ThreadPool & pool, SimdLevel level, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                float beta, DType at, DType bt, bool bias) {
    sdn_test::GemmCase gc(ta, tb, m, n, k, alpha, beta, at, bt, bias, static_cast<unsigned>(m * 131 + n * 17 + k + ta * 7 + tb * 3));
    sdn::cpu::GemmArgs g = gc.args();
    const auto & c = gc.c;
    const auto & c0 = gc.c0;
    const auto & bias_n = gc.bias_n;
    const auto & bias_m = gc.bias_m;
    const int64_t ldc = gc.ldc;
    sdn::cpu::gemm(pool, level, g);
    double worst = 0;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t kk = 0; kk < k; ++kk) s += gc.a_at(i, kk) * gc.b_at(kk, j);
            double ref = alpha * s + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c0[i * ldc + j]));
            if (bias) ref += bias_n[j] + bias_m[i];
            const double d = std::fabs(ref - c[i * ldc + j]);
            if (!(d <= worst)) worst = d;
        }
    // padding columns of C must be untouched
    bool pad_ok = true;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = n; j < ldc; ++j) {
            const float v = c[i * ldc + j];
            if (beta == 0.0f ? !std::isnan(v) : v != c0[i * ldc + j]) pad_ok = false;
        }
    const double tol = 2e-6 * std::sqrt(static_cast<double>(k) + 1) * 4 + 1e-6;
    CHECK_MSG(worst <= tol && pad_ok,
              std::string(sdn::simd_level_name(level)) + " m=" + std::to_string(m) + " n=" + std::to_string(n) +
                  " k=" + std::to_string(k) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " A=" +
                  sdn::cpu::dtype_name(at) + " B=" + sdn::cpu::dtype_name(bt) + " max err " + std::to_string(worst) +
                  (pad_ok ? "" : " (wrote outside C)"));
}

}  // namespace

TEST(cpu_gemm_packed_matches_double_reference_every_level) {
    sdn::ThreadPool pool(2);
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {15, 33, 17}, {29, 65, 300}, {43, 31, 513}, {3, 257, 31}, {100, 1, 9}};
    for (SimdLevel level : levels())
        for (const auto & s : sizes)
            for (int ta = 0; ta < 2; ++ta)
                for (int tb = 0; tb < 2; ++tb) {
                    check_case(pool, level, ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, DType::F32, DType::F32, false);
                    check_case(pool, level, ta, tb, s[0], s[1], s[2], 0.5f, 0.25f, DType::F32, DType::F32, true);
                }
}

TEST(cpu_gemm_half_operands_widened_while_packing) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels())
        for (DType t : {DType::F16, DType::BF16})
            for (int tb = 0; tb < 2; ++tb) {
                check_case(pool, level, false, tb, 37, 45, 70, 1.0f, 0.0f, DType::F32, t, true);
                check_case(pool, level, tb, false, 37, 45, 70, 1.0f, 1.0f, t, DType::F32, false);
                check_case(pool, level, false, tb, 16, 33, 19, 1.0f, 0.0f, t, t, false);
            }
}

TEST(cpu_gemm_larger_blocks_and_threads) {
    // several KC blocks, MC blocks and N blocks; 3 threads so blocks do not split evenly
    sdn::ThreadPool pool(3);
    for (SimdLevel level : levels()) {
        check_case(pool, level, false, false, 301, 157, 700, 1.0f, 0.0f, DType::F32, DType::F32, false);
        check_case(pool, level, true, true, 190, 70, 530, -1.5f, 0.5f, DType::F32, DType::F32, true);
    }
}

TEST(cpu_gemm_rejects_bad_arguments) {
    sdn::ThreadPool pool(1);
    std::vector<float> a(16), b(16), c(16);
    sdn::cpu::GemmArgs g;
    g.m = g.n = g.k = 4;
    g.a = a.data();
    g.b = b.data();
    g.c = c.data();
    g.lda = 3;
    g.ldb = g.ldc = 4;
    bool threw = false;
    try {
        sdn::cpu::gemm(pool, SimdLevel::Portable, g);
    } catch (const sdn::Error & e) {
        threw = e.status() == SDN_ERR_INVALID_ARGUMENT;
    }
    CHECK(threw);
}

TEST(cpu_gemm_prepacked_b_matches_per_call_packing) {
    sdn::ThreadPool pool(2);
    for (SimdLevel level : levels())
        for (DType bt : {DType::F32, DType::F16}) {
            const int64_t m = 45, n = 77, k = 530;  // two K blocks
            std::mt19937 rng(5);
            Operand a = make_operand(static_cast<size_t>(m * k), DType::F32, rng);
            Operand w = make_operand(static_cast<size_t>(n * k), bt, rng);  // linear weight [n, k]
            std::vector<float> bias(n, 0.25f), c1(static_cast<size_t>(m * n)), c2(c1.size(), std::nanf(""));
            sdn::cpu::GemmArgs g;
            g.m = m;
            g.n = n;
            g.k = k;
            g.a = a.data();
            g.lda = k;
            g.b = w.data();
            g.b_type = bt;
            g.trans_b = true;
            g.ldb = k;
            g.c = c1.data();
            g.ldc = n;
            g.bias_n = bias.data();
            sdn::cpu::gemm(pool, level, g);
            const sdn::cpu::PackedMatrix packed = sdn::cpu::pack_gemm_b(pool, level, w.data(), bt, true, k, k, n);
            sdn::cpu::GemmArgs gp = g;
            gp.b = nullptr;
            gp.packed_b = &packed;
            gp.c = c2.data();
            sdn::cpu::gemm(pool, level, gp);
            CHECK_MSG(c1 == c2, std::string(sdn::simd_level_name(level)) + " B=" + sdn::cpu::dtype_name(bt));
            gp.n = n - 1;  // shape mismatch
            bool threw = false;
            try {
                sdn::cpu::gemm(pool, level, gp);
            } catch (const sdn::Error & e) {
                threw = e.status() == SDN_ERR_SHAPE;
            }
            CHECK(threw);
        }
}
