// Shared by the CPU kernel tests: the SIMD levels this machine supports, random operands stored as
// f32/f16/bf16 (with their exact float values), and a GEMM case with awkward strides, random bias and a
// C that is NaN-poisoned when beta is 0.
#pragma once

#include "core/cpu_features.h"
#include "core/half.h"
#include "cpu/gemm.h"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace sdn_test {

inline std::vector<sdn::SimdLevel> simd_levels() {
    std::vector<sdn::SimdLevel> out;
    const sdn::SimdLevel best = sdn::best_simd_level(sdn::detect_cpu_features());
    for (int l = 0; l <= static_cast<int>(best); ++l) out.push_back(static_cast<sdn::SimdLevel>(l));
    return out;
}

struct Operand {
    std::vector<float> f;     // values as float (after rounding through the half type when half)
    std::vector<uint16_t> h;  // storage when half
    sdn::cpu::DType type = sdn::cpu::DType::F32;
    const void * data() const { return type == sdn::cpu::DType::F32 ? static_cast<const void *>(f.data()) : h.data(); }
};

inline Operand make_operand(size_t n, sdn::cpu::DType type, std::mt19937 & rng) {
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    Operand o;
    o.type = type;
    o.f.resize(n);
    if (type != sdn::cpu::DType::F32) o.h.resize(n);
    for (size_t i = 0; i < n; ++i) {
        float v = dist(rng);
        if (type == sdn::cpu::DType::F16) v = sdn::f16_to_f32(o.h[i] = sdn::f32_to_f16(v));
        else if (type == sdn::cpu::DType::BF16) v = sdn::bf16_to_f32(o.h[i] = sdn::f32_to_bf16(v));
        o.f[i] = v;
    }
    return o;
}

// One GEMM problem: operands with padded strides, C (poisoned with NaN when beta == 0), its initial copy,
// and random biases; args() fills GemmArgs pointing at them.
struct GemmCase {
    bool ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    Operand a, b;
    std::vector<float> c0, c, bias_n, bias_m;
    bool bias;

    GemmCase(bool ta_, bool tb_, int64_t m_, int64_t n_, int64_t k_, float alpha_, float beta_, sdn::cpu::DType at,
             sdn::cpu::DType bt, bool bias_, unsigned seed)
        : ta(ta_), tb(tb_), m(m_), n(n_), k(k_), lda((ta_ ? m_ : k_) + 3), ldb((tb_ ? k_ : n_) + 1), ldc(n_ + 2), alpha(alpha_),
          beta(beta_), bias(bias_) {
        std::mt19937 rng(seed);
        a = make_operand(static_cast<size_t>((ta ? k : m) * lda), at, rng);
        b = make_operand(static_cast<size_t>((tb ? n : k) * ldb), bt, rng);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        c0.resize(static_cast<size_t>(m * ldc));
        bias_n.resize(static_cast<size_t>(n));
        bias_m.resize(static_cast<size_t>(m));
        for (auto & x : c0) x = dist(rng);
        for (auto & x : bias_n) x = dist(rng);
        for (auto & x : bias_m) x = dist(rng);
        c = c0;
        if (beta == 0.0f)
            for (auto & x : c) x = std::numeric_limits<float>::quiet_NaN();
    }

    sdn::cpu::GemmArgs args() {
        sdn::cpu::GemmArgs g;
        g.trans_a = ta;
        g.trans_b = tb;
        g.m = m;
        g.n = n;
        g.k = k;
        g.alpha = alpha;
        g.a = a.data();
        g.a_type = a.type;
        g.lda = lda;
        g.b = b.data();
        g.b_type = b.type;
        g.ldb = ldb;
        g.beta = beta;
        g.c = c.data();
        g.ldc = ldc;
        if (bias) {
            g.bias_n = bias_n.data();
            g.bias_m = bias_m.data();
        }
        return g;
    }

    // op(A)[i][p] and op(B)[p][j] as the float values the kernel sees.
    double a_at(int64_t i, int64_t p) const { return ta ? a.f[static_cast<size_t>(p * lda + i)] : a.f[static_cast<size_t>(i * lda + p)]; }
    double b_at(int64_t p, int64_t j) const { return tb ? b.f[static_cast<size_t>(j * ldb + p)] : b.f[static_cast<size_t>(p * ldb + j)]; }
};

}  // namespace sdn_test
