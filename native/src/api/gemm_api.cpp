// C API: dense math on a context's backend, and the GEMM ceiling the benchmarks measure against.
#include "core/context.h"
#include "core/error.h"
#include "core/linear_peak.h"

#include <vector>

using namespace sdn;

extern "C" {

sdn_status sdn_gemm_f32(sdn_context * ctx, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c, int64_t ldc,
                        sdn_error * err) {
    return guarded(err, [&] {
        require(ctx != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_gemm_f32: ctx is NULL");
        GemmF32Args g;
        g.trans_a = trans_a != 0;
        g.trans_b = trans_b != 0;
        g.m = m;
        g.n = n;
        g.k = k;
        g.alpha = alpha;
        g.a = a;
        g.lda = lda;
        g.b = b;
        g.ldb = ldb;
        g.beta = beta;
        g.c = c;
        g.ldc = ldc;
        ctx->backend->gemm_f32(g, ctx->control);
    });
}

sdn_status sdn_measure_gemm_peak(sdn_context * ctx, int64_t size, double seconds, double * gflops, sdn_error * err) {
    return guarded(err, [&] {
        require(ctx != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_measure_gemm_peak: ctx is NULL");
        require(gflops != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_measure_gemm_peak: gflops is NULL");
        require(size >= 16 && size <= 16384, SDN_ERR_INVALID_ARGUMENT,
                "sdn_measure_gemm_peak: size must be in [16, 16384], got " + std::to_string(size));
        require(seconds > 0 && seconds <= 600, SDN_ERR_INVALID_ARGUMENT, "sdn_measure_gemm_peak: seconds must be in (0, 600]");
        const size_t elems = static_cast<size_t>(size * size);
        std::vector<float> a(elems), b(elems), c(elems);
        for (size_t i = 0; i < elems; ++i) {
            a[i] = static_cast<float>((i * 7 + 3) % 13) * 0.01f;
            b[i] = static_cast<float>((i * 5 + 1) % 11) * 0.01f;
        }
        GemmF32Args g;
        g.m = g.n = g.k = size;
        g.a = a.data();
        g.b = b.data();
        g.c = c.data();
        g.lda = g.ldb = g.ldc = size;
        ctx->backend->gemm_f32(g, ctx->control);  // warm-up
        const double flop = 2.0 * static_cast<double>(size) * static_cast<double>(size) * static_cast<double>(size);
        const double best = best_gflops(flop, seconds, [&] { ctx->backend->gemm_f32(g, ctx->control); });
        *gflops = best;
    });
}

sdn_status sdn_measure_linear_peak(sdn_context * ctx, int64_t size, double seconds, double * gflops, sdn_error * err) {
    return guarded(err, [&] {
        require(ctx != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_measure_linear_peak: ctx is NULL");
        require(gflops != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_measure_linear_peak: gflops is NULL");
        *gflops = measure_linear_peak(*ctx->backend, size, WeightType::F16, seconds, ctx->control);
    });
}

}  // extern "C"
