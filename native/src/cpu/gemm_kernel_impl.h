// GEMM packing routines, register-tile micro-kernel and macro-kernel, written once against the SIMD
// traits (simd_scalar.h contract) and instantiated per ISA by gemm_kernel_<isa>.cpp, each inside its own
// namespace. Include only from those files, after the traits header, with SDN_GEMM_NS naming that
// namespace.
//
// Micro-kernel: an MR x (NV * W) tile of C lives in MR * NV vector registers for the whole kc loop;
// every k step loads NV vectors of packed B and broadcasts MR scalars of packed A (one FMA each).
#pragma once

#include "core/half.h"
#include "cpu/gemm.h"

#include <cstdint>

namespace sdn::cpu::SDN_GEMM_NS {

template <class T>
inline T min_of(T a, T b) { return a < b ? a : b; }

inline float load_elem(const void * data, DType type, int64_t index) {
    switch (type) {
        case DType::F16: return f16_to_f32(static_cast<const uint16_t *>(data)[index]);
        case DType::BF16: return bf16_to_f32(static_cast<const uint16_t *>(data)[index]);
        default: return static_cast<const float *>(data)[index];
    }
}

// Converts n contiguous elements of `type` starting at index `start` into float `dst`.
template <class V>
inline void widen_row(const void * data, DType type, int64_t start, int64_t n, float alpha, float * dst) {
    constexpr int W = V::W;
    int64_t i = 0;
    const typename V::R va = V::set1(alpha);
    if (type == DType::F32) {
        const float * s = static_cast<const float *>(data) + start;
        for (; i + W <= n; i += W) V::store(dst + i, V::mul(va, V::load(s + i)));
    } else if (type == DType::F16) {
        const uint16_t * s = static_cast<const uint16_t *>(data) + start;
        for (; i + W <= n; i += W) V::store(dst + i, V::mul(va, V::load_f16(s + i)));
    } else {
        const uint16_t * s = static_cast<const uint16_t *>(data) + start;
        for (; i + W <= n; i += W) V::store(dst + i, V::mul(va, V::load_bf16(s + i)));
    }
    for (; i < n; ++i) dst[i] = alpha * load_elem(data, type, start + i);
}

template <class V, int MR>
void pack_a(const GemmMatrix & a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float alpha, float * dst) {
    constexpr int64_t kChunk = 64;
    alignas(64) float row[kChunk];
    for (int64_t ip = 0; ip < mc; ip += MR, dst += kc * MR) {
        const int rows = static_cast<int>(min_of<int64_t>(MR, mc - ip));
        if (a.trans) {
            // element (i, kk) at data[kk * ld + i]: MR contiguous values per k
            for (int64_t kk = 0; kk < kc; ++kk) {
                float * d = dst + kk * MR;
                const int64_t base = (k0 + kk) * a.ld + i0 + ip;
                if (a.type == DType::F32) {
                    const float * s = static_cast<const float *>(a.data) + base;
                    for (int r = 0; r < rows; ++r) d[r] = alpha * s[r];
                } else {
                    for (int r = 0; r < rows; ++r) d[r] = alpha * load_elem(a.data, a.type, base + r);
                }
                for (int r = rows; r < MR; ++r) d[r] = 0.0f;
            }
        } else {
            // element (i, kk) at data[i * ld + kk]: widen a chunk of one row, then scatter with stride MR
            for (int r = 0; r < rows; ++r) {
                const int64_t base = (i0 + ip + r) * a.ld + k0;
                for (int64_t kk0 = 0; kk0 < kc; kk0 += kChunk) {
                    const int64_t n = min_of(kChunk, kc - kk0);
                    widen_row<V>(a.data, a.type, base + kk0, n, alpha, row);
                    float * d = dst + kk0 * MR + r;
                    for (int64_t t = 0; t < n; ++t) d[t * MR] = row[t];
                }
            }
            for (int r = rows; r < MR; ++r)
                for (int64_t kk = 0; kk < kc; ++kk) dst[kk * MR + r] = 0.0f;
        }
    }
}

template <class V, int NR>
void pack_b(const GemmMatrix & b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float * dst) {
    constexpr int64_t kChunk = 64;
    alignas(64) float row[kChunk];
    for (int64_t jp = 0; jp < nc; jp += NR, dst += kc * NR) {
        const int cols = static_cast<int>(min_of<int64_t>(NR, nc - jp));
        if (!b.trans) {
            // element (kk, j) at data[kk * ld + j]: NR contiguous values per k
            for (int64_t kk = 0; kk < kc; ++kk) {
                float * d = dst + kk * NR;
                const int64_t base = (k0 + kk) * b.ld + j0 + jp;
                if (cols == NR) {
                    widen_row<V>(b.data, b.type, base, NR, 1.0f, d);
                } else {
                    for (int c = 0; c < cols; ++c) d[c] = load_elem(b.data, b.type, base + c);
                    for (int c = cols; c < NR; ++c) d[c] = 0.0f;
                }
            }
        } else {
            // element (kk, j) at data[j * ld + kk]
            for (int c = 0; c < cols; ++c) {
                const int64_t base = (j0 + jp + c) * b.ld + k0;
                for (int64_t kk0 = 0; kk0 < kc; kk0 += kChunk) {
                    const int64_t n = min_of(kChunk, kc - kk0);
                    widen_row<V>(b.data, b.type, base + kk0, n, 1.0f, row);
                    float * d = dst + kk0 * NR + c;
                    for (int64_t t = 0; t < n; ++t) d[t * NR] = row[t];
                }
            }
            for (int c = cols; c < NR; ++c)
                for (int64_t kk = 0; kk < kc; ++kk) dst[kk * NR + c] = 0.0f;
        }
    }
}

template <class V, int MR, int NV>
inline void micro_kernel(int64_t kc, const float * __restrict a, const float * __restrict b, float * c, int64_t ldc,
                         int rows, int cols, float beta, bool accumulate) {
    using R = typename V::R;
    constexpr int W = V::W;
    R acc[MR][NV];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

    for (int64_t kk = 0; kk < kc; ++kk) {
        R bv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * W);
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            const R av = V::set1(a[i]);
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
        }
        a += MR;
        b += NV * W;
    }

    const R vbeta = V::set1(beta);
    if (rows == MR && cols == NV * W) {
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            float * ci = c + i * ldc;
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) {
                R v = acc[i][j];
                if (accumulate) v = V::add(V::load(ci + j * W), v);
                else if (beta != 0.0f) v = V::fmadd(vbeta, V::load(ci + j * W), v);
                V::store(ci + j * W, v);
            }
        }
    } else {
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            if (i >= rows) break;
            float * ci = c + i * ldc;
#pragma GCC unroll 8
            for (int j = 0; j < NV; ++j) {
                const int n = cols - j * W;
                if (n <= 0) break;
                const int nn = n < W ? n : W;
                R v = acc[i][j];
                if (accumulate) v = V::add(V::load_n(ci + j * W, nn), v);
                else if (beta != 0.0f) v = V::fmadd(vbeta, V::load_n(ci + j * W, nn), v);
                V::store_n(ci + j * W, v, nn);
            }
        }
    }
}

template <class V, int MR, int NV>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const float * pa, const float * pb, float * c, int64_t ldc,
                  float beta, bool accumulate) {
    constexpr int NR = NV * V::W;
    for (int64_t jp = 0; jp < nc; jp += NR) {
        const float * bp = pb + (jp / NR) * kc * NR;
        const int cols = static_cast<int>(min_of<int64_t>(NR, nc - jp));
        for (int64_t ip = 0; ip < mc; ip += MR) {
            const float * ap = pa + (ip / MR) * kc * MR;
            const int rows = static_cast<int>(min_of<int64_t>(MR, mc - ip));
            micro_kernel<V, MR, NV>(kc, ap, bp, c + ip * ldc + jp, ldc, rows, cols, beta, accumulate);
        }
    }
}

template <class V, int MR, int NV>
const GemmIsa & make_isa() {
    static const GemmIsa isa = {V::name, MR, NV * V::W, &pack_a<V, MR>, &pack_b<V, NV * V::W>, &macro_kernel<V, MR, NV>,
                                nullptr, false};
    return isa;
}

}  // namespace sdn::cpu::SDN_GEMM_NS
