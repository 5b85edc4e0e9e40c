// Flash-style attention for one (batch, head, query range), written once against the SIMD traits and
// instantiated per ISA by attention_<isa>.cpp (each in its own namespace, SDN_ATTN_NS).
//
// Per task: K of the head is transposed once into blocks Kt [nk/SK][d][SK] (SK = KV * W keys) so that
// a tile of scores is a small GEMM with vector loads along keys. Queries go in groups of QR = 6 rows,
// keys in softmax blocks of BK ~ 128. For each (row group, key block): S = (scale log2(e) q) Kt in
// QR x KV registers per SK keys, then the online softmax in float32 in the log2 domain (running max m,
// running sum l, O rescaled by 2^(m_old - m_new)), then O += P V in registers (d in chunks of up to 4
// vectors). O and P live in small L1 tiles; nothing of size Nq x Nk exists.
#pragma once

#include "cpu/kernels.h"
#include "cpu/simd_math.h"

#include <cstdint>

namespace sdn::cpu::SDN_ATTN_NS {

constexpr int QR = 6;

template <class V, int KV>
struct Attn {
    using R = typename V::R;
    static constexpr int W = V::W;
    static constexpr int SK = KV * W;   // keys per score micro-tile (QR x KV registers)
    static constexpr int NSUB = (128 + SK - 1) / SK;
    static constexpr int BK = NSUB * SK;  // keys per softmax block (~128: amortises the per-row reductions)

    static int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

    // Floats of scratch one task needs.
    static int64_t scratch_floats(int64_t nk, int64_t d) {
        const int64_t d_pad = round_up(d, W);
        return d * round_up(nk, BK) + QR * d_pad + QR * BK + QR * d_pad + 64;
    }

    static void run(const AttentionArgs & a, int64_t b, int64_t h, int64_t q_begin, int64_t q_end, float * scratch) {
        const int64_t d = a.head_dim, nk = a.nk;
        const int64_t d_pad = round_up(d, W);
        const int64_t nk_pad = round_up(nk, BK);
        float * kt = scratch;
        float * q_tile = kt + d * nk_pad;           // QR x d_pad, scaled queries
        float * p_tile = q_tile + QR * d_pad;       // QR x BK, scores then probabilities
        float * o_tile = p_tile + QR * BK;          // QR x d_pad, unnormalised output

        const float * kbase = a.k.data + b * a.k.stride_b + h * a.k.stride_h;
        const float * vbase = a.v.data + b * a.v.stride_b + h * a.v.stride_h;
        const float * qbase = a.q.data + b * a.q.stride_b + h * a.q.stride_h;
        float * obase = a.out + b * a.out_stride_b + h * a.out_stride_h;

        // Kt in blocks of SK keys: block jb holds K[jb*SK + jj][t] at [t * SK + jj] (zero for padded keys),
        // so a score micro-tile reads one contiguous d x SK slab.
        for (int64_t jb = 0; jb < nk_pad / SK; ++jb) {
            float * blk = kt + jb * d * SK;
            for (int jj = 0; jj < SK; ++jj) {
                const int64_t j = jb * SK + jj;
                if (j < nk) {
                    const float * kr = kbase + j * a.k.stride_s;
                    for (int64_t t = 0; t < d; ++t) blk[t * SK + jj] = kr[t];
                } else {
                    for (int64_t t = 0; t < d; ++t) blk[t * SK + jj] = 0.0f;
                }
            }
        }

        const int64_t causal_shift = nk - a.nq;
        // scores in the log2 domain: softmax(s) = 2^(s log2 e - max) / sum
        const float qscale = a.scale * 1.4426950408889634f;
        for (int64_t i0 = q_begin; i0 < q_end; i0 += QR) {
            const int rows = static_cast<int>(q_end - i0 < QR ? q_end - i0 : QR);
            float m[QR], l[QR];
            int64_t row_keys[QR];  // keys visible to each row
            for (int r = 0; r < QR; ++r) {
                m[r] = -3.0e38f;
                l[r] = 0.0f;
                float * qt = q_tile + r * d_pad;
                if (r < rows) {
                    const float * qr = qbase + (i0 + r) * a.q.stride_s;
                    for (int64_t t = 0; t < d; ++t) qt[t] = qr[t] * qscale;
                    int64_t vis = nk;
                    if (a.causal) {
                        vis = i0 + r + causal_shift + 1;
                        vis = vis < 0 ? 0 : (vis > nk ? nk : vis);
                    }
                    row_keys[r] = vis;
                } else {
                    for (int64_t t = 0; t < d; ++t) qt[t] = 0.0f;
                    row_keys[r] = 0;
                }
                for (int64_t t = 0; t < d_pad; ++t) o_tile[r * d_pad + t] = 0.0f;
            }
            int64_t max_keys = 0;
            for (int r = 0; r < QR; ++r) max_keys = row_keys[r] > max_keys ? row_keys[r] : max_keys;

            for (int64_t j0 = 0; j0 < max_keys; j0 += BK) {
                const int64_t blk = max_keys - j0 < BK ? max_keys - j0 : BK;  // keys of this block used by someone
                for (int sb = 0; sb < NSUB && sb * SK < blk; ++sb)
                    scores(q_tile, d_pad, kt + (j0 / SK + sb) * d * SK, d, p_tile + sb * SK);
                for (int r = 0; r < QR; ++r) {
                    int64_t valid = row_keys[r] - j0;
                    valid = valid < 0 ? 0 : (valid > BK ? BK : valid);
                    softmax_row(p_tile + r * BK, static_cast<int>(valid), m[r], l[r], o_tile + r * d_pad, d_pad);
                }
                accumulate_pv(p_tile, vbase + j0 * a.v.stride_s, a.v.stride_s, static_cast<int>(blk), d, d_pad, o_tile);
            }
            for (int r = 0; r < rows; ++r) {
                float * orow = obase + (i0 + r) * a.out_stride_s;
                const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
                const float * ot = o_tile + r * d_pad;
                for (int64_t t = 0; t < d; ++t) orow[t] = ot[t] * inv;
            }
        }
    }

    // p[r][0:SK] = q[r] . Kt[:, 0:SK]  (p rows BK apart)
    static inline void scores(const float * q, int64_t d_pad, const float * kt, int64_t d, float * p) {
        R acc[QR][KV];
#pragma GCC unroll 8
        for (int r = 0; r < QR; ++r)
#pragma GCC unroll 8
            for (int v = 0; v < KV; ++v) acc[r][v] = V::zero();
        for (int64_t t = 0; t < d; ++t) {
            R kv[KV];
            const float * kr = kt + t * SK;
#pragma GCC unroll 8
            for (int v = 0; v < KV; ++v) kv[v] = V::load(kr + v * W);
#pragma GCC unroll 8
            for (int r = 0; r < QR; ++r) {
                const R qv = V::set1(q[r * d_pad + t]);
#pragma GCC unroll 8
                for (int v = 0; v < KV; ++v) acc[r][v] = V::fmadd(qv, kv[v], acc[r][v]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < QR; ++r)
#pragma GCC unroll 8
            for (int v = 0; v < KV; ++v) V::store(p + r * BK + v * W, acc[r][v]);
    }

    // Online softmax update of one row for `valid` scores in s (rest set to 0 probability).
    static inline void softmax_row(float * s, int valid, float & m, float & l, float * o, int64_t d_pad) {
        if (valid <= 0) {
            for (int j = 0; j < BK; ++j) s[j] = 0.0f;
            return;
        }
        R vmax = V::set1(-3.0e38f);
        int j = 0;
        for (; j + W <= valid; j += W) vmax = V::max(vmax, V::load(s + j));
        float mx = V::reduce_max(vmax);
        for (; j < valid; ++j) mx = s[j] > mx ? s[j] : mx;
        const float m_new = mx > m ? mx : m;
        const R vm = V::set1(m_new);
        R vsum = V::zero();
        j = 0;
        for (; j + W <= valid; j += W) {
            const R p = exp2_nonpos_v<V>(V::sub(V::load(s + j), vm));
            V::store(s + j, p);
            vsum = V::add(vsum, p);
        }
        if (j < valid) {
            const int n = valid - j;
            const R p = exp2_nonpos_v<V>(V::sub(V::load_n(s + j, n), vm));
            alignas(64) float tmp[W];
            V::store(tmp, p);
            const R pz = V::load_n(tmp, n);  // zero lanes past `valid`
            V::store(s + j, pz);
            vsum = V::add(vsum, pz);
            j += W;
        }
        for (; j < BK; ++j) s[j] = 0.0f;
        const float blk_sum = V::reduce_add(vsum);
        if (m_new > m) {
            const float alpha = scalar_exp2(m - m_new);  // ~0 on the first block (m = -3e38)
            const R va = V::set1(alpha);
            for (int64_t t = 0; t < d_pad; t += W) V::store(o + t, V::mul(V::load(o + t), va));
            l = l * alpha + blk_sum;
            m = m_new;
        } else {
            l += blk_sum;
        }
    }

    static inline float scalar_exp2(float x) {
        const R e = exp2_nonpos_v<V>(V::set1(x));
        float tmp[W];
        V::store(tmp, e);
        return tmp[0];
    }

    // o[r][c0 : c0 + NVEC*W] += sum_{j < blk} p[r][j] * V[j][same], the last vector holding `tail` lanes
    template <int NVEC>
    static inline void pv_chunk(const float * p, const float * v, int64_t v_stride, int blk, int64_t c0, int tail,
                                int64_t d_pad, float * o) {
        R acc[QR][NVEC];
#pragma GCC unroll 8
        for (int r = 0; r < QR; ++r)
#pragma GCC unroll 8
            for (int c = 0; c < NVEC; ++c) acc[r][c] = V::load(o + r * d_pad + c0 + c * W);
        for (int j = 0; j < blk; ++j) {
            const float * vr = v + j * v_stride + c0;
            R vv[NVEC];
#pragma GCC unroll 8
            for (int c = 0; c < NVEC - 1; ++c) vv[c] = V::load(vr + c * W);
            vv[NVEC - 1] = tail == W ? V::load(vr + (NVEC - 1) * W) : V::load_n(vr + (NVEC - 1) * W, tail);
#pragma GCC unroll 8
            for (int r = 0; r < QR; ++r) {
                const R pv = V::set1(p[r * BK + j]);
#pragma GCC unroll 8
                for (int c = 0; c < NVEC; ++c) acc[r][c] = V::fmadd(pv, vv[c], acc[r][c]);
            }
        }
#pragma GCC unroll 8
        for (int r = 0; r < QR; ++r)
#pragma GCC unroll 8
            for (int c = 0; c < NVEC; ++c) V::store(o + r * d_pad + c0 + c * W, acc[r][c]);
    }

    // o[r][0:d] += sum_{j < blk} p[r][j] * V[j][0:d]
    static inline void accumulate_pv(const float * p, const float * v, int64_t v_stride, int blk, int64_t d, int64_t d_pad,
                                     float * o) {
        constexpr int CV = 4;  // vectors of d per pass
        for (int64_t c0 = 0; c0 < d; c0 += CV * W) {
            const int64_t chunk = d - c0 < CV * W ? d - c0 : CV * W;
            const int nvec = static_cast<int>((chunk + W - 1) / W);
            const int tail = static_cast<int>(chunk - (nvec - 1) * W);
            switch (nvec) {
                case 1: pv_chunk<1>(p, v, v_stride, blk, c0, tail, d_pad, o); break;
                case 2: pv_chunk<2>(p, v, v_stride, blk, c0, tail, d_pad, o); break;
                case 3: pv_chunk<3>(p, v, v_stride, blk, c0, tail, d_pad, o); break;
                default: pv_chunk<4>(p, v, v_stride, blk, c0, tail, d_pad, o); break;
            }
        }
    }
};

}  // namespace sdn::cpu::SDN_ATTN_NS
