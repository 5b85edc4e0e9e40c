// Row primitives (row_ops.h) written against the SIMD traits; include from row_ops_<isa>.cpp with
// SDN_ROW_NS naming the ISA namespace.
#pragma once

#include "cpu/kernels.h"
#include "cpu/row_ops.h"
#include "cpu/simd_math.h"

namespace sdn::cpu::SDN_ROW_NS {

template <class V>
struct Rows {
    using R = typename V::R;
    static constexpr int W = V::W;
    static constexpr int64_t kChunk = 4096;

    static double sum(const float * x, int64_t n) {
        double total = 0.0;
        for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
            const int64_t c1 = c0 + kChunk < n ? c0 + kChunk : n;
            R a0 = V::zero(), a1 = V::zero();
            int64_t i = c0;
            for (; i + 2 * W <= c1; i += 2 * W) {
                a0 = V::add(a0, V::load(x + i));
                a1 = V::add(a1, V::load(x + i + W));
            }
            for (; i < c1; i += W) a0 = V::add(a0, V::load_n(x + i, static_cast<int>(c1 - i < W ? c1 - i : W)));
            total += static_cast<double>(V::reduce_add(V::add(a0, a1)));
        }
        return total;
    }

    static double sumsq_centered(const float * x, int64_t n, float mean) {
        double total = 0.0;
        const R vm = V::set1(mean);
        for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
            const int64_t c1 = c0 + kChunk < n ? c0 + kChunk : n;
            R a0 = V::zero(), a1 = V::zero();
            int64_t i = c0;
            for (; i + 2 * W <= c1; i += 2 * W) {
                const R d0 = V::sub(V::load(x + i), vm), d1 = V::sub(V::load(x + i + W), vm);
                a0 = V::fmadd(d0, d0, a0);
                a1 = V::fmadd(d1, d1, a1);
            }
            double tail = 0.0;
            for (; i < c1; ++i) {
                const double d = static_cast<double>(x[i]) - mean;
                tail += d * d;
            }
            total += tail + static_cast<double>(V::reduce_add(V::add(a0, a1)));
        }
        return total;
    }

    template <int ACT>
    static inline R act(R v) {
        if (ACT == static_cast<int>(Activation::Silu)) return silu_v<V>(v);
        if (ACT == static_cast<int>(Activation::Gelu)) return gelu_v<V>(v);
        if (ACT == static_cast<int>(Activation::QuickGelu)) return quick_gelu_v<V>(v);
        return v;
    }

    template <int ACT>
    static void affine_act_t(const float * x, float * y, int64_t n, float sub, float scale, float shift) {
        const R vs = V::set1(scale), vb = V::set1(shift), vm = V::set1(sub);
        int64_t i = 0;
        for (; i + W <= n; i += W) V::store(y + i, act<ACT>(V::fmadd(V::sub(V::load(x + i), vm), vs, vb)));
        if (i < n) {
            const int nn = static_cast<int>(n - i);
            V::store_n(y + i, act<ACT>(V::fmadd(V::sub(V::load_n(x + i, nn), vm), vs, vb)), nn);
        }
    }

    static void affine_act(const float * x, float * y, int64_t n, float sub, float scale, float shift, int a) {
        switch (a) {
            case static_cast<int>(Activation::Silu): affine_act_t<1>(x, y, n, sub, scale, shift); break;
            case static_cast<int>(Activation::Gelu): affine_act_t<2>(x, y, n, sub, scale, shift); break;
            case static_cast<int>(Activation::QuickGelu): affine_act_t<3>(x, y, n, sub, scale, shift); break;
            default: affine_act_t<0>(x, y, n, sub, scale, shift); break;
        }
    }

    static void normalize(const float * x, float * y, int64_t n, float mean, float rstd, const float * gamma,
                          const float * beta) {
        const R vr = V::set1(rstd), vm = V::set1(mean);
        int64_t i = 0;
        for (; i < n; i += W) {
            const int nn = static_cast<int>(n - i < W ? n - i : W);
            const bool full = nn == W;
            R v = full ? V::load(x + i) : V::load_n(x + i, nn);
            v = V::mul(V::sub(v, vm), vr);
            if (gamma != nullptr) v = V::mul(v, full ? V::load(gamma + i) : V::load_n(gamma + i, nn));
            if (beta != nullptr) v = V::add(v, full ? V::load(beta + i) : V::load_n(beta + i, nn));
            if (full) V::store(y + i, v);
            else V::store_n(y + i, v, nn);
        }
    }

    static void geglu(const float * a, const float * g, float * y, int64_t n) {
        int64_t i = 0;
        for (; i + W <= n; i += W) V::store(y + i, V::mul(V::load(a + i), gelu_v<V>(V::load(g + i))));
        if (i < n) {
            const int nn = static_cast<int>(n - i);
            V::store_n(y + i, V::mul(V::load_n(a + i, nn), gelu_v<V>(V::load_n(g + i, nn))), nn);
        }
    }

    static void add(const float * a, const float * b, float * y, int64_t n) {
        int64_t i = 0;
        for (; i + W <= n; i += W) V::store(y + i, V::add(V::load(a + i), V::load(b + i)));
        if (i < n) {
            const int nn = static_cast<int>(n - i);
            V::store_n(y + i, V::add(V::load_n(a + i, nn), V::load_n(b + i, nn)), nn);
        }
    }

    static const RowOps & table() {
        static const RowOps ops = {&sum, &sumsq_centered, &affine_act, &normalize, &geglu, &add};
        return ops;
    }
};

}  // namespace sdn::cpu::SDN_ROW_NS
