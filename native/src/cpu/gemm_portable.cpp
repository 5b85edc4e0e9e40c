// Simple blocked GEMM (f32 only), kept as a second reference implementation; the dispatched GEMM is
// the packed one in gemm.cpp. Operands are first copied into contiguous non-transposed panels, then each
// task computes a block of rows of C with a k-blocked axpy loop the compiler vectorises.
#include "cpu/gemm.h"

#include <algorithm>
#include <vector>

namespace sdn::cpu {

namespace {
constexpr int64_t kRowBlock = 32;
constexpr int64_t kDepthBlock = 256;
constexpr int64_t kColBlock = 1024;
}  // namespace

void gemm_f32_portable(ThreadPool & pool, const GemmF32Args & g, const ExecControl & control) {
    if (g.m == 0 || g.n == 0) return;

    // Scale C by beta first (beta == 0 overwrites, so NaN garbage in C never leaks through).
    auto scale_rows = [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; ++i) {
            float * c = g.c + i * g.ldc;
            if (g.beta == 0.0f) std::fill(c, c + g.n, 0.0f);
            else if (g.beta != 1.0f) for (int64_t j = 0; j < g.n; ++j) c[j] *= g.beta;
        }
    };

    if (g.k == 0 || g.alpha == 0.0f) {
        scale_rows(0, g.m);
        return;
    }

    // B as a contiguous K x N matrix.
    std::vector<float> b_copy;
    const float * b = g.b;
    int64_t ldb = g.ldb;
    if (g.trans_b) {
        b_copy.resize(static_cast<size_t>(g.k * g.n));
        for (int64_t kk = 0; kk < g.k; ++kk)
            for (int64_t j = 0; j < g.n; ++j) b_copy[kk * g.n + j] = g.b[j * g.ldb + kk];
        b = b_copy.data();
        ldb = g.n;
    }

    const int64_t n_row_blocks = (g.m + kRowBlock - 1) / kRowBlock;
    int64_t done = 0;
    pool.parallel_for(n_row_blocks, [&](int64_t block, int) {
        control.poll("gemm");
        const int64_t r0 = block * kRowBlock;
        const int64_t r1 = std::min(g.m, r0 + kRowBlock);
        scale_rows(r0, r1);
        for (int64_t j0 = 0; j0 < g.n; j0 += kColBlock) {
            const int64_t j1 = std::min(g.n, j0 + kColBlock);
            for (int64_t k0 = 0; k0 < g.k; k0 += kDepthBlock) {
                const int64_t k1 = std::min(g.k, k0 + kDepthBlock);
                for (int64_t i = r0; i < r1; ++i) {
                    float * __restrict c = g.c + i * g.ldc;
                    for (int64_t kk = k0; kk < k1; ++kk) {
                        const float a = g.alpha * (g.trans_a ? g.a[kk * g.lda + i] : g.a[i * g.lda + kk]);
                        const float * __restrict brow = b + kk * ldb;
                        for (int64_t j = j0; j < j1; ++j) c[j] += a * brow[j];
                    }
                }
            }
        }
        (void)done;
    });
    control.report(1, 1);
}

}  // namespace sdn::cpu
