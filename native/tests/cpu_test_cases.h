// Shared by the CPU kernel tests: the SIMD levels this machine supports, random operands stored as
// f32/f16/bf16 (with their exact float values), and a GEMM case with awkward strides, random bias and a
// C that is NaN-poisoned when beta is 0.
#pragma once

#include "core/cpu_features.h"
#include "core/half.h"
#include "core/error.h"
#include "core/exec_control.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"

#include <cmath>
#include <functional>

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

// One convolution problem (NCHW, OIHW weights stored as f32/f16/bf16): random input, weights, bias and
// residual in [-1, 1], and an output poisoned with NaN.
struct ConvCase {
    int64_t batch, cin, h, w, cout, ks, stride, pad, oh, ow;
    std::vector<float> x, b, r, y;
    Operand weights;

    ConvCase(int64_t batch_, int64_t cin_, int64_t h_, int64_t w_, int64_t cout_, int64_t ks_, int64_t stride_, int64_t pad_,
             sdn::cpu::DType wtype, unsigned seed)
        : batch(batch_), cin(cin_), h(h_), w(w_), cout(cout_), ks(ks_), stride(stride_), pad(pad_),
          oh(sdn::cpu::conv2d_out_size(h_, ks_, stride_, pad_)), ow(sdn::cpu::conv2d_out_size(w_, ks_, stride_, pad_)) {
        std::mt19937 rng(seed);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        x.resize(static_cast<size_t>(batch * cin * h * w));
        for (auto & v : x) v = dist(rng);
        weights = make_operand(static_cast<size_t>(cout * cin * ks * ks), wtype, rng);
        b.resize(static_cast<size_t>(cout));
        r.resize(static_cast<size_t>(batch * cout * oh * ow));
        for (auto & v : b) v = dist(rng);
        for (auto & v : r) v = dist(rng);
        y.assign(r.size(), std::numeric_limits<float>::quiet_NaN());
    }

    sdn::cpu::Conv2dArgs args(bool bias, bool residual) {
        sdn::cpu::Conv2dArgs a;
        a.batch = batch;
        a.in_channels = cin;
        a.in_h = h;
        a.in_w = w;
        a.out_channels = cout;
        a.kernel_h = a.kernel_w = ks;
        a.stride = stride;
        a.pad = pad;
        a.input = x.data();
        a.weight = weights.data();
        a.weight_type = weights.type;
        a.bias = bias ? b.data() : nullptr;
        a.residual = residual ? r.data() : nullptr;
        a.output = y.data();
        return a;
    }

    // The output in double (bias + residual + sum of products); `magnitude` (optional) receives, per output,
    // the sum of the absolute values of those terms (for relative bounds).
    std::vector<double> reference(bool bias, bool residual, std::vector<double> * magnitude = nullptr) const {
        std::vector<double> out(r.size());
        if (magnitude) magnitude->assign(r.size(), 0.0);
        for (int64_t n = 0; n < batch; ++n)
            for (int64_t o = 0; o < cout; ++o)
                for (int64_t oy = 0; oy < oh; ++oy)
                    for (int64_t ox = 0; ox < ow; ++ox) {
                        const size_t oi = static_cast<size_t>(((n * cout + o) * oh + oy) * ow + ox);
                        double s = (bias ? b[static_cast<size_t>(o)] : 0.0) + (residual ? r[oi] : 0.0);
                        double mag = std::fabs(s);
                        for (int64_t c = 0; c < cin; ++c)
                            for (int64_t ky = 0; ky < ks; ++ky)
                                for (int64_t kx = 0; kx < ks; ++kx) {
                                    const int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    const double p = static_cast<double>(weights.f[static_cast<size_t>(((o * cin + c) * ks + ky) * ks + kx)]) *
                                                     x[static_cast<size_t>(((n * cin + c) * h + iy) * w + ix)];
                                    s += p;
                                    mag += std::fabs(p);
                                }
                        out[oi] = s;
                        if (magnitude) (*magnitude)[oi] = mag;
                    }
        return out;
    }
};

// Runs `op` with an ExecControl whose abort callback always asks to stop: true when it threw SDN_ERR_ABORTED.
inline bool aborts_when_asked(const std::function<void(const sdn::ExecControl &)> & op) {
    sdn::ExecControl control;
    control.abort_cb = [](void *) { return 1; };
    try {
        op(control);
    } catch (const sdn::Error & e) {
        return e.status() == SDN_ERR_ABORTED;
    }
    return false;
}

}  // namespace sdn_test
