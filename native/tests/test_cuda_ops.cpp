// The CUDA backend against the CPU backend, op by op (in the spirit of llama.cpp's test-backend-ops):
// random inputs at real Stable Diffusion sizes and at awkward ones (sizes not multiples of any tile,
// K not a multiple of 4 / 8, key lengths 77 and 1, head dims 40 / 64 / 80 / 160 / 512, causal masks
// with nq != nk, fused-projection row strides, in-place calls, outputs poisoned with NaN).
//
// GEMM-backed ops (linear, conv2d) run in five configurations:
//   f32-weights           weights stored f32, cuBLASLt f32 (CUBLAS_COMPUTE_32F) when loaded, else SIMT f32
//                                                                 tol |d| <= 1e-4 + 1e-4 |ref|
//   f32-weights/builtin   weights stored f32, SIMT f32 kernel     tol |d| <= 1e-4 + 1e-4 |ref|
//   f16-weights/simt      weights rounded to f16, SIMT f32 math   tol |d| <= 1e-4 + 1e-4 |ref|
//   f16-weights/wmma      weights f16, activations rounded to f16 on the built-in tensor-core kernel,
//                         f32 accumulation                        tol |d| <= 3e-3 + 2e-3 |ref|
//   f16-weights/libraries cuBLASLt (f16 x f16 -> f32) and cuDNN (NHWC f16, f16 output) when loaded
//                                                                 tol |d| <= 3e-3 + 2e-3 |ref|
// (in the f16 configurations the CPU reference runs with the same f16-rounded weights, so the bound is
// about the kernel, not the weight rounding). Inputs are in [-1, 1] and weights scaled by 1/sqrt(K), so
// outputs are O(1).
// Other ops, tolerance |d| <= atol + rtol |ref|:
//   attention (f32 flash)                  2e-5 + 1e-4 |ref|
//   group_norm / layer_norm                1e-4 + 1e-4 |ref|
//   silu / gelu / quick_gelu / geglu       2e-6 + 2e-5 |ref|   (device expf/erff vs CPU SIMD polynomials)
//   add, scale, channel bias, layout ops, embedding, copy, timestep embedding, up/download: exact
// Every test skips (sdn_test::skip) when no CUDA device is usable.
#include "core/backend.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cuda/cuda_backend.h"
#include "test_framework.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace sdn;

namespace {

struct Env {
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<Backend> cpu, gpu;
    std::string reason;
    explicit Env(const CudaBackendOptions & opts = CudaBackendOptions()) {
        pool = std::make_unique<ThreadPool>(hardware_threads());
        gpu = make_cuda_backend_with_options(0, *pool, opts, reason);
        if (gpu) cpu = make_cpu_backend(*pool);
    }
    bool ok() const { return gpu != nullptr; }
};

// Device float buffer of the CUDA backend.
struct Dev {
    Backend & be;
    float * p = nullptr;
    int64_t n = 0;
    Dev(Backend & b, int64_t count, bool poison = true) : be(b), n(count) {
        p = static_cast<float *>(be.alloc_memory(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float)));
        if (poison && n > 0) {
            std::vector<float> nan(static_cast<size_t>(n), std::numeric_limits<float>::quiet_NaN());
            be.upload(p, nan.data(), nan.size() * sizeof(float));
        }
    }
    Dev(Backend & b, const std::vector<float> & h) : Dev(b, static_cast<int64_t>(h.size()), false) {
        if (n > 0) be.upload(p, h.data(), h.size() * sizeof(float));
    }
    ~Dev() { be.free_memory(p); }
    Dev(const Dev &) = delete;
    Dev & operator=(const Dev &) = delete;
    std::vector<float> get() const {
        std::vector<float> h(static_cast<size_t>(n));
        if (n > 0) be.download(h.data(), p, h.size() * sizeof(float));
        return h;
    }
};

// A weight made by one backend, released with it.
struct WeightHold {
    Backend & be;
    Weight w;
    WeightHold(Backend & b, const void * data, WeightType t, const Shape & shape, bool as_f32, const char * name = "w") : be(b) {
        HostWeight h;
        h.data = data;
        h.type = t;
        h.shape = shape;
        h.name = name;
        w = be.make_weight(h, as_f32);
    }
    ~WeightHold() { be.release_weight(w); }
    WeightHold(const WeightHold &) = delete;
    WeightHold & operator=(const WeightHold &) = delete;
};

std::vector<float> random_vec(int64_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto & x : v) x = dist(rng);
    return v;
}

std::vector<uint16_t> to_f16(const std::vector<float> & v) {
    std::vector<uint16_t> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = f32_to_f16(v[i]);
    return o;
}

void compare(const std::string & what, const std::vector<float> & got, const std::vector<float> & want, double atol, double rtol) {
    bool ok = got.size() == want.size();
    double worst = 0, worst_ratio = 0;
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; ok && i < got.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        const double lim = atol + rtol * std::fabs(static_cast<double>(want[i]));
        if (!(d <= lim)) {
            if (bad++ == 0) first_bad = i;
        }
        if (!(d <= worst)) worst = d;
        if (!(d / lim <= worst_ratio)) worst_ratio = d / lim;
    }
    std::printf("    %-72s max|diff| %.3g (%.2f of tol)\n", what.c_str(), worst, worst_ratio);
    if (got.size() != want.size()) {
        CHECK_MSG(false, what + ": size mismatch");
    } else if (bad > 0) {
        char buf[256];
        std::snprintf(buf, sizeof buf, ": %zu of %zu outside tolerance, first at %zu: got %.9g want %.9g", bad, got.size(), first_bad,
                      got[first_bad], want[first_bad]);
        CHECK_MSG(false, what + buf);
    }
}

const ExecControl kCtl;

// ---- GEMM configurations ----
struct GemmMode {
    const char * name;
    CudaBackendOptions opts;
    bool f16;  // weights rounded to f16
    double atol, rtol;
};

std::vector<GemmMode> gemm_modes() {
    GemmMode f32 {"f32-weights", CudaBackendOptions(), false, 1e-4, 1e-4};
    f32.opts.weights = CudaBackendOptions::Weights::F32;
    GemmMode simt {"f16-weights/simt", CudaBackendOptions(), true, 1e-4, 1e-4};
    simt.opts.weights = CudaBackendOptions::Weights::F16;
    simt.opts.gemm = cuda::GemmPath::Simt;
    GemmMode wmma {"f16-weights/wmma", CudaBackendOptions(), true, 3e-3, 2e-3};
    wmma.opts.weights = CudaBackendOptions::Weights::F16;
    wmma.opts.gemm = cuda::GemmPath::Builtin;
    wmma.opts.conv = cuda::ConvPath::Builtin;
    // cuBLASLt / cuDNN when loaded (else the same built-in kernels as above): cuDNN's output is f16, so its
    // rounding (2^-11 relative) adds to the bound's relative part, which it fits.
    GemmMode library {"f16-weights/libraries", CudaBackendOptions(), true, 3e-3, 2e-3};
    library.opts.weights = CudaBackendOptions::Weights::F16;
    GemmMode f32_builtin {"f32-weights/builtin", CudaBackendOptions(), false, 1e-4, 1e-4};
    f32_builtin.opts.weights = CudaBackendOptions::Weights::F32;
    f32_builtin.opts.gemm = cuda::GemmPath::Builtin;
    return {f32, f32_builtin, simt, wmma, library};
}

std::string cuda_unusable_reason() {
    Env e;
    return e.ok() ? std::string() : e.reason;
}

// ---- linear ----
void check_linear(Env & env, const GemmMode & mode, int64_t rows, int64_t in, int64_t out, bool bias, int residual_kind) {
    // residual_kind: 0 none, 1 separate buffer, 2 residual == y (in place)
    const unsigned seed = static_cast<unsigned>(rows * 131 + in * 17 + out * 3 + residual_kind);
    std::vector<float> x = random_vec(rows * in, seed);
    std::vector<float> w = random_vec(out * in, seed + 1, -1.0f / std::sqrt(static_cast<float>(in)), 1.0f / std::sqrt(static_cast<float>(in)));
    std::vector<float> b = random_vec(out, seed + 2);
    std::vector<float> r = random_vec(rows * out, seed + 3);
    std::vector<uint16_t> w16 = to_f16(w);

    // CPU reference (f16 weights when the mode rounds them)
    WeightHold cw(*env.cpu, mode.f16 ? static_cast<const void *>(w16.data()) : w.data(), mode.f16 ? WeightType::F16 : WeightType::F32,
                  {out, in}, false);
    WeightHold cb(*env.cpu, b.data(), WeightType::F32, {out}, true);
    std::vector<float> want(static_cast<size_t>(rows * out));
    if (residual_kind == 2) want = r;
    env.cpu->linear(x.data(), rows, in, cw.w, bias ? &cb.w : nullptr, want.data(),
                    residual_kind == 1 ? r.data() : residual_kind == 2 ? want.data() : nullptr, kCtl);

    WeightHold gw(*env.gpu, w.data(), WeightType::F32, {out, in}, false);
    WeightHold gb(*env.gpu, b.data(), WeightType::F32, {out}, true);
    CHECK(gw.w.type == (mode.f16 ? WeightType::F16 : WeightType::F32));
    Dev dx(*env.gpu, x), dr(*env.gpu, r);
    Dev dy(*env.gpu, rows * out);
    if (residual_kind == 2) env.gpu->copy(dr.p, dy.p, rows * out);
    env.gpu->linear(dx.p, rows, in, gw.w, bias ? &gb.w : nullptr, dy.p, residual_kind == 1 ? dr.p : residual_kind == 2 ? dy.p : nullptr,
                    kCtl);
    char what[160];
    std::snprintf(what, sizeof what, "linear %s rows %lld in %lld out %lld%s%s", mode.name, static_cast<long long>(rows),
                  static_cast<long long>(in), static_cast<long long>(out), bias ? " +bias" : "",
                  residual_kind == 1 ? " +residual" : residual_kind == 2 ? " +residual(in place)" : "");
    compare(what, dy.get(), want, mode.atol, mode.rtol);
}

// ---- conv2d ----
void check_conv(Env & env, const GemmMode & mode, int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k,
                int64_t stride, int64_t pad, bool bias, bool residual) {
    const unsigned seed = static_cast<unsigned>(batch * 7 + cin * 131 + h * 17 + w * 5 + cout * 3 + k + stride);
    const int64_t K = cin * k * k;
    const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    std::vector<float> x = random_vec(batch * cin * h * w, seed);
    std::vector<float> wt = random_vec(cout * K, seed + 1, -1.0f / std::sqrt(static_cast<float>(K)), 1.0f / std::sqrt(static_cast<float>(K)));
    std::vector<float> b = random_vec(cout, seed + 2);
    std::vector<float> r = random_vec(batch * cout * oh * ow, seed + 3);
    std::vector<uint16_t> w16 = to_f16(wt);

    WeightHold cw(*env.cpu, mode.f16 ? static_cast<const void *>(w16.data()) : wt.data(), mode.f16 ? WeightType::F16 : WeightType::F32,
                  {cout, cin, k, k}, false);
    WeightHold cb(*env.cpu, b.data(), WeightType::F32, {cout}, true);
    std::vector<float> want(static_cast<size_t>(batch * cout * oh * ow));
    env.cpu->conv2d(x.data(), batch, cin, h, w, cw.w, bias ? &cb.w : nullptr, stride, pad, want.data(), residual ? r.data() : nullptr,
                    kCtl);

    WeightHold gw(*env.gpu, wt.data(), WeightType::F32, {cout, cin, k, k}, false);
    WeightHold gb(*env.gpu, b.data(), WeightType::F32, {cout}, true);
    Dev dx(*env.gpu, x), dr(*env.gpu, r), dy(*env.gpu, batch * cout * oh * ow);
    env.gpu->conv2d(dx.p, batch, cin, h, w, gw.w, bias ? &gb.w : nullptr, stride, pad, dy.p, residual ? dr.p : nullptr, kCtl);
    char what[200];
    std::snprintf(what, sizeof what, "conv2d %s %lldx%lldx%lldx%lld -> %lld k%lld s%lld p%lld%s%s", mode.name,
                  static_cast<long long>(batch), static_cast<long long>(cin), static_cast<long long>(h), static_cast<long long>(w),
                  static_cast<long long>(cout), static_cast<long long>(k), static_cast<long long>(stride), static_cast<long long>(pad),
                  bias ? " +bias" : "", residual ? " +residual" : "");
    compare(what, dy.get(), want, mode.atol, mode.rtol);
}

// ---- attention ----
// fused: q, k, v are column slices of one [batch * seq, 3 * heads * d] buffer (nq == nk then).
void check_attention(Env & env, int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t d, bool causal, bool fused, double atol,
                     double rtol) {
    const unsigned seed = static_cast<unsigned>(batch * 3 + heads * 5 + nq * 7 + nk * 11 + d * 13 + causal);
    const int64_t inner = heads * d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    std::vector<float> want(static_cast<size_t>(batch * nq * inner)), qkv, q, k, v;
    AttnOperand cq, ck, cv;
    if (fused) {
        qkv = random_vec(batch * nq * 3 * inner, seed, -2.0f, 2.0f);
        cq = {qkv.data(), 3 * inner};
        ck = {qkv.data() + inner, 3 * inner};
        cv = {qkv.data() + 2 * inner, 3 * inner};
    } else {
        q = random_vec(batch * nq * inner, seed, -2.0f, 2.0f);
        k = random_vec(batch * nk * inner, seed + 1, -2.0f, 2.0f);
        v = random_vec(batch * nk * inner, seed + 2);
        cq = {q.data(), inner};
        ck = {k.data(), inner};
        cv = {v.data(), inner};
    }
    env.cpu->attention(cq, ck, cv, want.data(), batch, heads, nq, nk, d, scale, causal, kCtl);

    Dev dout(*env.gpu, batch * nq * inner);
    if (fused) {
        Dev dqkv(*env.gpu, qkv);
        env.gpu->attention({dqkv.p, 3 * inner}, {dqkv.p + inner, 3 * inner}, {dqkv.p + 2 * inner, 3 * inner}, dout.p, batch, heads, nq,
                           nk, d, scale, causal, kCtl);
        env.gpu->synchronize();
    } else {
        Dev dq(*env.gpu, q), dk(*env.gpu, k), dv(*env.gpu, v);
        env.gpu->attention({dq.p, inner}, {dk.p, inner}, {dv.p, inner}, dout.p, batch, heads, nq, nk, d, scale, causal, kCtl);
        env.gpu->synchronize();
    }
    char what[200];
    std::snprintf(what, sizeof what, "attention b%lld h%lld nq %lld nk %lld d %lld%s%s", static_cast<long long>(batch),
                  static_cast<long long>(heads), static_cast<long long>(nq), static_cast<long long>(nk), static_cast<long long>(d),
                  causal ? " causal" : "", fused ? " fused-qkv strides" : "");
    compare(what, dout.get(), want, atol, rtol);
}

}  // namespace

TEST(cuda_backend_creation_and_info) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    CHECK(env.gpu->kind() == SDN_BACKEND_CUDA);
    std::printf("    %s\n", env.gpu->name().c_str());
    CHECK(env.gpu->name().find("cuda:0") == 0);
    // Out-of-range device index: nullptr with a reason, never a crash.
    std::string reason;
    CHECK(make_cuda_backend_with_options(1 << 20, *env.pool, CudaBackendOptions(), reason) == nullptr);
    CHECK(!reason.empty());
}

TEST(cuda_memory_pool_upload_download_oom) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    Backend & g = *env.gpu;
    // Round trip larger than the staging buffer (2 x 8 MiB), odd byte count.
    const size_t bytes = (size_t{37} << 20) + 13;
    std::vector<unsigned char> src(bytes), back(bytes, 0);
    std::mt19937 rng(7);
    for (auto & c : src) c = static_cast<unsigned char>(rng());
    void * d = g.alloc_memory(bytes);
    g.upload(d, src.data(), bytes);
    g.download(back.data(), d, bytes);
    CHECK(std::memcmp(src.data(), back.data(), bytes) == 0);
    // Freed blocks are reused for the same size class.
    g.free_memory(d);
    void * d2 = g.alloc_memory(bytes);
    CHECK(d2 == d);
    g.free_memory(d2);
    // Out of memory is an Error with SDN_ERR_OUT_OF_MEMORY and leaves the backend usable.
    bool threw = false;
    try {
        g.alloc_memory(size_t{1} << 50);
    } catch (const Error & e) {
        threw = true;
        CHECK(e.status() == SDN_ERR_OUT_OF_MEMORY);
        std::printf("    OOM message: %s\n", e.what());
    }
    CHECK(threw);
    std::vector<float> h = random_vec(1000, 3);
    Dev a(g, h), y(g, 1000);
    g.scale(a.p, 2.0f, y.p, 1000);
    std::vector<float> want(h);
    for (auto & v : want) v *= 2.0f;
    compare("scale after OOM", y.get(), want, 0, 0);
}

TEST(cuda_make_weight_storage_policy) {
    Env env;  // default options: f16 linear/conv weights
    if (!env.ok()) return sdn_test::skip(env.reason);
    Backend & g = *env.gpu;
    std::vector<float> w = random_vec(64 * 32, 1);
    {
        WeightHold a(g, w.data(), WeightType::F32, {64, 32}, false);
        CHECK(a.w.type == WeightType::F16);
        WeightHold b(g, w.data(), WeightType::F32, {64 * 32}, true);
        CHECK(b.w.type == WeightType::F32);
        // as_f32 weights are plain device floats (networks pass them to copy/add): check the values.
        Dev out(g, 64 * 32);
        g.copy(b.w.f32(), out.p, 64 * 32);
        compare("as_f32 weight upload", out.get(), w, 0, 0);
    }
    {
        std::vector<float> big(w);
        big[5] = 1.0e5f;  // beyond the f16 range: the tensor stays f32
        WeightHold a(g, big.data(), WeightType::F32, {64, 32}, false);
        CHECK(a.w.type == WeightType::F32);
    }
    {
        std::vector<uint16_t> bf(w.size());
        for (size_t i = 0; i < w.size(); ++i) bf[i] = f32_to_bf16(w[i]);
        WeightHold a(g, bf.data(), WeightType::BF16, {64, 32}, false);
        CHECK(a.w.type == WeightType::F16);
        WeightHold b(g, bf.data(), WeightType::BF16, {64 * 32}, true);
        CHECK(b.w.type == WeightType::F32);
        Dev out(g, 64 * 32);
        g.copy(b.w.f32(), out.p, 64 * 32);
        std::vector<float> want(w.size());
        for (size_t i = 0; i < w.size(); ++i) want[i] = bf16_to_f32(bf[i]);
        compare("bf16 -> f32 weight upload", out.get(), want, 0, 0);
    }
    CudaBackendOptions o32;
    o32.weights = CudaBackendOptions::Weights::F32;
    Env env32(o32);
    std::vector<uint16_t> h16 = to_f16(w);
    WeightHold a(*env32.gpu, w.data(), WeightType::F32, {64, 32}, false);
    CHECK(a.w.type == WeightType::F32);
    WeightHold b(*env32.gpu, h16.data(), WeightType::F16, {64, 32}, false);
    CHECK(b.w.type == WeightType::F16);  // f16 files stay f16
}

TEST(cuda_linear_matches_cpu) {
    const std::string why = cuda_unusable_reason();
    if (!why.empty()) return sdn_test::skip(why);
    for (const auto & mode : gemm_modes()) {
        Env env(mode.opts);
        // SD sizes: attention projections at 64x64 latents, GEGLU in/out, time embedding, CLIP, cross-attn k/v
        check_linear(env, mode, 2 * 4096, 320, 320, false, 0);
        check_linear(env, mode, 2 * 1024, 640, 640 * 8, true, 0);
        check_linear(env, mode, 2 * 1024, 640 * 4, 640, true, 2);
        check_linear(env, mode, 2, 320, 1280, true, 0);
        check_linear(env, mode, 2 * 77, 768, 320, false, 0);
        check_linear(env, mode, 2 * 77, 1024, 4096, true, 1);
        // awkward: tiny, odd K (scalar load paths), not multiples of the 64x64 tiles
        check_linear(env, mode, 1, 1, 1, true, 0);
        check_linear(env, mode, 3, 7, 5, true, 1);
        check_linear(env, mode, 65, 33, 70, false, 2);
        check_linear(env, mode, 130, 100, 129, true, 1);
        check_linear(env, mode, 17, 36, 3, true, 0);  // K % 4 == 0, K % 8 != 0
    }
}

TEST(cuda_conv2d_matches_cpu) {
    const std::string why = cuda_unusable_reason();
    if (!why.empty()) return sdn_test::skip(why);
    for (const auto & mode : gemm_modes()) {
        Env env(mode.opts);
        check_conv(env, mode, 2, 4, 64, 64, 320, 3, 1, 1, true, false);      // UNet conv_in
        check_conv(env, mode, 1, 320, 32, 32, 320, 3, 1, 1, true, true);    // resnet conv2 + residual
        check_conv(env, mode, 1, 320, 64, 64, 320, 3, 2, 1, true, false);   // downsample
        check_conv(env, mode, 2, 640, 16, 16, 320, 1, 1, 0, true, false);   // 1x1 shortcut
        check_conv(env, mode, 1, 3, 224, 224, 1024, 14, 14, 0, false, false);  // CLIP ViT-H patch embedding
        check_conv(env, mode, 1, 128, 65, 65, 128, 3, 2, 0, true, false);   // VAE downsample after (0,1,0,1) pad
        check_conv(env, mode, 2, 3, 7, 5, 5, 3, 1, 1, true, true);
        check_conv(env, mode, 1, 5, 9, 11, 7, 3, 2, 0, false, true);
        check_conv(env, mode, 1, 2, 6, 6, 3, 5, 1, 2, true, false);
        check_conv(env, mode, 3, 1, 1, 1, 1, 1, 1, 0, true, true);
    }
}

// Attention in both kernels: the f32 flash kernel (tol 2e-5 + 1e-4 |ref|) and, in the default f16 mode,
// the tensor-core kernel for head dims that are multiples of 8 up to 256 (q/k/v rounded to f16: with
// inputs in [-1, 1] the output error is a few 1e-3, tol 5e-3 + 5e-3 |ref|; the f32 kernel still runs the
// others, e.g. head dim 512). native/tests/test_cuda_attention_mma.cpp tests the tensor-core kernel alone.
TEST(cuda_attention_matches_cpu) {
    const std::string why = cuda_unusable_reason();
    if (!why.empty()) return sdn_test::skip(why);
    struct Mode {
        cuda::AttentionPath path;
        double atol, rtol;
    };
    for (const Mode m : {Mode {cuda::AttentionPath::F32, 2e-5, 1e-4}, Mode {cuda::AttentionPath::Auto, 5e-3, 5e-3}}) {
        CudaBackendOptions o;
        o.attention = m.path;
        Env env(o);
        check_attention(env, 2, 8, 1024, 1024, 40, false, false, m.atol, m.rtol);  // SD1 self-attention (32x32 latents)
        check_attention(env, 2, 8, 4096, 77, 40, false, false, m.atol, m.rtol);  // SD1 cross-attention at 64x64
        check_attention(env, 2, 8, 256, 77, 80, false, false, m.atol, m.rtol);
        check_attention(env, 2, 8, 64, 77, 160, false, false, m.atol, m.rtol);
        check_attention(env, 2, 5, 1024, 1024, 64, false, false, m.atol, m.rtol);  // SD2 head_dim 64
        check_attention(env, 2, 12, 77, 77, 64, true, false, m.atol, m.rtol);  // CLIP text (causal)
        check_attention(env, 1, 16, 257, 257, 80, false, false, m.atol, m.rtol);  // CLIP ViT-H vision tokens
        check_attention(env, 1, 1, 1024, 1024, 512, false, false, m.atol, m.rtol);  // VAE mid-block (single head, 512 channels)
        check_attention(env, 1, 2, 5, 1, 64, false, false, m.atol, m.rtol);  // one key
        check_attention(env, 1, 2, 5, 9, 16, true, false, m.atol, m.rtol);  // causal, nk > nq
        check_attention(env, 1, 2, 9, 5, 16, true, false, m.atol, m.rtol);  // causal, nk < nq: first rows see nothing (0)
        check_attention(env, 2, 3, 33, 33, 24, false, true, m.atol, m.rtol);  // fused q/k/v row strides
        check_attention(env, 1, 2, 100, 100, 200, true, true, m.atol, m.rtol);
        check_attention(env, 1, 1, 1, 1, 1, false, false, m.atol, m.rtol);
        check_attention(env, 1, 3, 70, 45, 33, false, false, m.atol, m.rtol);
    }
}

TEST(cuda_norms_match_cpu) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    struct G { int64_t b, c, hw, g; bool silu, inplace; };
    const G gs[] = {{2, 320, 4096, 32, true, false}, {2, 1280, 64, 32, false, false}, {1, 128, 256 * 256, 32, true, true},
                    {2, 6, 7, 3, false, false},      {1, 4, 1, 2, true, false},       {3, 64, 1000, 32, false, true}};
    for (const auto & t : gs) {
        const int64_t n = t.b * t.c * t.hw;
        std::vector<float> x = random_vec(n, static_cast<unsigned>(n + t.c), -3.0f, 5.0f);
        std::vector<float> gamma = random_vec(t.c, 5, 0.5f, 1.5f), beta = random_vec(t.c, 6);
        WeightHold cg(*env.cpu, gamma.data(), WeightType::F32, {t.c}, true), cb(*env.cpu, beta.data(), WeightType::F32, {t.c}, true);
        WeightHold gg(*env.gpu, gamma.data(), WeightType::F32, {t.c}, true), gb(*env.gpu, beta.data(), WeightType::F32, {t.c}, true);
        std::vector<float> want(x.size());
        env.cpu->group_norm(x.data(), want.data(), t.b, t.c, t.hw, t.g, cg.w, cb.w, 1e-5f, t.silu, kCtl);
        Dev dx(*env.gpu, x), dy(*env.gpu, n);
        env.gpu->group_norm(dx.p, t.inplace ? dx.p : dy.p, t.b, t.c, t.hw, t.g, gg.w, gb.w, 1e-5f, t.silu, kCtl);
        char what[160];
        std::snprintf(what, sizeof what, "group_norm b%lld c%lld hw %lld g%lld%s%s", static_cast<long long>(t.b),
                      static_cast<long long>(t.c), static_cast<long long>(t.hw), static_cast<long long>(t.g), t.silu ? " +silu" : "",
                      t.inplace ? " in place" : "");
        compare(what, t.inplace ? dx.get() : dy.get(), want, 1e-4, 1e-4);
    }
    struct L { int64_t rows, dim; bool inplace; };
    const L ls[] = {{2 * 4096, 320, false}, {2 * 77, 768, true}, {257, 1280, false}, {3, 1, false}, {5, 1025, true}};
    for (const auto & t : ls) {
        std::vector<float> x = random_vec(t.rows * t.dim, static_cast<unsigned>(t.rows + t.dim), -3.0f, 5.0f);
        std::vector<float> gamma = random_vec(t.dim, 7, 0.5f, 1.5f), beta = random_vec(t.dim, 8);
        WeightHold cg(*env.cpu, gamma.data(), WeightType::F32, {t.dim}, true), cb(*env.cpu, beta.data(), WeightType::F32, {t.dim}, true);
        WeightHold gg(*env.gpu, gamma.data(), WeightType::F32, {t.dim}, true), gb(*env.gpu, beta.data(), WeightType::F32, {t.dim}, true);
        std::vector<float> want(x.size());
        env.cpu->layer_norm(x.data(), want.data(), t.rows, t.dim, cg.w, cb.w, 1e-5f);
        Dev dx(*env.gpu, x), dy(*env.gpu, t.rows * t.dim);
        env.gpu->layer_norm(dx.p, t.inplace ? dx.p : dy.p, t.rows, t.dim, gg.w, gb.w, 1e-5f);
        char what[160];
        std::snprintf(what, sizeof what, "layer_norm rows %lld dim %lld%s", static_cast<long long>(t.rows), static_cast<long long>(t.dim),
                      t.inplace ? " in place" : "");
        // dim 1: the output is exactly beta (x - mean = 0)
        compare(what, t.inplace ? dx.get() : dy.get(), want, 1e-4, 1e-4);
    }
}

TEST(cuda_pointwise_ops_match_cpu) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    Backend & c = *env.cpu;
    Backend & g = *env.gpu;
    for (int64_t n : {int64_t{1}, int64_t{3}, int64_t{1000003}}) {
        std::vector<float> x = random_vec(n, static_cast<unsigned>(n), -8.0f, 8.0f), b = random_vec(n, 99);
        for (Act act : {Act::Identity, Act::Silu, Act::Gelu, Act::QuickGelu}) {
            std::vector<float> want(x.size());
            c.activation(act, x.data(), want.data(), n);
            Dev dx(g, x), dy(g, n);
            g.activation(act, dx.p, dy.p, n);
            g.activation(act, dx.p, dx.p, n);  // in place
            const char * names[] = {"identity", "silu", "gelu", "quick_gelu"};
            compare(std::string("activation ") + names[static_cast<int>(act)] + " n " + std::to_string(n), dy.get(), want, 2e-6, 2e-5);
            compare(std::string("activation ") + names[static_cast<int>(act)] + " in place n " + std::to_string(n), dx.get(), want, 2e-6,
                    2e-5);
        }
        {
            std::vector<float> want(x.size());
            c.add(x.data(), b.data(), want.data(), n);
            Dev dx(g, x), db(g, b), dy(g, n);
            g.add(dx.p, db.p, dy.p, n);
            g.add(dx.p, db.p, dx.p, n);
            compare("add n " + std::to_string(n), dy.get(), want, 0, 0);
            compare("add in place n " + std::to_string(n), dx.get(), want, 0, 0);
        }
        {
            std::vector<float> want(x.size());
            c.scale(x.data(), 0.18215f, want.data(), n);
            Dev dx(g, x), dy(g, n);
            g.scale(dx.p, 0.18215f, dy.p, n);
            compare("scale n " + std::to_string(n), dy.get(), want, 0, 0);
        }
        {
            Dev dx(g, x), dy(g, n);
            g.copy(dx.p, dy.p, n);
            compare("copy n " + std::to_string(n), dy.get(), x, 0, 0);
        }
    }
    // overlapping copy (memmove semantics)
    {
        std::vector<float> x = random_vec(1000, 4);
        std::vector<float> want(x);
        std::memmove(want.data() + 10, want.data(), 900 * sizeof(float));
        Dev dx(g, x);
        g.copy(dx.p, dx.p + 10, 900);
        compare("copy overlapping", dx.get(), want, 0, 0);
    }
    struct GG { int64_t rows, dim; };
    for (const auto & t : {GG{4096, 1280}, GG{3, 5}, GG{1, 1}}) {
        std::vector<float> x = random_vec(t.rows * 2 * t.dim, static_cast<unsigned>(t.rows + t.dim), -6.0f, 6.0f);
        std::vector<float> want(static_cast<size_t>(t.rows * t.dim));
        c.geglu(x.data(), want.data(), t.rows, t.dim);
        Dev dx(g, x), dy(g, t.rows * t.dim);
        g.geglu(dx.p, dy.p, t.rows, t.dim);
        compare("geglu rows " + std::to_string(t.rows) + " dim " + std::to_string(t.dim), dy.get(), want, 2e-6, 2e-5);
    }
    struct CB { int64_t b, c, inner; };
    for (const auto & t : {CB{2, 320, 4096}, CB{3, 7, 5}, CB{1, 1, 1}}) {
        std::vector<float> x = random_vec(t.b * t.c * t.inner, 11), bias = random_vec(t.b * t.c, 12);
        std::vector<float> want(x.size());
        c.add_channel_bias(x.data(), bias.data(), want.data(), t.b, t.c, t.inner);
        Dev dx(g, x), db(g, bias);
        g.add_channel_bias(dx.p, db.p, dx.p, t.b, t.c, t.inner);  // in place, as ResnetBlock uses it
        compare("add_channel_bias " + std::to_string(t.b) + "x" + std::to_string(t.c) + "x" + std::to_string(t.inner), dx.get(), want, 0, 0);
    }
}

TEST(cuda_layout_ops_match_cpu) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    Backend & c = *env.cpu;
    Backend & g = *env.gpu;
    struct R { int64_t planes, h, w, oh, ow; };
    for (const auto & t : {R{2 * 1280, 8, 8, 16, 16}, R{8, 32, 32, 64, 64}, R{3, 7, 5, 13, 11}, R{3, 10, 10, 4, 3}, R{1, 1, 1, 3, 2},
                           R{2, 96, 96, 97, 95}}) {
        std::vector<float> x = random_vec(t.planes * t.h * t.w, 21);
        std::vector<float> want(static_cast<size_t>(t.planes * t.oh * t.ow));
        c.resize_nearest(x.data(), want.data(), t.planes, t.h, t.w, t.oh, t.ow);
        Dev dx(g, x), dy(g, t.planes * t.oh * t.ow);
        g.resize_nearest(dx.p, dy.p, t.planes, t.h, t.w, t.oh, t.ow);
        compare("resize_nearest " + std::to_string(t.h) + "x" + std::to_string(t.w) + " -> " + std::to_string(t.oh) + "x" +
                    std::to_string(t.ow),
                dy.get(), want, 0, 0);
    }
    struct T { int64_t b, c, hw; };
    for (const auto & t : {T{2, 320, 4096}, T{1, 7, 13}, T{3, 33, 65}, T{1, 1, 1}}) {
        std::vector<float> x = random_vec(t.b * t.c * t.hw, 22);
        std::vector<float> w1(x.size()), w2(x.size());
        c.nchw_to_nhwc(x.data(), w1.data(), t.b, t.c, t.hw);
        c.nhwc_to_nchw(x.data(), w2.data(), t.b, t.c, t.hw);
        Dev dx(g, x), d1(g, static_cast<int64_t>(x.size())), d2(g, static_cast<int64_t>(x.size()));
        g.nchw_to_nhwc(dx.p, d1.p, t.b, t.c, t.hw);
        g.nhwc_to_nchw(dx.p, d2.p, t.b, t.c, t.hw);
        const std::string sz = std::to_string(t.b) + "x" + std::to_string(t.c) + "x" + std::to_string(t.hw);
        compare("nchw_to_nhwc " + sz, d1.get(), w1, 0, 0);
        compare("nhwc_to_nchw " + sz, d2.get(), w2, 0, 0);
    }
    struct C { int64_t b, ca, cb, hw; };
    for (const auto & t : {C{2, 1280, 640, 256}, C{1, 3, 5, 7}, C{3, 4, 1, 9}}) {
        std::vector<float> a = random_vec(t.b * t.ca * t.hw, 23), bb = random_vec(t.b * t.cb * t.hw, 24);
        std::vector<float> want(static_cast<size_t>(t.b * (t.ca + t.cb) * t.hw));
        c.concat_channels(a.data(), t.ca, bb.data(), t.cb, want.data(), t.b, t.hw);
        Dev da(g, a), db(g, bb), dy(g, t.b * (t.ca + t.cb) * t.hw);
        g.concat_channels(da.p, t.ca, db.p, t.cb, dy.p, t.b, t.hw);
        compare("concat_channels " + std::to_string(t.ca) + "+" + std::to_string(t.cb), dy.get(), want, 0, 0);
    }
    struct P { int64_t planes, h, w, top, left, bottom, right; };
    for (const auto & t : {P{2 * 128, 64, 64, 0, 0, 1, 1}, P{2, 3, 4, 1, 2, 3, 4}, P{1, 1, 1, 0, 0, 0, 0}}) {
        std::vector<float> x = random_vec(t.planes * t.h * t.w, 25);
        const int64_t oh = t.h + t.top + t.bottom, ow = t.w + t.left + t.right;
        std::vector<float> want(static_cast<size_t>(t.planes * oh * ow));
        c.pad2d(x.data(), want.data(), t.planes, t.h, t.w, t.top, t.left, t.bottom, t.right);
        Dev dx(g, x), dy(g, t.planes * oh * ow);
        g.pad2d(dx.p, dy.p, t.planes, t.h, t.w, t.top, t.left, t.bottom, t.right);
        compare("pad2d " + std::to_string(t.h) + "x" + std::to_string(t.w), dy.get(), want, 0, 0);
    }
}

TEST(cuda_embeddings_match_cpu) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    Backend & c = *env.cpu;
    Backend & g = *env.gpu;
    const int64_t rows = 1000, dim = 768;
    std::vector<float> table = random_vec(rows * dim, 31);
    std::vector<uint16_t> t16 = to_f16(table);
    std::vector<int32_t> ids = {0, 999, 5, 5, 123, 77, 998, 1};
    const int64_t n = static_cast<int64_t>(ids.size());
    struct Case { const char * name; const void * data; WeightType type; bool as_f32; };
    const Case cases[] = {{"f32 table", table.data(), WeightType::F32, true},
                          {"f16 table", t16.data(), WeightType::F16, false},
                          {"f32 table stored f16", table.data(), WeightType::F32, false}};
    for (const auto & cs : cases) {
        WeightHold ct(c, cs.data, cs.type, {rows, dim}, cs.as_f32), gt(g, cs.data, cs.type, {rows, dim}, cs.as_f32);
        std::vector<float> want(static_cast<size_t>(n * dim));
        c.embedding(ids.data(), n, ct.w, want.data());
        if (gt.w.type != ct.w.type) {
            // the CUDA backend rounded an f32 table to f16: the reference is the rounded table
            for (int64_t i = 0; i < n; ++i)
                for (int64_t j = 0; j < dim; ++j) want[i * dim + j] = f16_to_f32(f32_to_f16(table[ids[i] * dim + j]));
        }
        Dev dy(g, n * dim);
        g.embedding(ids.data(), n, gt.w, dy.p);
        compare(std::string("embedding ") + cs.name, dy.get(), want, 0, 0);
        // out-of-range ids are refused like on the CPU
        const int32_t bad[] = {3, static_cast<int32_t>(rows)};
        bool threw = false;
        try {
            g.embedding(bad, 2, gt.w, dy.p);
        } catch (const Error & e) {
            threw = e.status() == SDN_ERR_INVALID_ARGUMENT;
        }
        CHECK(threw);
    }
    struct TE { int64_t n, dim; bool flip; float shift; };
    const float ts[] = {0.0f, 999.0f, 500.0f, 945.7f};
    for (const auto & t : {TE{4, 320, true, 0.0f}, TE{2, 1280, false, 1.0f}, TE{3, 33, true, 1.0f}}) {
        std::vector<float> want(static_cast<size_t>(t.n * t.dim));
        c.timestep_embedding(ts, t.n, t.dim, t.flip, t.shift, want.data());
        Dev dy(g, t.n * t.dim);
        g.timestep_embedding(ts, t.n, t.dim, t.flip, t.shift, dy.p);
        compare("timestep_embedding n " + std::to_string(t.n) + " dim " + std::to_string(t.dim), dy.get(), want, 0, 0);
    }
}

TEST(cuda_gemm_f32_host_api_matches_cpu) {
    Env env;
    if (!env.ok()) return sdn_test::skip(env.reason);
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) {
            const int64_t m = 70, n = 33, k = 129;
            std::vector<float> a = random_vec(m * k, 41), b = random_vec(k * n, 42), c0 = random_vec(m * n, 43);
            GemmF32Args g;
            g.trans_a = ta;
            g.trans_b = tb;
            g.m = m;
            g.n = n;
            g.k = k;
            g.alpha = 0.5f;
            g.beta = 2.0f;
            g.a = a.data();
            g.lda = ta ? m : k;
            g.b = b.data();
            g.ldb = tb ? k : n;
            std::vector<float> want(c0), got(c0);
            g.c = want.data();
            g.ldc = n;
            env.cpu->gemm_f32(g, kCtl);
            g.c = got.data();
            env.gpu->gemm_f32(g, kCtl);
            compare("gemm_f32 host API ta " + std::to_string(ta) + " tb " + std::to_string(tb), got, want, 1e-4, 1e-4);
        }
}
