// Winograd F(4x4, 3x3) convolution driver: weight transform, blocking, dispatch rule. The transforms
// are per ISA (winograd_impl.h); the 36 products run on the packed GEMM macro-kernels (gemm_isa).
//
// Blocking (per pool task = one image, one block of NT tiles, optionally one group of output channels):
//   1. V = B^T d B for all in_channels of the block's tiles, written as packed B panels
//      (36 x C x NT floats: 4.7 MB for C = 512, NT = 64; L2/L3 resident, per-thread scratch);
//   2. for each block of MO output channels: for each of the 36 positions, M[xi] (MO x NT) = U[xi] V[xi]
//      over C in K blocks (the MO x NT tile of C stays in L1/L2 across K blocks, U[xi]'s MO x C block and
//      V[xi] in L2), then Y = A^T M A (+ bias, + residual) straight into the output.
// The transformed weights U (36 x out_pad x C) are streamed once per task; NT = 64 tiles keeps that at
// 1/16 byte per FMA.
#include "cpu/winograd.h"

#include "core/error.h"
#include "core/half.h"
#include "cpu/kernels.h"
#include "cpu/scratch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace sdn::cpu {

namespace wino {
const Isa & isa(SimdLevel level) {
    switch (level) {
        case SimdLevel::Avx512: return isa_avx512();
        case SimdLevel::Avx2: return isa_avx2();
        default: return isa_portable();
    }
}
}  // namespace wino

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

int64_t env_int(const char * name) {
    const char * v = std::getenv(name);
    if (v == nullptr || *v == '\0') return 0;
    const long long x = std::atoll(v);
    return x > 0 ? x : 0;
}

float load_weight(const void * data, DType type, int64_t i) {
    switch (type) {
        case DType::F16: return f16_to_f32(static_cast<const uint16_t *>(data)[i]);
        case DType::BF16: return bf16_to_f32(static_cast<const uint16_t *>(data)[i]);
        default: return static_cast<const float *>(data)[i];
    }
}

// U = G g G^T of every (o, c) pair into the pack_a layout of 36 [out x in] matrices.
void transform_weights_into(ThreadPool & pool, SimdLevel level, const void * weight, DType type, int64_t O, int64_t C,
                            int64_t kc, int64_t o_pad, float * dst) {
    const int64_t MR = gemm_isa(level).mr;
    const int64_t xi_stride = o_pad * C;
    const int64_t n_panels = o_pad / MR;
    pool.parallel_for(n_panels, [&](int64_t p, int) {
        for (int64_t r = 0; r < MR; ++r) {
            const int64_t o = p * MR + r;
            for (int64_t c = 0; c < C; ++c) {
                const int64_t kb = c / kc, k0 = kb * kc, kcb = std::min(kc, C - k0), kk = c - k0;
                float * d = dst + k0 * o_pad + p * MR * kcb + kk * MR + r;
                if (o >= O) {
                    for (int xi = 0; xi < wino::kXi; ++xi) d[xi * xi_stride] = 0.0f;
                    continue;
                }
                double g[3][3];
                const int64_t base = (o * C + c) * 9;
                for (int i = 0; i < 9; ++i) g[i / 3][i % 3] = load_weight(weight, type, base + i);
                double t[wino::kA][3];  // G g
                for (int i = 0; i < wino::kA; ++i)
                    for (int j = 0; j < 3; ++j)
                        t[i][j] = wino::kG[i][0] * g[0][j] + wino::kG[i][1] * g[1][j] + wino::kG[i][2] * g[2][j];
                for (int i = 0; i < wino::kA; ++i)
                    for (int j = 0; j < wino::kA; ++j)
                        d[(i * wino::kA + j) * xi_stride] = static_cast<float>(
                            t[i][0] * wino::kG[j][0] + t[i][1] * wino::kG[j][1] + t[i][2] * wino::kG[j][2]);
            }
        }
    });
}

}  // namespace

ConvAlgo conv_algo() {
    const char * v = std::getenv("SDN_CONV_ALGO");
    if (v == nullptr) return ConvAlgo::Auto;
    if (std::strcmp(v, "direct") == 0) return ConvAlgo::Direct;
    if (std::strcmp(v, "winograd") == 0) return ConvAlgo::Winograd;
    return ConvAlgo::Auto;
}

bool winograd_eligible(const Conv2dArgs & a) {
    return a.kernel_h == 3 && a.kernel_w == 3 && a.stride == 1 && a.pad == 1;
}

bool winograd_pays(const Conv2dArgs & a, bool weights_transformed) {
    if (!winograd_eligible(a)) return false;
    if (a.in_channels < kWinogradMinChannels || a.out_channels < kWinogradMinChannels) return false;
    const int64_t tiles = a.batch * ceil_div(a.in_h, wino::kM) * ceil_div(a.in_w, wino::kM);
    return tiles >= (weights_transformed ? kWinogradMinTilesCached : kWinogradMinTiles);
}

int64_t winograd_weight_floats(SimdLevel level, int64_t out_channels, int64_t in_channels) {
    return wino::kXi * round_up(out_channels, gemm_isa(level).mr) * in_channels;
}

WinogradWeights winograd_transform_weights(ThreadPool & pool, SimdLevel level, const void * weight, DType type,
                                           int64_t out_channels, int64_t in_channels, float * dst) {
    require(out_channels >= 1 && in_channels >= 1, SDN_ERR_SHAPE, "winograd_transform_weights: dimensions must be positive");
    require(weight != nullptr, SDN_ERR_INVALID_ARGUMENT, "winograd_transform_weights: weight is NULL");
    WinogradWeights w;
    w.level = level;
    w.out_channels = out_channels;
    w.in_channels = in_channels;
    w.kc = gemm_kc(in_channels);
    w.out_pad = round_up(out_channels, gemm_isa(level).mr);
    float * raw = dst;
    if (raw == nullptr) {
        raw = static_cast<float *>(std::aligned_alloc(64, (w.bytes() + 63) & ~static_cast<size_t>(63)));
        if (raw == nullptr) throw std::bad_alloc();
        w.data = std::shared_ptr<float>(raw, [](float * q) { std::free(q); });
    } else {
        w.data = std::shared_ptr<float>(raw, [](float *) {});
    }
    transform_weights_into(pool, level, weight, type, out_channels, in_channels, w.kc, w.out_pad, raw);
    const GemmIsa & gisa = gemm_isa(level);
    w.bf16 = gisa.bf16;
    if (gisa.convert_panels != nullptr) {
        // the 36 matrices' K blocks into the kernel's panel format
        const int64_t C = in_channels, n_kb = ceil_div(C, w.kc), o_pad = w.out_pad;
        pool.parallel_for(wino::kXi * n_kb, [&](int64_t t, int) {
            const int64_t xi = t / n_kb, k0 = (t % n_kb) * w.kc, kcb = std::min(w.kc, C - k0);
            gisa.convert_panels(kcb, o_pad / gisa.mr, gisa.mr, raw + xi * o_pad * C + k0 * o_pad);
        });
    }
    return w;
}

void conv2d_winograd(ThreadPool & pool, SimdLevel level, const Conv2dArgs & a, const ExecControl * control) {
    auto num = [](int64_t v) { return std::to_string(v); };
    validate_conv2d(a);
    require(winograd_eligible(a), SDN_ERR_INVALID_ARGUMENT,
            "conv2d_winograd: needs a 3x3 kernel, stride 1 and pad 1 (got " + num(a.kernel_h) + "x" + num(a.kernel_w) +
                " stride " + num(a.stride) + " pad " + num(a.pad) + ")");
    const int64_t C = a.in_channels, O = a.out_channels, H = a.in_h, W = a.in_w;

    std::unique_ptr<PackBuffer> local_buf;
    WinogradWeights local;
    const WinogradWeights * U = a.winograd_weight;
    if (U != nullptr) {
        require(U->level == level && U->data != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "conv2d: Winograd weights were not transformed for this SIMD level");
        require(U->bf16 == gemm_isa(level).bf16, SDN_ERR_INVALID_ARGUMENT,
                "conv2d: Winograd weights were transformed in another CPU compute mode (f32 / bf16)");
        require(U->out_channels == O && U->in_channels == C, SDN_ERR_SHAPE,
                "conv2d: Winograd weights are " + num(U->out_channels) + " x " + num(U->in_channels) + ", the call needs " +
                    num(O) + " x " + num(C));
    } else {
        require(a.weight != nullptr, SDN_ERR_INVALID_ARGUMENT, "conv2d_winograd: weight is NULL");
        local_buf = std::make_unique<PackBuffer>(2, static_cast<size_t>(winograd_weight_floats(level, O, C)));
        local = winograd_transform_weights(pool, level, a.weight, a.weight_type, O, C, local_buf->data());
        U = &local;
    }
    if (control != nullptr) control->poll("conv2d");

    const GemmIsa & gisa = gemm_isa(level);
    const wino::Isa & wisa = wino::isa(level);
    const int64_t MR = gisa.mr, NR = gisa.nr;
    const int64_t KC = U->kc, n_kb = ceil_div(C, KC), o_pad = U->out_pad;
    const float * pu = U->data.get();

    const int64_t tiles_x = ceil_div(W, wino::kM), tiles_y = ceil_div(H, wino::kM), T = tiles_x * tiles_y;
    const int64_t nt_target = std::max<int64_t>(1, env_int("SDN_WINO_NT") > 0 ? env_int("SDN_WINO_NT") : 64);
    const int64_t n_tb = ceil_div(T, nt_target);
    const int64_t per = ceil_div(T, n_tb);  // tiles per block (the last may have fewer)
    const int64_t nt_pad = round_up(per, NR);

    const int threads = pool.size();
    const int64_t tasks = a.batch * n_tb;
    int64_t n_og = 1;
    if (tasks < 2 * threads) n_og = std::min(o_pad / MR, ceil_div(2 * threads, tasks));
    const int64_t OG = round_up(ceil_div(O, n_og), MR);  // output channels per group
    n_og = ceil_div(O, OG);
    const int64_t mo_target = env_int("SDN_WINO_MO") > 0 ? env_int("SDN_WINO_MO") : 112;
    const int64_t MO = std::min(OG, MR * std::max<int64_t>(1, mo_target / MR));

    pool.parallel_for(a.batch * n_tb * n_og, [&](int64_t task, int) {
        if (control != nullptr) control->poll("conv2d");
        const int64_t og = task % n_og, tb = (task / n_og) % n_tb, b = task / (n_og * n_tb);
        const int64_t t0 = tb * per, nt = std::min(per, T - t0);
        const int64_t g0 = og * OG, g1 = std::min(O, g0 + OG);
        float * v = thread_scratch(1, static_cast<size_t>(wino::kXi * C * nt_pad));
        float * m = thread_scratch(3, static_cast<size_t>(wino::kXi * MO * nt_pad));
        const wino::InputArgs ia{a.input + b * C * H * W, C, H, W, tiles_x, t0, nt, nt_pad, KC, NR, v};
        wisa.input(ia);
        if (gisa.convert_panels != nullptr) {
            for (int xi = 0; xi < wino::kXi; ++xi)
                for (int64_t kb = 0; kb < n_kb; ++kb) {
                    const int64_t k0 = kb * KC, kcb = std::min(KC, C - k0);
                    gisa.convert_panels(kcb, nt_pad / NR, NR, v + xi * C * nt_pad + k0 * nt_pad);
                }
        }
        for (int64_t o0 = g0; o0 < g1; o0 += MO) {
            const int64_t mo = std::min(MO, g1 - o0);
            for (int xi = 0; xi < wino::kXi; ++xi) {
                const float * uxi = pu + xi * o_pad * C;
                const float * vxi = v + xi * C * nt_pad;
                float * mxi = m + xi * mo * nt_pad;
                for (int64_t kb = 0; kb < n_kb; ++kb) {
                    const int64_t k0 = kb * KC, kcb = std::min(KC, C - k0);
                    gisa.macro(mo, nt, kcb, uxi + k0 * o_pad + o0 * kcb, vxi + k0 * nt_pad, mxi, nt_pad, 0.0f, kb > 0);
                }
            }
            const wino::OutputArgs oa{m,
                                      mo,
                                      nt_pad,
                                      o0,
                                      H,
                                      W,
                                      tiles_x,
                                      t0,
                                      nt,
                                      a.bias,
                                      a.residual != nullptr ? a.residual + b * O * H * W : nullptr,
                                      a.output + b * O * H * W};
            wisa.output(oa);
        }
    });
    if (control != nullptr) control->report(1, 1);
}

}  // namespace sdn::cpu
