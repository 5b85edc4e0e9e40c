// Packed, cache-blocked, multi-threaded GEMM driver (the kernels are per ISA, see gemm_kernel_impl.h).
//
// Blocking (tuned on Zen 4: 32 KiB L1d, 1 MiB L2 per core, shared L3; KC 384, MC 16 panels for AVX-512):
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
#include <atomic>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <new>
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

// ---- compute mode (gemm_compute.h) ----

namespace {

std::atomic<int> & requested_mode() {
    static std::atomic<int> mode{[] {
        const char * v = std::getenv("SDN_CPU_COMPUTE");
        return v != nullptr && std::strcmp(v, "bf16") == 0 ? static_cast<int>(CpuCompute::BF16)
                                                           : static_cast<int>(CpuCompute::F32);
    }()};
    return mode;
}

}  // namespace

const char * cpu_compute_name(CpuCompute c) { return c == CpuCompute::BF16 ? "bf16" : "f32"; }

CpuCompute requested_cpu_compute() { return static_cast<CpuCompute>(requested_mode().load(std::memory_order_relaxed)); }

void set_cpu_compute(CpuCompute c) { requested_mode().store(static_cast<int>(c), std::memory_order_relaxed); }

bool cpu_bf16_available() {
    static const bool ok = [] {
        const CpuFeatures f = detect_cpu_features();
        return f.avx512_bf16 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    }();
    return ok;
}

const char * cpu_compute_reason(SimdLevel level) {
    if (requested_cpu_compute() != CpuCompute::BF16) return "";
    if (!cpu_bf16_available()) return "SDN_CPU_COMPUTE=bf16 ignored: the CPU lacks avx512_bf16";
    if (level != SimdLevel::Avx512) return "SDN_CPU_COMPUTE=bf16 ignored: needs SIMD level avx512";
    return "";
}

CpuCompute cpu_compute(SimdLevel level) {
    return requested_cpu_compute() == CpuCompute::BF16 && level == SimdLevel::Avx512 && cpu_bf16_available()
               ? CpuCompute::BF16
               : CpuCompute::F32;
}

const GemmIsa & gemm_isa_for(SimdLevel level, CpuCompute c) {
    switch (level) {
        case SimdLevel::Avx512:
            return c == CpuCompute::BF16 && cpu_bf16_available() ? gemm_isa_avx512bf16() : gemm_isa_avx512();
        case SimdLevel::Avx2: return gemm_isa_avx2();
        default: return gemm_isa_portable();
    }
}

const GemmIsa & gemm_isa(SimdLevel level) { return gemm_isa_for(level, requested_cpu_compute()); }

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Tuning overrides for experiments (SDN_GEMM_KC / SDN_GEMM_MC / SDN_GEMM_NC, in elements), read once.
int64_t env_int(const char * name) {
    const char * v = std::getenv(name);
    if (v == nullptr || *v == '\0') return 0;
    const long long x = std::atoll(v);
    return x > 0 ? x : 0;
}

struct Tuning {
    int64_t kc, mc, nc;
};

const Tuning & tuning() {
    static const Tuning t{env_int("SDN_GEMM_KC"), env_int("SDN_GEMM_MC"), env_int("SDN_GEMM_NC")};
    return t;
}

int64_t or_default(int64_t v, int64_t fallback) { return v > 0 ? v : fallback; }

void validate(const GemmArgs & g, SimdLevel level) {
    auto num = [](int64_t v) { return std::to_string(v); };
    require(g.m >= 0 && g.n >= 0 && g.k >= 0, SDN_ERR_INVALID_ARGUMENT,
            "gemm: m, n and k must be non-negative (got m=" + num(g.m) + " n=" + num(g.n) + " k=" + num(g.k) + ")");
    if (g.m == 0 || g.n == 0) return;
    require(g.c != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: C is NULL");
    require(g.ldc >= g.n, SDN_ERR_INVALID_ARGUMENT, "gemm: ldc (" + num(g.ldc) + ") < n (" + num(g.n) + ")");
    if (g.k == 0) return;
    const int64_t a_cols = g.trans_a ? g.m : g.k;
    require(g.a != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: A is NULL");
    require(g.lda >= a_cols, SDN_ERR_INVALID_ARGUMENT, "gemm: lda (" + num(g.lda) + ") < " + num(a_cols));
    if (g.packed_b != nullptr) {
        const PackedMatrix & p = *g.packed_b;
        require(!p.a_side && p.level == level && p.data != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "gemm: packed B was not packed by pack_gemm_b for this SIMD level");
        require(p.bf16 == gemm_isa(level).bf16, SDN_ERR_INVALID_ARGUMENT,
                "gemm: packed B was packed in another CPU compute mode (f32 / bf16)");
        require(p.k == g.k && p.outer == g.n, SDN_ERR_SHAPE,
                "gemm: packed B is " + num(p.k) + " x " + num(p.outer) + ", the call needs " + num(g.k) + " x " + num(g.n));
        return;
    }
    require(g.b != nullptr, SDN_ERR_INVALID_ARGUMENT, "gemm: B is NULL");
    const int64_t b_cols = g.trans_b ? g.k : g.n;
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

int64_t gemm_kc(int64_t k) {
    const int64_t kc_max = or_default(tuning().kc, 384);
    const int64_t n_kb = std::max<int64_t>(1, ceil_div(k, kc_max));
    return std::max<int64_t>(1, ceil_div(k, n_kb));  // even split, no tiny last block
}

namespace {

// Packs K blocks of op(X) into dst (block kb at dst + k0 * outer_pad), panels spread over the pool.
void pack_blocks(ThreadPool & pool, const GemmIsa & isa, const GemmMatrix & x, bool a_side, int64_t outer, int64_t k,
                 int64_t kc_block, float * dst) {
    const int64_t P = a_side ? isa.mr : isa.nr;
    const int64_t panels = ceil_div(outer, P);
    const int64_t outer_pad = panels * P;
    const int64_t n_kb = ceil_div(k, kc_block);
    const int64_t per_task = std::max<int64_t>(1, ceil_div(panels, 4 * static_cast<int64_t>(pool.size())));
    const int64_t n_pt = ceil_div(panels, per_task);
    pool.parallel_for(n_kb * n_pt, [&](int64_t t, int) {
        const int64_t kb = t / n_pt, pt = t % n_pt;
        const int64_t k0 = kb * kc_block, kc = std::min(kc_block, k - k0);
        const int64_t o0 = pt * per_task * P;
        const int64_t oc = std::min(per_task * P, outer - o0);
        if (oc <= 0) return;
        float * d = dst + k0 * outer_pad + o0 * kc;
        if (a_side) isa.pack_a(x, o0, oc, k0, kc, 1.0f, d);
        else isa.pack_b(x, k0, kc, o0, oc, d);
    });
}

}  // namespace

int64_t packed_floats(SimdLevel level, bool a_side, int64_t outer, int64_t k) {
    const GemmIsa & isa = gemm_isa(level);
    return round_up(outer, a_side ? isa.mr : isa.nr) * k;
}

PackedMatrix pack_matrix(ThreadPool & pool, SimdLevel level, const GemmMatrix & x, bool a_side, int64_t outer, int64_t k,
                         int64_t kc, float * dst) {
    require(outer >= 1 && k >= 1 && kc >= 1, SDN_ERR_SHAPE, "pack: matrix dimensions must be positive");
    require(x.data != nullptr, SDN_ERR_INVALID_ARGUMENT, "pack: matrix is NULL");
    const GemmIsa & isa = gemm_isa(level);
    PackedMatrix p;
    p.level = level;
    p.a_side = a_side;
    p.outer = outer;
    p.k = k;
    p.kc = kc;
    p.outer_pad = round_up(outer, a_side ? isa.mr : isa.nr);
    p.bf16 = isa.bf16;
    float * raw = dst;
    if (raw == nullptr) {
        raw = static_cast<float *>(std::aligned_alloc(64, (p.bytes() + 63) & ~static_cast<size_t>(63)));
        if (raw == nullptr) throw std::bad_alloc();
        p.data = std::shared_ptr<float>(raw, [](float * q) { std::free(q); });
    } else {
        p.data = std::shared_ptr<float>(raw, [](float *) {});
    }
    pack_blocks(pool, isa, x, a_side, outer, k, kc, raw);
    return p;
}

PackedMatrix pack_gemm_b(ThreadPool & pool, SimdLevel level, const void * b, DType type, bool trans_b, int64_t ldb,
                         int64_t k, int64_t n) {
    require(ldb >= (trans_b ? k : n), SDN_ERR_INVALID_ARGUMENT, "pack_gemm_b: ldb too small");
    return pack_matrix(pool, level, GemmMatrix{b, type, trans_b, ldb}, false, n, k, gemm_kc(k));
}

void gemm(ThreadPool & pool, SimdLevel level, const GemmArgs & g, const ExecControl * control) {
    validate(g, level);
    if (g.m == 0 || g.n == 0) return;
    if (g.k == 0 || g.alpha == 0.0f) {
        scale_and_bias(g, 0, g.m, true);
        return;
    }
    const GemmIsa & isa = gemm_isa(level);
    const int64_t MR = isa.mr, NR = isa.nr;
    const int threads = pool.size();

    // K blocking
    const Tuning & tune = tuning();
    const int64_t KC = g.packed_b != nullptr ? g.packed_b->kc : gemm_kc(g.k);
    const int64_t n_kb = ceil_div(g.k, KC);

    // M x N blocking of C. Blocks are whole register panels (MR rows, NR columns) and the panels are
    // spread evenly over the blocks, so that no thread is left with a short last block.
    const int64_t p_m = ceil_div(g.m, MR), p_n = ceil_div(g.n, NR);
    const int64_t mc_panels = std::max<int64_t>(1, or_default(tune.mc, MR * (level == SimdLevel::Avx512 ? 16 : 32)) / MR);
    int64_t nb_m = ceil_div(p_m, mc_panels);
    if (nb_m % threads != 0 && nb_m < 8 * threads) nb_m = round_up(nb_m, threads);
    nb_m = std::min(nb_m, p_m);
    const int64_t nc_panels = std::max<int64_t>(1, or_default(tune.nc, 4096) / NR);
    int64_t nb_n = ceil_div(p_n, nc_panels);
    if (nb_m * nb_n < threads) nb_n = ceil_div(threads, nb_m);
    if ((nb_m * nb_n) % threads != 0 && nb_m * nb_n < 4 * threads) nb_n = round_up(nb_m * nb_n, threads) / nb_m;
    nb_n = std::min(nb_n, p_n);
    const int64_t MC = ceil_div(p_m, nb_m) * MR;  // largest block
    auto m_block = [&](int64_t ib, int64_t & i0, int64_t & mc) {
        const int64_t q0 = ib * p_m / nb_m, q1 = (ib + 1) * p_m / nb_m;
        i0 = q0 * MR;
        mc = std::min(q1 * MR, g.m) - i0;
    };
    auto n_block = [&](int64_t jb, int64_t & j0, int64_t & nc) {
        const int64_t q0 = jb * p_n / nb_n, q1 = (jb + 1) * p_n / nb_n;
        j0 = q0 * NR;
        nc = std::min(q1 * NR, g.n) - j0;
    };

    // Pack all of op(B): block kb (KC rows) at offset k0 * n_pad, NR panels back to back.
    const int64_t n_pad = round_up(g.n, NR);
    const GemmMatrix am{g.a, g.a_type, g.trans_a, g.lda};
    std::unique_ptr<PackBuffer> pb_buf;
    const float * pb = nullptr;
    if (g.packed_b != nullptr) {
        pb = g.packed_b->data.get();
    } else {
        pb_buf = std::make_unique<PackBuffer>(0, static_cast<size_t>(g.k * n_pad));
        pack_blocks(pool, isa, GemmMatrix{g.b, g.b_type, g.trans_b, g.ldb}, false, g.n, g.k, KC, pb_buf->data());
        pb = pb_buf->data();
    }

    if (control != nullptr) control->poll("gemm");
    const bool has_bias = g.bias_m != nullptr || g.bias_n != nullptr;
    pool.parallel_for(nb_m * nb_n, [&](int64_t t, int) {
        if (control != nullptr) control->poll("gemm");
        int64_t i0, mc, j0, nc;
        m_block(t / nb_n, i0, mc);
        n_block(t % nb_n, j0, nc);
        if (mc <= 0 || nc <= 0) return;
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
