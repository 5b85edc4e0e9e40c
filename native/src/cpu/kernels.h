// CPU compute kernels of the core (float32 activations, NCHW images). Raw pointers + shapes + the
// context's ThreadPool; every entry point validates its shapes and throws sdn::Error
// (SDN_ERR_INVALID_ARGUMENT / SDN_ERR_SHAPE) on bad input, and polls `control` (when not null) between
// large units of work (throwing SDN_ERR_ABORTED when asked to stop).
//
// `level` picks the SIMD implementation (sdn::select_simd_level); a level above what the machine
// supports must not be passed. Every kernel has AVX-512, AVX2 and portable code paths.
#pragma once

#include "core/cpu_features.h"
#include "core/exec_control.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"

#include <cstdint>
#include <memory>

namespace sdn::cpu {

// ------------------------------------------------------------------------------------------------
// GEMM: see cpu/gemm.h (gemm(), GemmArgs with f32 / f16 / bf16 operands, bias, pre-packed weights via
// pack_gemm_b).
// ------------------------------------------------------------------------------------------------

// Float32 ceiling of the machine: all pool threads run a pure FMA loop at `level` for ~`seconds`;
// returns GFLOP/s (best run).
double measure_fma_peak_gflops(ThreadPool & pool, SimdLevel level, double seconds);

// The same loop on the calling thread, timed by thread CPU time: the per-core ceiling, insensitive to
// other processes sharing the cores (benchmarks on shared machines report ratios against it).
double fma_peak_gflops_per_cpu_second(SimdLevel level, double seconds);

// ------------------------------------------------------------------------------------------------
// 2-D convolution, NCHW float32 input/output, OIHW weights (f32, f16 or bf16), groups = 1.
// output[b][o][y][x] = bias[o] + residual[b][o][y][x]
//                      + sum_{c,ky,kx} weight[o][c][ky][kx] * input[b][c][y*stride + ky - pad][x*stride + kx - pad]
// Implicit GEMM: weights are packed once per call (or once for all calls: pack_conv2d_weights); the
// input is expanded (im2col) one tile of output pixels at a time straight into packed GEMM panels, so
// no full im2col buffer exists.
// ------------------------------------------------------------------------------------------------
struct WinogradWeights;

struct Conv2dArgs {
    int64_t batch = 1;
    int64_t in_channels = 0, in_h = 0, in_w = 0;
    int64_t out_channels = 0;
    int64_t kernel_h = 3, kernel_w = 3;
    int64_t stride = 1;
    int64_t pad = 1;
    const float * input = nullptr;
    const void * weight = nullptr;
    DType weight_type = DType::F32;
    const float * bias = nullptr;      // optional, out_channels
    const float * residual = nullptr;  // optional, same shape as the output (may be the output itself)
    float * output = nullptr;
    // Optional: the weights pre-packed by pack_conv2d_weights for the same level and shape (weight and
    // weight_type are then ignored by the direct path). Saves re-packing the weights on every call.
    const PackedMatrix * packed_weight = nullptr;
    // Optional: the weights transformed by winograd_transform_weights for the same level and shape. When
    // set (and SDN_CONV_ALGO is not "direct"), a 3x3 stride-1 pad-1 convolution takes the Winograd path.
    const WinogradWeights * winograd_weight = nullptr;
};

int64_t conv2d_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad);
// Throws sdn::Error on bad shapes / missing pointers (shared by both conv2d paths).
void validate_conv2d(const Conv2dArgs & args);

// Packs OIHW weights (f32 / f16 / bf16) once for conv2d at `level` (float32, ~4 bytes per weight).
PackedMatrix pack_conv2d_weights(ThreadPool & pool, SimdLevel level, const void * weight, DType type,
                                 int64_t out_channels, int64_t in_channels, int64_t kernel_h, int64_t kernel_w);
// Dispatches between the implicit GEMM and Winograd F(4x4, 3x3) (below) by conv_algo() and winograd_pays().
void conv2d(ThreadPool & pool, SimdLevel level, const Conv2dArgs & args, const ExecControl * control = nullptr);
// The implicit GEMM path only.
void conv2d_direct(ThreadPool & pool, SimdLevel level, const Conv2dArgs & args, const ExecControl * control = nullptr);

// ------------------------------------------------------------------------------------------------
// Winograd F(4x4, 3x3) for 3x3 stride-1 pad-1 convolutions (cpu/winograd.cpp): 36 multiplies per 4x4
// output tile and channel pair instead of 144 (4x fewer FLOPs in the products).
//   U = G g G^T per (out, in) channel pair (computed in double, stored f32: 36 floats per pair, i.e. 4x
//   the f32 weight size), packed as 36 GEMM A operands [out_c x in_c];
//   per block of ~64 4x4 output tiles of one image: V = B^T d B of every input channel straight into
//   packed B panels (36 x in_c x tiles floats, cache resident), 36 GEMMs M = U V on the packed micro-
//   kernels (gemm_isa) per block of ~112 output channels, then Y = A^T M A + bias (+ residual) clipped to
//   the image edges. No buffer grows with the image; pool tasks are (image, tile block[, channel group]).
// Interpolation points 0, +-1, 1/2, -2, inf (see cpu/winograd.h). Error on N(0,1) inputs with
// N(0, 1/(9C)) weights, C = 128..512: max |err| ~ 1e-5 x max |out| (the direct f32 path: ~1e-6); bounded
// in tests/test_cpu_winograd.cpp.
//
// Dispatch (conv2d, SDN_CONV_ALGO unset or "auto"): Winograd when the shape is 3x3 / stride 1 / pad 1,
// in_channels >= kWinogradMinChannels, out_channels >= kWinogradMinChannels and the number of output
// tiles (batch x ceil(H/4) x ceil(W/4)) is at least kWinogradMinTilesCached when transformed weights are
// supplied, kWinogradMinTiles when they must be transformed on every call (the transform costs about as
// much as a Winograd conv over a few dozen tiles). SDN_CONV_ALGO=direct|winograd forces a path (winograd
// still needs an eligible 3x3 / s1 / p1 shape, and weights pre-packed for the direct path keep it direct).
// Weight caching (the CPU backend, cpu_backend.cpp): transformed weights take 16 bytes per 3x3 weight
// parameter, so they are cached (keyed by weight pointer, evicted by release_weight, counted in
// host_memory()) only for convs that take the Winograd path with batch x tiles < 2048 (below that the
// per-call transform costs more than ~5% of the conv: ~13 ms for a 512x512 conv on 2 Zen 4 cores) and
// while the cache stays under SDN_WINOGRAD_CACHE_MB (default 0: off, for memory; ~0.2 s slower per 512x512 VAE decode). Larger images transform per call (a
// few % of the conv); the UNet's 1280-channel convs at 8x8 / 16x16 (few tiles) stay direct.
// ------------------------------------------------------------------------------------------------
struct WinogradWeights {
    SimdLevel level = SimdLevel::Portable;
    int64_t out_channels = 0, in_channels = 0;
    int64_t kc = 0;       // K block the A panels were cut with (gemm_kc(in_channels))
    int64_t out_pad = 0;  // out_channels rounded up to the MR panel height
    bool bf16 = false;    // panels in the bf16 pair format (CPU compute mode bf16, gemm_compute.h)
    std::shared_ptr<float> data;  // position xi at data + xi * out_pad * in_channels (pack_a layout)
    size_t bytes() const { return static_cast<size_t>(36 * out_pad * in_channels) * sizeof(float); }
};

constexpr int64_t kWinogradMinChannels = 32;
constexpr int64_t kWinogradMinTilesCached = 16;
constexpr int64_t kWinogradMinTiles = 128;

enum class ConvAlgo { Auto = 0, Direct = 1, Winograd = 2 };
// SDN_CONV_ALGO=direct|winograd|auto (read on every call; unset or anything else = auto).
ConvAlgo conv_algo();
// 3x3, stride 1, pad 1.
bool winograd_eligible(const Conv2dArgs & args);
// Whether the auto dispatch takes Winograd for this shape (see the rule above).
bool winograd_pays(const Conv2dArgs & args, bool weights_transformed);
// Floats of a WinogradWeights for this level and shape.
int64_t winograd_weight_floats(SimdLevel level, int64_t out_channels, int64_t in_channels);
// Transforms OIHW 3x3 weights (f32 / f16 / bf16) once for conv2d_winograd at `level`.
WinogradWeights winograd_transform_weights(ThreadPool & pool, SimdLevel level, const void * weight, DType type,
                                           int64_t out_channels, int64_t in_channels, float * dst = nullptr);
// The Winograd path only (throws SDN_ERR_INVALID_ARGUMENT unless winograd_eligible). Uses
// args.winograd_weight when set, else transforms args.weight for this call.
void conv2d_winograd(ThreadPool & pool, SimdLevel level, const Conv2dArgs & args, const ExecControl * control = nullptr);

// ------------------------------------------------------------------------------------------------
// Attention: out = softmax(scale * Q K^T [+ causal mask]) V per (batch, head), flash style: tiled over
// query and key blocks with an online softmax in float32; no Nq x Nk matrix is ever stored.
// Tensors are addressed through strides (elements) so both [B, heads, S, d] ("bhsd") and
// [B, S, heads, d] ("bshd") work; the head dimension must be contiguous. `causal`: query i sees keys
// j <= i + (nk - nq) (the usual bottom-right alignment; nq == nk for CLIP).
// ------------------------------------------------------------------------------------------------
enum class AttnLayout { BHSD = 0, BSHD = 1 };

struct AttnTensor {
    const float * data = nullptr;
    int64_t stride_b = 0, stride_h = 0, stride_s = 0;  // elements; stride of d is 1
};

struct AttentionArgs {
    int64_t batch = 1, heads = 1, nq = 0, nk = 0, head_dim = 0;
    AttnTensor q, k, v;
    float * out = nullptr;
    int64_t out_stride_b = 0, out_stride_h = 0, out_stride_s = 0;
    float scale = 1.0f;
    bool causal = false;
};

// Fills the strides of `t` for a dense tensor of `layout` with `seq` positions.
AttnTensor attn_tensor(const float * data, AttnLayout layout, int64_t heads, int64_t seq, int64_t head_dim);
// Convenience: dense q/k/v/out of one layout (out has the layout and shape of q).
AttentionArgs attention_args(AttnLayout layout, int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t head_dim,
                             const float * q, const float * k, const float * v, float * out, float scale, bool causal);

void attention(ThreadPool & pool, SimdLevel level, const AttentionArgs & args, const ExecControl * control = nullptr);

// ------------------------------------------------------------------------------------------------
// Normalisation
// ------------------------------------------------------------------------------------------------
// GroupNorm on NCHW (x, y: [batch, channels, hw]); gamma/beta per channel (optional: null = 1 / 0);
// statistics in two passes (mean, then centred variance). `silu` fuses y = silu(y). y may equal x.
void group_norm(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t batch, int64_t channels,
                int64_t hw, int64_t groups, const float * gamma, const float * beta, float eps, bool silu,
                const ExecControl * control = nullptr);

// LayerNorm over the last dimension: x, y [rows, dim]; gamma/beta optional (dim). y may equal x.
void layer_norm(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t rows, int64_t dim,
                const float * gamma, const float * beta, float eps, const ExecControl * control = nullptr);

// ------------------------------------------------------------------------------------------------
// Activations and elementwise (y may equal x)
// ------------------------------------------------------------------------------------------------
enum class Activation { Identity = 0, Silu = 1, Gelu = 2, QuickGelu = 3 };  // values are stable

// y[i] = act(x[i]); Gelu is the exact erf form, QuickGelu x * sigmoid(1.702 x).
void activation(ThreadPool & pool, SimdLevel level, Activation act, const float * x, float * y, int64_t n);
inline void silu(ThreadPool & p, SimdLevel l, const float * x, float * y, int64_t n) { activation(p, l, Activation::Silu, x, y, n); }
inline void gelu(ThreadPool & p, SimdLevel l, const float * x, float * y, int64_t n) { activation(p, l, Activation::Gelu, x, y, n); }
inline void quick_gelu(ThreadPool & p, SimdLevel l, const float * x, float * y, int64_t n) {
    activation(p, l, Activation::QuickGelu, x, y, n);
}

// GEGLU: x [rows, 2 * dim] split in halves a = x[:, :dim], g = x[:, dim:]; y [rows, dim] = a * gelu(g).
// y must not overlap x (rows are processed in parallel).
void geglu(ThreadPool & pool, SimdLevel level, const float * x, float * y, int64_t rows, int64_t dim);

// y = a + b (n elements).
void add(ThreadPool & pool, SimdLevel level, const float * a, const float * b, float * y, int64_t n);

// Broadcast bias: x, y [outer, channels, inner]; y[o][c][i] = x[o][c][i] + bias[c]. NCHW bias is
// (outer = batch, channels, inner = H*W); a last-dimension bias is (outer = rows, channels = dim, inner = 1).
void add_bias(ThreadPool & pool, SimdLevel level, const float * x, const float * bias, float * y, int64_t outer,
              int64_t channels, int64_t inner);

// Nearest-neighbour 2x upsample: x [planes, h, w] -> y [planes, 2h, 2w] (planes = batch * channels).
void upsample_nearest2x(ThreadPool & pool, const float * x, float * y, int64_t planes, int64_t h, int64_t w);

// diffusers get_timestep_embedding: for each of the n float timesteps, half = dim / 2 frequencies
// f_j = exp(-ln(max_period) * j / (half - downscale_freq_shift)), e = scale * t * f_j,
// out = [sin e, cos e] (or [cos e, sin e] with flip_sin_to_cos), zero-padded when dim is odd.
// out: [n, dim].
void timestep_embedding(const float * timesteps, int64_t n, int64_t dim, float * out, bool flip_sin_to_cos,
                        float downscale_freq_shift, float scale = 1.0f, float max_period = 10000.0f);

}  // namespace sdn::cpu
