// GEMM on the context's backend against a naive double-precision product, awkward sizes, every
// transpose combination, alpha/beta, output poisoned before each run; plus abort and progress.
#include "sd_native.h"
#include "test_framework.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

sdn_context * make_ctx(sdn_backend_kind kind, int threads) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = kind;
    p.n_threads = threads;
    sdn_context * ctx = nullptr;
    sdn_context_create(&p, &ctx, nullptr);
    return ctx;
}

void check_gemm_case(sdn_context * ctx, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta) {
    std::mt19937 rng(static_cast<unsigned>(m * 131 + n * 17 + k + (ta ? 7 : 0) + (tb ? 3 : 0)));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
    std::vector<float> a((ta ? k : m) * lda), b((tb ? n : k) * ldb), c(m * ldc);
    for (auto & x : a) x = dist(rng);
    for (auto & x : b) x = dist(rng);
    std::vector<float> c0(c.size());
    for (auto & x : c0) x = dist(rng);
    if (beta == 0.0f) {
        for (auto & x : c) x = std::numeric_limits<float>::quiet_NaN();  // poison: beta 0 must overwrite
    } else {
        c = c0;
    }
    sdn_error err;
    CHECK(sdn_gemm_f32(ctx, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc, &err) == SDN_OK);
    double worst = 0;
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            double s = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
                const double av = ta ? a[kk * lda + i] : a[i * lda + kk];
                const double bv = tb ? b[j * ldb + kk] : b[kk * ldb + j];
                s += av * bv;
            }
            const double ref = alpha * s + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c0[i * ldc + j]));
            const double d = std::fabs(ref - c[i * ldc + j]);
            if (!(d <= worst)) worst = d;  // NaN makes worst NaN
        }
    }
    CHECK_MSG(worst <= 1e-5 * std::sqrt(static_cast<double>(k) + 1) * 4,
              "m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k) + " ta=" +
                  std::to_string(ta) + " tb=" + std::to_string(tb) + " max err " + std::to_string(worst));
}

}  // namespace

TEST(gemm_cpu_matches_double_reference_awkward_sizes) {
    sdn_context * ctx = make_ctx(SDN_BACKEND_CPU, 2);
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 17, 65}, {64, 64, 64}, {129, 47, 300}, {3, 257, 31}, {100, 1, 9}};
    for (const auto & s : sizes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
                check_gemm_case(ctx, ta, tb, s[0], s[1], s[2], 1.0f, 0.0f);
                check_gemm_case(ctx, ta, tb, s[0], s[1], s[2], 0.5f, 0.25f);
            }
    sdn_context_free(ctx);
}

TEST(gemm_k_zero_scales_c_by_beta) {
    sdn_context * ctx = make_ctx(SDN_BACKEND_CPU, 1);
    std::vector<float> c = {1, 2, 3, 4};
    CHECK(sdn_gemm_f32(ctx, 0, 0, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 2.0f, c.data(), 2, nullptr) == SDN_OK);
    CHECK(c[0] == 2 && c[3] == 8);
    sdn_context_free(ctx);
}

TEST(gemm_rejects_bad_strides_and_nulls) {
    sdn_context * ctx = make_ctx(SDN_BACKEND_CPU, 1);
    std::vector<float> a(16), b(16), c(16);
    sdn_error err;
    CHECK(sdn_gemm_f32(ctx, 0, 0, 4, 4, 4, 1, a.data(), 3, b.data(), 4, 0, c.data(), 4, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(std::string(err.message).find("lda") != std::string::npos);
    CHECK(sdn_gemm_f32(ctx, 0, 0, -1, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(sdn_gemm_f32(ctx, 0, 0, 4, 4, 4, 1, nullptr, 4, b.data(), 4, 0, c.data(), 4, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(sdn_gemm_f32(nullptr, 0, 0, 4, 4, 4, 1, a.data(), 4, b.data(), 4, 0, c.data(), 4, &err) == SDN_ERR_INVALID_ARGUMENT);
    sdn_context_free(ctx);
}

namespace {
int always_abort(void *) { return 1; }
void count_progress(int, int, void * user) { ++*static_cast<int *>(user); }
}  // namespace

TEST(gemm_abort_callback_stops_with_aborted_status) {
    sdn_context * ctx = make_ctx(SDN_BACKEND_CPU, 2);
    std::vector<float> a(256 * 256, 1.0f), b(256 * 256, 1.0f), c(256 * 256);
    sdn_context_set_abort_callback(ctx, always_abort, nullptr);
    sdn_error err;
    CHECK(sdn_gemm_f32(ctx, 0, 0, 256, 256, 256, 1, a.data(), 256, b.data(), 256, 0, c.data(), 256, &err) == SDN_ERR_ABORTED);
    CHECK(std::string(err.message).find("aborted") != std::string::npos);
    sdn_context_set_abort_callback(ctx, nullptr, nullptr);
    int calls = 0;
    sdn_context_set_progress_callback(ctx, count_progress, &calls);
    CHECK(sdn_gemm_f32(ctx, 0, 0, 256, 256, 256, 1, a.data(), 256, b.data(), 256, 0, c.data(), 256, &err) == SDN_OK);
    CHECK(calls >= 1);
    CHECK(c[0] == 256.0f);
    sdn_context_free(ctx);
}

TEST(gemm_cuda_matches_cpu_when_a_gpu_is_present) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = SDN_BACKEND_CUDA;
    p.allow_fallback = 0;
    sdn_context * gpu = nullptr;
    sdn_error err;
    if (sdn_context_create(&p, &gpu, &err) != SDN_OK) {
        sdn_test::skip(std::string("no usable CUDA device: ") + err.message);
        return;
    }
    const int64_t sizes[][3] = {{1, 1, 1}, {33, 17, 65}, {129, 47, 300}, {256, 320, 77}};
    for (const auto & s : sizes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) check_gemm_case(gpu, ta, tb, s[0], s[1], s[2], 0.5f, 0.25f);
    sdn_context_free(gpu);
}
