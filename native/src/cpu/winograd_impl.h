// Winograd F(4x4, 3x3) input and output transforms, written once against the SIMD traits (see
// simd_scalar.h) and instantiated per ISA by winograd_<isa>.cpp inside its own namespace
// (SDN_WINO_NS). Vectorised across tiles: lane l of every vector belongs to tile g * W + l of the block,
// so the transforms are plain vector arithmetic and their results land straight in the GEMM's packed
// NR-column panels (input) or come straight from its C rows (output). The 6x6 patches are gathered and
// the 4x4 results scattered through small per-thread buffers (tiles are 4 pixels apart, a stride no
// SIMD load covers).
#pragma once

#include "cpu/winograd.h"

#include <cstdint>
#include <vector>

namespace sdn::cpu::SDN_WINO_NS {

// y[i * ys] = sum_k mat[i][k] * x[k * xs] for i < R, with the constant matrix folded at compile time
// (zeros skipped, +-1 as add / sub, others as FMA).
template <class V, int R, int K>
inline void wino_apply(const float (&mat)[R][K], const typename V::R * x, int xs, typename V::R * y, int ys) {
    using Reg = typename V::R;
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
        Reg acc = V::zero();
        bool have = false;
#pragma GCC unroll 8
        for (int k = 0; k < K; ++k) {
            const float c = mat[i][k];
            if (c == 0.0f) continue;
            const Reg xv = x[k * xs];
            if (!have) {
                acc = c == 1.0f ? xv : V::mul(V::set1(c), xv);
                have = true;
            } else if (c == 1.0f) {
                acc = V::add(acc, xv);
            } else if (c == -1.0f) {
                acc = V::sub(acc, xv);
            } else {
                acc = V::fmadd(V::set1(c), xv, acc);
            }
        }
        y[i * ys] = acc;
    }
}

struct WinoTile {
    int64_t y0, x0;  // top-left output pixel
};

inline void wino_tile_infos(int64_t tiles_x, int64_t t0, int64_t nt, std::vector<WinoTile> & out) {
    out.resize(static_cast<size_t>(nt));
    int64_t ty = t0 / tiles_x, tx = t0 % tiles_x;
    for (int64_t t = 0; t < nt; ++t) {
        out[static_cast<size_t>(t)] = {ty * wino::kM, tx * wino::kM};
        if (++tx == tiles_x) {
            tx = 0;
            ++ty;
        }
    }
}

template <class V>
void input_transform(const wino::InputArgs & a) {
    using Reg = typename V::R;
    constexpr int W = V::W;
    constexpr int A = wino::kA;
    thread_local std::vector<WinoTile> tiles;
    wino_tile_infos(a.tiles_x, a.t0, a.nt, tiles);
    alignas(64) float gbuf[A * A * W];  // gathered patch: element (k, j) of lane l at [(k * A + j) * W + l]
    alignas(64) Reg tmp[A * A];
    const int64_t hw = a.h * a.w;
    const int64_t groups = a.nt_pad / W;
    for (int64_t ch = 0; ch < a.c; ++ch) {
        const float * plane = a.in + ch * hw;
        const int64_t kb = ch / a.kc, k0 = kb * a.kc, kcb = a.kc < a.c - k0 ? a.kc : a.c - k0, kk = ch - k0;
        float * vbase = a.v + k0 * a.nt_pad + kk * a.nr;
        for (int64_t g = 0; g < groups; ++g) {
            const int64_t tl = g * W;
            for (int l = 0; l < W; ++l) {
                const int64_t t = tl + l;
                if (t >= a.nt) {
                    for (int e = 0; e < A * A; ++e) gbuf[e * W + l] = 0.0f;
                    continue;
                }
                const int64_t iy0 = tiles[static_cast<size_t>(t)].y0 - 1, ix0 = tiles[static_cast<size_t>(t)].x0 - 1;
                if (iy0 >= 0 && ix0 >= 0 && iy0 + A <= a.h && ix0 + A <= a.w) {
                    const float * p = plane + iy0 * a.w + ix0;
                    for (int k = 0; k < A; ++k, p += a.w)
                        for (int j = 0; j < A; ++j) gbuf[(k * A + j) * W + l] = p[j];
                } else {
                    for (int k = 0; k < A; ++k) {
                        const int64_t iy = iy0 + k;
                        const bool row_in = iy >= 0 && iy < a.h;
                        for (int j = 0; j < A; ++j) {
                            const int64_t ix = ix0 + j;
                            gbuf[(k * A + j) * W + l] = row_in && ix >= 0 && ix < a.w ? plane[iy * a.w + ix] : 0.0f;
                        }
                    }
                }
            }
            // columns: tmp[i][j] = sum_k BT[i][k] d[k][j]
            Reg d[A];
            for (int j = 0; j < A; ++j) {
#pragma GCC unroll 6
                for (int k = 0; k < A; ++k) d[k] = V::load(gbuf + (k * A + j) * W);
                wino_apply<V, A, A>(wino::kBT, d, 1, tmp + j, A);
            }
            // rows: V[i][j] = sum_k tmp[i][k] BT[j][k], stored at position xi = i * 6 + j
            const int64_t q = tl / a.nr, r = tl % a.nr;
            float * dst = vbase + q * kcb * a.nr + r;
            const int64_t xi_stride = a.c * a.nt_pad;
            for (int i = 0; i < A; ++i) {
                Reg out[A];
                wino_apply<V, A, A>(wino::kBT, tmp + i * A, 1, out, 1);
#pragma GCC unroll 6
                for (int j = 0; j < A; ++j) V::store(dst + (i * A + j) * xi_stride, out[j]);
            }
        }
    }
}

template <class V>
void output_transform(const wino::OutputArgs & a) {
    using Reg = typename V::R;
    constexpr int W = V::W;
    constexpr int A = wino::kA, M = wino::kM;
    thread_local std::vector<WinoTile> tiles;
    wino_tile_infos(a.tiles_x, a.t0, a.nt, tiles);
    alignas(64) float ybuf[M * M * W];
    alignas(64) Reg tmp[M * A];
    const int64_t hw = a.h * a.w;
    const int64_t groups = (a.nt + W - 1) / W;
    const int64_t xi_stride = a.mo * a.ldm;
    for (int64_t oi = 0; oi < a.mo; ++oi) {
        const int64_t o = a.o0 + oi;
        const Reg bias = V::set1(a.bias != nullptr ? a.bias[o] : 0.0f);
        float * oplane = a.out + o * hw;
        const float * rplane = a.residual != nullptr ? a.residual + o * hw : nullptr;
        for (int64_t g = 0; g < groups; ++g) {
            const float * src = a.m + oi * a.ldm + g * W;
            // columns: tmp[i][j] = sum_k AT[i][k] m[k][j]
            Reg mv[A];
            for (int j = 0; j < A; ++j) {
#pragma GCC unroll 6
                for (int k = 0; k < A; ++k) mv[k] = V::load(src + (k * A + j) * xi_stride);
                wino_apply<V, M, A>(wino::kAT, mv, 1, tmp + j, A);
            }
            for (int i = 0; i < M; ++i) {
                Reg y[M];
                wino_apply<V, M, A>(wino::kAT, tmp + i * A, 1, y, 1);
#pragma GCC unroll 4
                for (int j = 0; j < M; ++j) V::store(ybuf + (i * M + j) * W, V::add(y[j], bias));
            }
            const int64_t lanes = a.nt - g * W < W ? a.nt - g * W : W;
            for (int64_t l = 0; l < lanes; ++l) {
                const WinoTile & ti = tiles[static_cast<size_t>(g * W + l)];
                const int64_t rows = a.h - ti.y0 < M ? a.h - ti.y0 : M, cols = a.w - ti.x0 < M ? a.w - ti.x0 : M;
                float * op = oplane + ti.y0 * a.w + ti.x0;
                if (rplane != nullptr) {
                    const float * rp = rplane + ti.y0 * a.w + ti.x0;
                    for (int64_t i = 0; i < rows; ++i)
                        for (int64_t j = 0; j < cols; ++j) op[i * a.w + j] = ybuf[(i * M + j) * W + l] + rp[i * a.w + j];
                } else {
                    for (int64_t i = 0; i < rows; ++i)
                        for (int64_t j = 0; j < cols; ++j) op[i * a.w + j] = ybuf[(i * M + j) * W + l];
                }
            }
        }
    }
}

inline const wino::Isa & make_wino_isa() {
    static const wino::Isa isa = {&input_transform<V>, &output_transform<V>};
    return isa;
}

}  // namespace sdn::cpu::SDN_WINO_NS
