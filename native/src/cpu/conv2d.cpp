// 2-D convolution (NCHW, OIHW weights) as an implicit GEMM on the packed GEMM kernels:
//   output[b] (out_channels x pixels) = W (out_channels x in_channels*kh*kw) * im2col(input[b]).
// The weights are packed once per call into MR-row panels (widened from f16/bf16 if needed), or once
// for all calls with pack_conv2d_weights. Each pool
// task owns a tile of NT output pixels of one image (and, when there are few tiles, a range of output
// channels); for each KC block it expands its tile of the input straight into NR-column panels (no
// full im2col buffer) and runs the macro-kernel. The output tile is first filled with bias + residual,
// then every K block accumulates into it.
#include "cpu/kernels.h"

#include "core/error.h"
#include "cpu/scratch.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace sdn::cpu {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

struct ConvGeom {
    int64_t c, h, w, kh, kw, stride, pad, oh, ow;
};

// im2col of output pixels [p0, p0 + np) of one image, K rows [k0, k0 + kc), into NR-column panels.
void pack_im2col(const ConvGeom & g, const float * in, int64_t p0, int64_t np, int64_t k0, int64_t kc, int64_t nr,
                 float * dst) {
    struct Segment {
        int64_t oy, ox0, len, col;
    };
    Segment segs[64];
    for (int64_t q0 = 0; q0 < np; q0 += nr, dst += kc * nr) {
        const int64_t cols = std::min(nr, np - q0);
        // split the panel's pixels into runs that share an output row
        int n_seg = 0;
        for (int64_t col = 0; col < cols;) {
            const int64_t p = p0 + q0 + col;
            const int64_t oy = p / g.ow, ox = p % g.ow;
            const int64_t len = std::min(cols - col, g.ow - ox);
            segs[n_seg++] = {oy, ox, len, col};
            col += len;
        }
        int64_t ci = k0 / (g.kh * g.kw), rem = k0 % (g.kh * g.kw);
        int64_t ky = rem / g.kw, kx = rem % g.kw;
        for (int64_t kk = 0; kk < kc; ++kk) {
            float * d = dst + kk * nr;
            const float * plane = in + ci * g.h * g.w;
            for (int s = 0; s < n_seg; ++s) {
                const Segment & sg = segs[s];
                float * ds = d + sg.col;
                const int64_t iy = sg.oy * g.stride - g.pad + ky;
                if (iy < 0 || iy >= g.h) {
                    std::memset(ds, 0, static_cast<size_t>(sg.len) * sizeof(float));
                    continue;
                }
                const float * row = plane + iy * g.w;
                const int64_t ix0 = sg.ox0 * g.stride - g.pad + kx;
                if (g.stride == 1) {
                    const int64_t t_lo = std::min(sg.len, std::max<int64_t>(0, -ix0));
                    const int64_t t_hi = std::max(t_lo, std::min(sg.len, g.w - ix0));
                    for (int64_t t = 0; t < t_lo; ++t) ds[t] = 0.0f;
                    std::memcpy(ds + t_lo, row + ix0 + t_lo, static_cast<size_t>(t_hi - t_lo) * sizeof(float));
                    for (int64_t t = t_hi; t < sg.len; ++t) ds[t] = 0.0f;
                } else {
                    // columns t with 0 <= ix0 + t * stride < w
                    const int64_t st = g.stride;
                    const int64_t t_lo = std::min(sg.len, ix0 >= 0 ? 0 : (-ix0 + st - 1) / st);
                    const int64_t t_hi = std::max(t_lo, std::min(sg.len, g.w - ix0 <= 0 ? 0 : (g.w - ix0 + st - 1) / st));
                    for (int64_t t = 0; t < t_lo; ++t) ds[t] = 0.0f;
                    const float * src = row + ix0;
                    for (int64_t t = t_lo; t < t_hi; ++t) ds[t] = src[t * st];
                    for (int64_t t = t_hi; t < sg.len; ++t) ds[t] = 0.0f;
                }
            }
            for (int64_t col = cols; col < nr; ++col) d[col] = 0.0f;
            if (++kx == g.kw) {
                kx = 0;
                if (++ky == g.kh) {
                    ky = 0;
                    ++ci;
                }
            }
        }
    }
}

}  // namespace

PackedMatrix pack_conv2d_weights(ThreadPool & pool, SimdLevel level, const void * weight, DType type, int64_t out_channels,
                                 int64_t in_channels, int64_t kernel_h, int64_t kernel_w) {
    require(out_channels >= 1 && in_channels >= 1 && kernel_h >= 1 && kernel_w >= 1, SDN_ERR_SHAPE,
            "pack_conv2d_weights: dimensions must be positive");
    const int64_t K = in_channels * kernel_h * kernel_w;
    return pack_matrix(pool, level, GemmMatrix{weight, type, false, K}, true, out_channels, K, gemm_kc(K));
}

int64_t conv2d_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad) {
    if (stride <= 0) return 0;
    const int64_t span = in + 2 * pad - kernel;
    return span < 0 ? 0 : span / stride + 1;
}

void validate_conv2d(const Conv2dArgs & a) {
    auto num = [](int64_t v) { return std::to_string(v); };
    require(a.batch >= 1 && a.in_channels >= 1 && a.in_h >= 1 && a.in_w >= 1 && a.out_channels >= 1, SDN_ERR_SHAPE,
            "conv2d: batch, channels and sizes must be positive (batch=" + num(a.batch) + " in_channels=" +
                num(a.in_channels) + " h=" + num(a.in_h) + " w=" + num(a.in_w) + " out_channels=" + num(a.out_channels) + ")");
    require(a.kernel_h >= 1 && a.kernel_w >= 1 && a.stride >= 1 && a.pad >= 0, SDN_ERR_INVALID_ARGUMENT,
            "conv2d: kernel and stride must be >= 1 and pad >= 0");
    require(a.input != nullptr && (a.weight != nullptr || a.packed_weight != nullptr || a.winograd_weight != nullptr) &&
                a.output != nullptr,
            SDN_ERR_INVALID_ARGUMENT,
            "conv2d: input, weight or output is NULL");
    const int64_t oh = conv2d_out_size(a.in_h, a.kernel_h, a.stride, a.pad);
    const int64_t ow = conv2d_out_size(a.in_w, a.kernel_w, a.stride, a.pad);
    require(oh >= 1 && ow >= 1, SDN_ERR_SHAPE,
            "conv2d: kernel " + num(a.kernel_h) + "x" + num(a.kernel_w) + " does not fit the padded input " + num(a.in_h) +
                "x" + num(a.in_w));
}

void conv2d(ThreadPool & pool, SimdLevel level, const Conv2dArgs & a, const ExecControl * control) {
    validate_conv2d(a);
    bool wino = false;
    if (winograd_eligible(a)) {
        const ConvAlgo algo = conv_algo();
        const bool have_w = a.winograd_weight != nullptr;
        if (algo == ConvAlgo::Winograd) wino = true;
        else if (algo == ConvAlgo::Auto) wino = winograd_pays(a, have_w);
        // weights pre-packed for the direct path only: Winograd cannot run; nothing but transformed
        // weights: the direct path cannot run
        if (a.weight == nullptr && a.winograd_weight == nullptr) wino = false;
        if (a.weight == nullptr && a.packed_weight == nullptr) wino = true;
    }
    if (wino) conv2d_winograd(pool, level, a, control);
    else conv2d_direct(pool, level, a, control);
}

void conv2d_direct(ThreadPool & pool, SimdLevel level, const Conv2dArgs & a, const ExecControl * control) {
    auto num = [](int64_t v) { return std::to_string(v); };
    validate_conv2d(a);
    require(a.weight != nullptr || a.packed_weight != nullptr, SDN_ERR_INVALID_ARGUMENT, "conv2d: weight is NULL");
    const int64_t oh = conv2d_out_size(a.in_h, a.kernel_h, a.stride, a.pad);
    const int64_t ow = conv2d_out_size(a.in_w, a.kernel_w, a.stride, a.pad);

    const GemmIsa & isa = gemm_isa(level);
    const int64_t MR = isa.mr, NR = isa.nr;
    const int64_t M = a.out_channels, K = a.in_channels * a.kernel_h * a.kernel_w, P = oh * ow;
    const ConvGeom geom{a.in_channels, a.in_h, a.in_w, a.kernel_h, a.kernel_w, a.stride, a.pad, oh, ow};

    // Weights as the A operand: K block kb at pa + k0 * m_pad, MR panels back to back.
    PackedMatrix local;
    const PackedMatrix * packed = a.packed_weight;
    if (packed != nullptr) {
        require(packed->a_side && packed->level == level && packed->data != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "conv2d: packed weights were not packed by pack_conv2d_weights for this SIMD level");
        require(packed->bf16 == isa.bf16, SDN_ERR_INVALID_ARGUMENT,
                "conv2d: packed weights were packed in another CPU compute mode (f32 / bf16)");
        require(packed->outer == M && packed->k == K, SDN_ERR_SHAPE,
                "conv2d: packed weights are " + num(packed->outer) + " x " + num(packed->k) + ", the call needs " + num(M) +
                    " x " + num(K));
    } else {
        // per-call packing: into the calling thread's scratch when it is not huge
        const size_t need = static_cast<size_t>(packed_floats(level, true, M, K));
        float * dst = need <= kMaxKeptScratchFloats ? thread_scratch(2, need) : nullptr;
        local = pack_matrix(pool, level, GemmMatrix{a.weight, a.weight_type, false, K}, true, M, K, gemm_kc(K), dst);
        packed = &local;
    }
    const int64_t KC = packed->kc;
    const int64_t n_kb = ceil_div(K, KC);
    const int64_t m_pad = packed->outer_pad;
    const float * pa = packed->data.get();
    if (control != nullptr) control->poll("conv2d");

    // Tiles of output pixels (a multiple of NR), optionally split over output channels.
    const int64_t NT = NR * std::max<int64_t>(1, 128 / NR);
    const int64_t n_tiles = ceil_div(P, NT);
    const int threads = pool.size();
    int64_t n_mg = 1;
    if (a.batch * n_tiles < 4 * threads) n_mg = std::min(m_pad / MR, ceil_div(4 * threads, a.batch * n_tiles));
    const int64_t MG = round_up(ceil_div(M, n_mg), MR);  // rows per channel group
    n_mg = ceil_div(M, MG);
    const int64_t MC = std::min(MG, round_up(448, MR));  // rows per macro-kernel call (A block in L2)

    pool.parallel_for(a.batch * n_tiles * n_mg, [&](int64_t t, int) {
        if (control != nullptr) control->poll("conv2d");
        const int64_t mg = t % n_mg, tile = (t / n_mg) % n_tiles, b = t / (n_mg * n_tiles);
        const int64_t p0 = tile * NT, np = std::min(NT, P - p0);
        const int64_t g0 = mg * MG, g1 = std::min(M, g0 + MG);
        const float * in = a.input + b * a.in_channels * a.in_h * a.in_w;
        float * out = a.output + b * M * P;
        // bias + residual into the output tile
        for (int64_t o = g0; o < g1; ++o) {
            float * dst = out + o * P + p0;
            const float bv = a.bias != nullptr ? a.bias[o] : 0.0f;
            if (a.residual != nullptr) {
                const float * r = a.residual + b * M * P + o * P + p0;
                for (int64_t j = 0; j < np; ++j) dst[j] = r[j] + bv;
            } else {
                for (int64_t j = 0; j < np; ++j) dst[j] = bv;
            }
        }
        float * pb = thread_scratch(1, static_cast<size_t>(KC * round_up(NT, NR)));
        for (int64_t kb = 0; kb < n_kb; ++kb) {
            const int64_t k0 = kb * KC, kc = std::min(KC, K - k0);
            pack_im2col(geom, in, p0, np, k0, kc, NR, pb);
            if (isa.convert_panels != nullptr) isa.convert_panels(kc, ceil_div(np, NR), NR, pb);
            for (int64_t i0 = g0; i0 < g1; i0 += MC) {
                const int64_t mc = std::min(MC, g1 - i0);
                isa.macro(mc, np, kc, pa + k0 * m_pad + i0 * kc, pb, out + i0 * P + p0, P, 1.0f, true);
            }
        }
    });
    if (control != nullptr) control->report(1, 1);
}

}  // namespace sdn::cpu
