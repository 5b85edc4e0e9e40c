// Packed, cache-blocked, multi-threaded GEMM driver (the kernels are per ISA, see gemm_kernel_impl.h).
//
// Blocking (tuned for Zen 4/5: 32-48 KiB L1d, 1 MiB L2 per core, shared L3):
//   - op(B) is packed once per call into NR-column panels, K split in KC blocks (all threads help);
//   - C is split in MC x NC blocks, one pool task each; a task packs its MC x KC block of op(A) into a
//     thread-local buffer (L2 resident) and runs the macro-kernel over its NC columns: each KC x NR
//     panel of B stays in L1 while the MC/MR panels of A stream past it;
//   - alpha is folded into the packing of A, beta into the first KC block, bias into the last.
// MC and NC are chosen so the number of blocks spreads evenly over the pool.
#include "cpu/gemm.h"

#include "core/error.h"
#include "cpu/scratch.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace sdn::cpu {

const char * dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "f32";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
    }
    return "?";
}

const GemmIsa & gemm_isa(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return gemm_isa_avx512();
        case SimdLevel::Avx2: return gemm_isa_avx2();
        default: return gemm_isa_portable();
    }
}

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

int64_t env_int(const char * name, int64_t fallback) {
    const char * v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    const long long x = std::atoll(v);
    return x > 0 ? x : fallback;
}

void validate(const GemmArgs & g) {
    auto num = [](int64_t v) { return std::to_string(v); };
    require(g.m >= 0 && g.n >= 0 && g.k >= 0, SDN_ERR_INVALID_ARGUMENT,
            "gemm: m, n and k must be non-negative (got m=" + num(g.m) + " n=" + num(g.n) + " k=" + num(g.k) + ")");
    if (g.m == 0 || g.n == 0) return;
    require(g.c != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: C is NULL");
    require(g.ldc >= g.n, SDN_ERR_INVALID_ARGUMENT, "gemm: ldc (" + num(g.ldc) + ") < n (" + num(g.n) + ")");
    if (g.k == 0) return;
    require(g.a != nullptr && g.b != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: A or B is NULL");
    const int64_t a_cols = g.trans_a ? g.m : g.k;
    const int64_t b_cols = g.trans_b ? g.k : g.n;
    require(g.lda >= a_cols, SDN_ERR_INVALID_ARGUMENT, "gemm: lda (" + num(g.lda) + ") < " + num(a_cols));
    require(g.ldb >= b_cols, SDN_ERR_INVALID_ARGUMENT, "gemm: ldb (" + num(g.ldb) + ") < " + num(b_cols));
}

void scale_and_bias(const GemmArgs & g, int64_t r0, int64_t r1, bool scale) {
    for (int64_t i = r0; i < r1; ++i) {
        float * c = g.c + i * g.ldc;
        if (scale) {
            if (g.beta == 0.0f) std::fill(c, c + g.n, 0.0f);
            else if (g.beta != 1.0f)
                for (int64_t j = 0; j < g.n; ++j) c[j] *= g.beta;
        }
        if (g.bias_m != nullptr) {
            const float bm = g.bias_m[i];
            for (int64_t j = 0; j < g.n; ++j) c[j] += bm;
        }
        if (g.bias_n != nullptr)
            for (int64_t j = 0; j < g.n; ++j) c[j] += g.bias_n[j];
    }
}

}  // namespace

void gemm(ThreadPool & pool, SimdLevel level, const GemmArgs & g, const ExecControl * control) {
    validate(g);
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0 || g.alpha == 0.0f) {
        scale_and_bias(g, 0, g.m, true);
        return;
    }
    const GemmIsa & isa = gemm_isa(level);
    const int64_t MR = isa.mr, NR = isa.nr;
    const int threads = pool.size();

    // K blocking
    const int64_t kc_max = env_int("SDN_GEMM_KC", level == SimdLevel::Avx512 ? 256 : 256);
    const int64_t n_kb = ceil_div(g.k, kc_max);
    const int64_t KC = ceil_div(g.k, n_kb);  // even split, no tiny last block

    // M x N blocking of C
    const int64_t mc_max = round_up(env_int("SDN_GEMM_MC", MR * (level == SimdLevel::Avx512 ? 12 : 16)), MR);
    int64_t nb_m = ceil_div(g.m, mc_max);
    if (nb_m % threads != 0 && nb_m < 8 * threads) nb_m = round_up(nb_m, threads);
    int64_t MC = round_up(ceil_div(g.m, nb_m), MR);
    nb_m = ceil_div(g.m, MC);
    int64_t nb_n = 1;
    const int64_t nc_max = env_int("SDN_GEMM_NC", 4096);
    nb_n = ceil_div(g.n, nc_max);
    if (nb_m * nb_n < threads) nb_n = ceil_div(threads, nb_m);
    if ((nb_m * nb_n) % threads != 0 && nb_m * nb_n < 4 * threads) nb_n = round_up(nb_m * nb_n, threads) / nb_m;
    int64_t NC = round_up(ceil_div(g.n, nb_n), NR);
    nb_n = ceil_div(g.n, NC);

    // Pack all of op(B): block kb (KC rows) at offset k0 * n_pad, NR panels back to back.
    const int64_t n_pad = round_up(g.n, NR);
    float * pb = thread_scratch(0, static_cast<size_t>(g.k * n_pad));
    const GemmMatrix bm{g.b, g.b_type, g.trans_b, g.ldb};
    const GemmMatrix am{g.a, g.a_type, g.trans_a, g.lda};
    {
        const int64_t panels_per_task = std::max<int64_t>(1, ceil_div(n_pad / NR, 4 * threads));
        const int64_t n_pt = ceil_div(n_pad / NR, panels_per_task);
        pool.parallel_for(n_kb * n_pt, [&](int64_t t, int) {
            const int64_t kb = t / n_pt, pt = t % n_pt;
            const int64_t k0 = kb * KC, kc = std::min(KC, g.k - k0);
            const int64_t j0 = pt * panels_per_task * NR;
            const int64_t nc = std::min(panels_per_task * NR, g.n - j0);
            if (nc <= 0) return;
            isa.pack_b(bm, k0, kc, j0, nc, pb + k0 * n_pad + j0 * kc);
        });
    }

    if (control != nullptr) control->poll("gemm");
    const bool has_bias = g.bias_m != nullptr || g.bias_n != nullptr;
    pool.parallel_for(nb_m * nb_n, [&](int64_t t, int) {
        if (control != nullptr) control->poll("gemm");
        const int64_t ib = t / nb_n, jb = t % nb_n;
        const int64_t i0 = ib * MC, mc = std::min(MC, g.m - i0);
        const int64_t j0 = jb * NC, nc = std::min(NC, g.n - j0);
        float * pa = thread_scratch(1, static_cast<size_t>(MC * KC));
        float * c = g.c + i0 * g.ldc + j0;
        for (int64_t kb = 0; kb < n_kb; ++kb) {
            const int64_t k0 = kb * KC, kc = std::min(KC, g.k - k0);
            isa.pack_a(am, i0, mc, k0, kc, g.alpha, pa);
            isa.macro(mc, nc, kc, pa, pb + k0 * n_pad + j0 * kc, c, g.ldc, g.beta, kb > 0);
        }
        if (has_bias) {
            for (int64_t i = 0; i < mc; ++i) {
                float * ci = c + i * g.ldc;
                const float bmv = g.bias_m != nullptr ? g.bias_m[i0 + i] : 0.0f;
                if (g.bias_n != nullptr)
                    for (int64_t j = 0; j < nc; ++j) ci[j] += bmv + g.bias_n[j0 + j];
                else
                    for (int64_t j = 0; j < nc; ++j) ci[j] += bmv;
            }
        }
    });
    if (control != nullptr) control->report(1, 1);
}

void gemm_f32(ThreadPool & pool, SimdLevel level, const GemmF32Args & a, const ExecControl & control) {
    GemmArgs g;
    g.trans_a = a.trans_a;
    g.trans_b = a.trans_b;
    g.m = a.m;
    g.n = a.n;
    g.k = a.k;
    g.alpha = a.alpha;
    g.a = a.a;
    g.lda = a.lda;
    g.b = a.b;
    g.ldb = a.ldb;
    g.beta = a.beta;
    g.c = a.c;
    g.ldc = a.ldc;
    gemm(pool, level, g, &control);
}

}  // namespace sdn::cpu
