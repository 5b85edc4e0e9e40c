// The tensor-core flash-attention kernel (cuda/kernels/attention_mma.cu) against double-precision CPU
// references and against the f32 SIMT kernel (launch_attention), called directly on device buffers.
//
// Inputs are uniform in [-1, 1] (q optionally scaled x8 to sharpen the softmax), so max|v| = 1 and the
// outputs are convex combinations of v rows (|out| <= 1). Checks, |got - want| <= atol + rtol |want|:
//
//   exact reference    double precision on the f32 inputs             4e-3 + 4e-3 |want|
//   f32 SIMT kernel    launch_attention on the same device buffers     4e-3 + 4e-3 |want|
//     The kernel rounds q, k, v to f16 (unit roundoff u = 2^-11 = 4.9e-4). Rounding v moves an output by
//     at most u max|v|; rounding q and k moves the scores by ~u |scale q.k| terms that average out, which
//     changes the softmax weights by a relative ~1e-4 (O(1) scores) to ~1e-3 (x8 scores). A host emulation
//     of the kernel's arithmetic on these cases gave max errors of 3.5e-4 (O(1) inputs) and 1.3e-3
//     (x8 stress), i.e. <= 0.33 of this bound; indexing / masking / layout bugs give errors of 1e-2 .. 1.
//   f16-input reference  double precision on q, k, v rounded to f16  4e-4 + 1e-3 |want|
//     Isolates the kernel from the input rounding. What remains is the f16 rounding of the softmax weights
//     P for the P V product (relative u per weight; the output error sum_j w_j e_j (v_j - out) stays well
//     below u max|v|) and f32 accumulation. The same emulation gave at most 1.6e-4 (0.34 of this bound).
//     The reference cannot replay the P rounding exactly: it depends on the running max at each key tile.
//
// Every case also checks: the output buffer, poisoned with NaN beforehand, is fully written with finite
// values (rows of a causal mask that see no key are exactly 0), a guard region after it is untouched, and
// row padding of the operands (filled with NaN) is never read. Long sequences check a sample of query
// rows per (batch, head) against the CPU references and every row against the f32 kernel.
//
// Everything that launches a kernel skips (sdn_test::skip, with the reason) when no usable CUDA device
// is present; the head-dim support / rejection test needs no device.
#include "test_framework.h"

#if defined(SDN_WITH_CUDA)

#include "core/half.h"
#include "cuda/cuda_runtime_info.h"
#include "cuda/kernels/attention.cuh"
#include "cuda/kernels/attention_mma.cuh"
#include "cuda/kernels/elementwise.cuh"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using sdn::cuda::AttentionLaunch;

constexpr double kLooseAtol = 4e-3, kLooseRtol = 4e-3;  // vs exact reference and vs the f32 kernel
constexpr double kTightAtol = 4e-4, kTightRtol = 1e-3;  // vs the reference on f16-rounded q, k, v
constexpr int64_t kGuard = 64;                         // floats after the output that must stay untouched

// Empty when the kernel can run here, otherwise why not (cached: the probe runs once).
const std::string & device_skip_reason() {
    static const std::string reason = []() -> std::string {
        const sdn::cuda::RuntimeInfo info = sdn::cuda::query_runtime();
        if (!info.unavailable_reason.empty()) return info.unavailable_reason;
        int dev = 0;
        if (cudaGetDevice(&dev) != cudaSuccess) {
            cudaGetLastError();
            return "cudaGetDevice failed";
        }
        for (const auto & di : info.devices) {
            if (di.index == dev && di.cc_major < 7)
                return "device " + di.name + " has compute capability " + std::to_string(di.cc_major) + "." +
                       std::to_string(di.cc_minor) + " (WMMA tensor cores need 7.0+)";
        }
        const cudaError_t e = sdn::cuda::probe_kernel_image();
        if (e != cudaSuccess) {
            cudaGetLastError();
            return std::string("no kernel image for this device in the binary (built for ") + info.architectures + "): " +
                   cudaGetErrorName(e);
        }
        return "";
    }();
    return reason;
}

#define REQUIRE_CUDA_DEVICE()                                         \
    do {                                                              \
        const std::string & sdn_why_ = device_skip_reason();          \
        if (!sdn_why_.empty()) return sdn_test::skip(sdn_why_);       \
    } while (0)

bool cuda_ok(cudaError_t e, const char * what) {
    if (e == cudaSuccess) return true;
    CHECK_MSG(false, std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
    return false;
}

// Device allocation of n floats (freed on scope exit).
struct DevBuf {
    float * p = nullptr;
    size_t n = 0;
    explicit DevBuf(size_t count) : n(count) {
        if (!cuda_ok(cudaMalloc(reinterpret_cast<void **>(&p), std::max<size_t>(n, 1) * sizeof(float)), "cudaMalloc")) p = nullptr;
    }
    ~DevBuf() {
        if (p != nullptr) cudaFree(p);
    }
    DevBuf(const DevBuf &) = delete;
    DevBuf & operator=(const DevBuf &) = delete;
    bool upload(const std::vector<float> & h) {
        return p != nullptr && cuda_ok(cudaMemcpy(p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice), "upload");
    }
    bool poison() { return p != nullptr && cuda_ok(cudaMemset(p, 0xff, n * sizeof(float)), "cudaMemset"); }  // 0xffffffff: NaN
    std::vector<float> download() const {
        std::vector<float> h(n);
        if (p != nullptr) cuda_ok(cudaMemcpy(h.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost), "download");
        return h;
    }
};

struct Stream {
    cudaStream_t s = nullptr;
    Stream() { cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate"); }
    ~Stream() {
        if (s != nullptr) cudaStreamDestroy(s);
    }
};

// How q, k, v sit in memory.
struct Layout {
    bool fused = false;  // column slices of one [batch * n, 3 * inner] buffer (q | k | v), nq == nk
    int64_t pad = 0;     // extra (NaN) elements at the end of every row: stride = inner (x3 fused) + pad
    int64_t offset = 0;  // elements before row 0 of every buffer (not a multiple of 4: misaligned base)
};

struct Spec {
    const char * label = "";
    int64_t batch = 1, heads = 1, nq = 1, nk = 1, d = 64;
    bool causal = false;
    Layout layout;
    float q_mul = 1.0f;    // q scaled after drawing (x8: sharp softmax)
    int64_t rows = -1;     // query rows per (batch, head) checked against the CPU references; -1: all
    bool twice = false;    // launch a second time and require bitwise identical output
};

// One operand in host memory (and its f16-rounded copy, same layout).
struct HostOperand {
    const std::vector<float> * buf = nullptr;
    const std::vector<float> * buf16 = nullptr;
    int64_t base = 0;    // element index of (row 0, head 0, column 0)
    int64_t stride = 0;  // elements between rows
    int64_t n = 0;       // rows per batch
    const float * row(bool rounded, int64_t b, int64_t i, int64_t h, int64_t d) const {
        const std::vector<float> & v = rounded ? *buf16 : *buf;
        return v.data() + base + (b * n + i) * stride + h * d;
    }
};

std::vector<float> rounded_f16(const std::vector<float> & v) {
    std::vector<float> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = std::isnan(v[i]) ? v[i] : sdn::f16_to_f32(sdn::f32_to_f16(v[i]));
    return o;
}

// out[0..d) = softmax(scale q k^T) v for query row i of (b, h), in double; zeros when the row sees no key.
void reference_row(const HostOperand & q, const HostOperand & k, const HostOperand & v, const Spec & s, float scale, bool rounded,
                   int64_t b, int64_t h, int64_t i, std::vector<double> & out, std::vector<double> & scores) {
    const int64_t d = s.d;
    int64_t lim = s.nk;
    if (s.causal) lim = std::min<int64_t>(s.nk, i + (s.nk - s.nq) + 1);
    std::fill(out.begin(), out.end(), 0.0);
    if (lim <= 0) return;
    const float * qr = q.row(rounded, b, i, h, d);
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < lim; ++j) {
        const float * kr = k.row(rounded, b, j, h, d);
        double acc = 0.0;
        for (int64_t c = 0; c < d; ++c) acc += static_cast<double>(qr[c]) * kr[c];
        scores[static_cast<size_t>(j)] = acc * scale;
        mx = std::max(mx, scores[static_cast<size_t>(j)]);
    }
    double l = 0.0;
    for (int64_t j = 0; j < lim; ++j) {
        const double p = std::exp(scores[static_cast<size_t>(j)] - mx);
        l += p;
        const float * vr = v.row(rounded, b, j, h, d);
        for (int64_t c = 0; c < d; ++c) out[static_cast<size_t>(c)] += p * vr[c];
    }
    for (auto & x : out) x /= l;
}

// Accumulates worst |got - want| and worst ratio to the tolerance; records the first failure.
struct Compare {
    std::string what;
    double atol, rtol;
    double worst = 0.0, worst_ratio = 0.0;
    size_t bad = 0, count = 0;
    std::string first;
    Compare(std::string w, double a, double r) : what(std::move(w)), atol(a), rtol(r) {}
    void add(double got, double want, const char * where_fmt, long long r, long long c) {
        ++count;
        const double diff = std::fabs(got - want);
        const double lim = atol + rtol * std::fabs(want);
        if (!(diff <= worst)) worst = diff;
        if (!(diff / lim <= worst_ratio)) worst_ratio = diff / lim;
        if (!(diff <= lim) && bad++ == 0) {
            char buf[200];
            std::snprintf(buf, sizeof buf, where_fmt, r, c);
            char msg[320];
            std::snprintf(msg, sizeof msg, "%s: got %.9g want %.9g", buf, got, want);
            first = msg;
        }
    }
    void report(const std::string & label) {
        std::printf("    %-58s %-16s max|diff| %.3g (%.2f of tol)\n", label.c_str(), what.c_str(), worst, worst_ratio);
        if (bad > 0) {
            CHECK_MSG(false, label + " [" + what + "]: " + std::to_string(bad) + " of " + std::to_string(count) +
                                 " outside tolerance, first " + first);
        }
    }
};

void run_case(const Spec & s) {
    const int64_t inner = s.heads * s.d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.d));
    char label[200];
    std::snprintf(label, sizeof label, "%s b%lld h%lld nq %lld nk %lld d %lld%s%s%s%s", s.label, static_cast<long long>(s.batch),
                  static_cast<long long>(s.heads), static_cast<long long>(s.nq), static_cast<long long>(s.nk), static_cast<long long>(s.d),
                  s.causal ? " causal" : "", s.layout.fused ? " fused" : "", s.layout.pad != 0 ? " padded-stride" : "",
                  s.layout.offset % 4 != 0 ? " misaligned" : "");
    if (s.layout.fused && s.nq != s.nk) {
        CHECK_MSG(false, std::string(label) + ": fused layout needs nq == nk");
        return;
    }

    // ---- host operands: NaN everywhere, then the valid elements drawn in [-1, 1]
    const unsigned seed = static_cast<unsigned>(s.batch * 3 + s.heads * 5 + s.nq * 7 + s.nk * 11 + s.d * 13 + (s.causal ? 1 : 0) +
                                                s.layout.pad * 17 + s.layout.offset * 19 + static_cast<int64_t>(s.q_mul * 23));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    auto fill = [&](std::vector<float> & buf, int64_t base, int64_t stride, int64_t rows, float mul) {
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < inner; ++c) buf[static_cast<size_t>(base + r * stride + c)] = dist(rng) * mul;
    };
    std::vector<float> qbuf, kbuf, vbuf;  // fused: everything in qbuf
    HostOperand hq, hk, hv;
    if (s.layout.fused) {
        const int64_t stride = 3 * inner + s.layout.pad;
        qbuf.assign(static_cast<size_t>(s.layout.offset + s.batch * s.nq * stride), nan);
        for (int64_t r = 0; r < s.batch * s.nq; ++r)
            for (int64_t c = 0; c < 3 * inner; ++c)
                qbuf[static_cast<size_t>(s.layout.offset + r * stride + c)] = dist(rng) * (c < inner ? s.q_mul : 1.0f);
        hq = {&qbuf, nullptr, s.layout.offset, stride, s.nq};
        hk = {&qbuf, nullptr, s.layout.offset + inner, stride, s.nk};
        hv = {&qbuf, nullptr, s.layout.offset + 2 * inner, stride, s.nk};
    } else {
        const int64_t stride = inner + s.layout.pad;
        qbuf.assign(static_cast<size_t>(s.layout.offset + s.batch * s.nq * stride), nan);
        kbuf.assign(static_cast<size_t>(s.layout.offset + s.batch * s.nk * stride), nan);
        vbuf.assign(static_cast<size_t>(s.layout.offset + s.batch * s.nk * stride), nan);
        fill(qbuf, s.layout.offset, stride, s.batch * s.nq, s.q_mul);
        fill(kbuf, s.layout.offset, stride, s.batch * s.nk, 1.0f);
        fill(vbuf, s.layout.offset, stride, s.batch * s.nk, 1.0f);
        hq = {&qbuf, nullptr, s.layout.offset, stride, s.nq};
        hk = {&kbuf, nullptr, s.layout.offset, stride, s.nk};
        hv = {&vbuf, nullptr, s.layout.offset, stride, s.nk};
    }
    const std::vector<float> q16 = rounded_f16(qbuf), k16 = rounded_f16(kbuf), v16 = rounded_f16(vbuf);
    hq.buf16 = &q16;
    hk.buf16 = s.layout.fused ? &q16 : &k16;
    hv.buf16 = s.layout.fused ? &q16 : &v16;

    // ---- device operands and outputs
    DevBuf dq(qbuf.size()), dk(kbuf.size()), dv(vbuf.size());
    if (!dq.upload(qbuf)) return;
    if (!s.layout.fused && (!dk.upload(kbuf) || !dv.upload(vbuf))) return;
    const int64_t n_out = s.batch * s.nq * inner;
    DevBuf dout(static_cast<size_t>(n_out + kGuard)), dref(static_cast<size_t>(n_out + kGuard));
    if (!dout.poison() || !dref.poison()) return;

    AttentionLaunch a;
    a.q = dq.p + hq.base;
    a.k = (s.layout.fused ? dq.p : dk.p) + hk.base;
    a.v = (s.layout.fused ? dq.p : dv.p) + hv.base;
    a.q_stride = hq.stride;
    a.k_stride = hk.stride;
    a.v_stride = hv.stride;
    a.batch = s.batch;
    a.heads = s.heads;
    a.nq = s.nq;
    a.nk = s.nk;
    a.head_dim = s.d;
    a.scale = scale;
    a.causal = s.causal;

    Stream stream;
    a.out = dout.p;
    if (!cuda_ok(sdn::cuda::launch_attention_mma(a, stream.s), "launch_attention_mma")) return;
    a.out = dref.p;
    if (!cuda_ok(sdn::cuda::launch_attention(a, stream.s), "launch_attention (f32)")) return;
    if (!cuda_ok(cudaStreamSynchronize(stream.s), "kernel execution")) return;
    const std::vector<float> got = dout.download(), simt = dref.download();

    if (s.twice) {
        a.out = dout.p;
        if (!dout.poison() || !cuda_ok(sdn::cuda::launch_attention_mma(a, stream.s), "second launch") ||
            !cuda_ok(cudaStreamSynchronize(stream.s), "second execution"))
            return;
        const std::vector<float> again = dout.download();
        CHECK_MSG(std::memcmp(again.data(), got.data(), got.size() * sizeof(float)) == 0,
                  std::string(label) + ": a second launch gave different bits");
    }

    // ---- every output written (finite), nothing written past the end
    size_t non_finite = 0, first_nf = 0;
    for (int64_t i = 0; i < n_out; ++i) {
        if (!std::isfinite(got[static_cast<size_t>(i)]) && non_finite++ == 0) first_nf = static_cast<size_t>(i);
    }
    CHECK_MSG(non_finite == 0, std::string(label) + ": " + std::to_string(non_finite) + " outputs not written or not finite, first at " +
                                   std::to_string(first_nf));
    bool guard_ok = true;
    for (int64_t i = n_out; i < n_out + kGuard; ++i) {
        uint32_t bits;
        std::memcpy(&bits, &got[static_cast<size_t>(i)], 4);
        guard_ok = guard_ok && bits == 0xffffffffu;
    }
    CHECK_MSG(guard_ok, std::string(label) + ": wrote past the end of the output");

    // ---- every row against the f32 SIMT kernel
    Compare vs_simt("vs f32 kernel", kLooseAtol, kLooseRtol);
    for (int64_t i = 0; i < n_out; ++i) {
        const int64_t row = i / inner, col = i % inner;
        vs_simt.add(got[static_cast<size_t>(i)], simt[static_cast<size_t>(i)], "row %lld col %lld", row, col);
    }

    // ---- sampled (or all) rows against the CPU references
    std::vector<int64_t> rows;
    if (s.rows < 0 || s.rows >= s.nq) {
        for (int64_t i = 0; i < s.nq; ++i) rows.push_back(i);
    } else {
        rows.push_back(0);
        rows.push_back(s.nq - 1);
        std::uniform_int_distribution<int64_t> pick(0, s.nq - 1);
        while (static_cast<int64_t>(rows.size()) < s.rows) rows.push_back(pick(rng));
    }
    Compare vs_exact("vs exact", kLooseAtol, kLooseRtol), vs_f16("vs f16-input", kTightAtol, kTightRtol);
    std::vector<double> ref(static_cast<size_t>(s.d)), ref16(static_cast<size_t>(s.d)), scores(static_cast<size_t>(std::max<int64_t>(s.nk, 1)));
    for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t h = 0; h < s.heads; ++h)
            for (const int64_t i : rows) {
                reference_row(hq, hk, hv, s, scale, false, b, h, i, ref, scores);
                reference_row(hq, hk, hv, s, scale, true, b, h, i, ref16, scores);
                const float * o = got.data() + (b * s.nq + i) * inner + h * s.d;
                for (int64_t c = 0; c < s.d; ++c) {
                    vs_exact.add(o[c], ref[static_cast<size_t>(c)], "query row %lld col %lld", b * s.nq + i, h * s.d + c);
                    vs_f16.add(o[c], ref16[static_cast<size_t>(c)], "query row %lld col %lld", b * s.nq + i, h * s.d + c);
                }
            }
    vs_simt.report(label);
    vs_exact.report(label);
    vs_f16.report(label);
}

Spec spec(const char * label, int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t d, bool causal = false) {
    Spec s;
    s.label = label;
    s.batch = batch;
    s.heads = heads;
    s.nq = nq;
    s.nk = nk;
    s.d = d;
    s.causal = causal;
    return s;
}

Spec sampled(Spec s, int64_t rows) {
    s.rows = rows;
    return s;
}

Spec stressed(Spec s) {
    s.q_mul = 8.0f;
    return s;
}

Spec with_layout(Spec s, bool fused, int64_t pad, int64_t offset) {
    s.layout.fused = fused;
    s.layout.pad = pad;
    s.layout.offset = offset;
    return s;
}

}  // namespace

TEST(cuda_attention_mma_head_dim_support) {
    // Pure host logic: no device needed (an unsupported head dim is rejected before any CUDA call).
    for (int64_t d = -8; d <= 300; ++d) {
        const bool want = d >= 8 && d <= 256 && d % 8 == 0;
        CHECK_MSG(sdn::cuda::attention_mma_supported(d) == want, "attention_mma_supported(" + std::to_string(d) + ")");
    }
    AttentionLaunch a;  // null pointers: must not be touched
    a.batch = 1;
    a.heads = 1;
    a.nq = 4;
    a.nk = 4;
    for (const int64_t d : {0, 1, 4, 12, 20, 33, 100, 257, 264, 512}) {
        a.head_dim = d;
        CHECK_MSG(sdn::cuda::launch_attention_mma(a, nullptr) == cudaErrorInvalidValue,
                  "launch_attention_mma must reject head_dim " + std::to_string(d));
    }
    // Empty problems launch nothing (and so succeed without a device).
    a.head_dim = 64;
    a.nq = 0;
    CHECK(sdn::cuda::launch_attention_mma(a, nullptr) == cudaSuccess);
}

TEST(cuda_attention_mma_sd_self_attention) {
    REQUIRE_CUDA_DEVICE();
    Spec s = sampled(spec("SD1 self 64x64 latents", 2, 8, 4096, 4096, 40), 64);
    s.twice = true;
    run_case(s);
    run_case(sampled(spec("SD1 self 128x128 latents", 1, 2, 16384, 16384, 40), 16));
    run_case(sampled(spec("SD2/XL self (d 64)", 2, 5, 4096, 4096, 64), 32));
    run_case(sampled(spec("SD1 self 32x32 (d 80)", 2, 8, 1024, 1024, 80), 32));
    run_case(sampled(spec("SD1 self 8x8 (d 160)", 2, 8, 64, 64, 160), -1));
}

TEST(cuda_attention_mma_sd_cross_attention) {
    REQUIRE_CUDA_DEVICE();
    run_case(sampled(spec("SD1 cross 64x64", 2, 8, 4096, 77, 40), 128));
    run_case(sampled(spec("SD1 cross 32x32", 2, 8, 1024, 77, 80), 128));
    run_case(spec("SD1 cross 16x16", 2, 8, 256, 77, 160));
    run_case(sampled(spec("SDXL cross", 2, 10, 1024, 77, 64), 128));
}

TEST(cuda_attention_mma_clip) {
    REQUIRE_CUDA_DEVICE();
    run_case(spec("CLIP-L text", 1, 12, 77, 77, 64, true));
    run_case(spec("OpenCLIP-H text", 2, 16, 77, 77, 64, true));
    run_case(spec("CLIP ViT-H vision", 1, 16, 257, 257, 80));
}

TEST(cuda_attention_mma_awkward_sizes) {
    REQUIRE_CUDA_DEVICE();
    run_case(spec("one key", 1, 2, 5, 1, 64));
    run_case(spec("one key", 2, 3, 100, 1, 40));
    run_case(spec("one query", 1, 2, 1, 77, 40));
    run_case(spec("1x1", 1, 1, 1, 1, 8));
    const int64_t sizes[] = {5, 33, 100};
    const int64_t dims[] = {24, 56, 136};
    int idx = 0;
    for (const int64_t nq : sizes)
        for (const int64_t nk : sizes) run_case(spec("awkward", 1, 3, nq, nk, dims[idx++ % 3]));
    run_case(spec("awkward", 2, 2, 70, 45, 72));
    run_case(spec("awkward", 1, 2, 129, 65, 120));  // one past the block / key tile sizes
}

TEST(cuda_attention_mma_every_head_dim) {
    REQUIRE_CUDA_DEVICE();
    // Every compiled width (DP = 16 .. 256), head dims that fill it and that leave padding, both the vector
    // (aligned) and the scalar (odd stride) load paths.
    for (int64_t d = 8; d <= 256; d += 8) {
        run_case(spec("head dim", 1, 2, 70, 45, d));
        run_case(with_layout(spec("head dim", 1, 2, 37, 37, d, true), false, 1, 1));
    }
}

TEST(cuda_attention_mma_causal) {
    REQUIRE_CUDA_DEVICE();
    run_case(spec("causal nk > nq", 1, 2, 5, 9, 16, true));
    run_case(spec("causal nk < nq (first rows see nothing)", 1, 2, 9, 5, 16, true));
    run_case(spec("causal, blocks that see nothing", 1, 3, 200, 50, 64, true));  // rows 0..149 output 0
    run_case(spec("causal, two column groups", 1, 2, 100, 33, 160, true));
    run_case(spec("causal", 2, 2, 33, 100, 80, true));
    run_case(spec("causal square", 1, 4, 300, 300, 40, true));
    run_case(spec("causal, no key at all", 1, 1, 4, 0, 64, true));  // nk = 0: every row 0
    run_case(spec("no key at all", 1, 1, 4, 0, 64));
}

TEST(cuda_attention_mma_strides) {
    REQUIRE_CUDA_DEVICE();
    // Fused projection: q, k, v are column slices of one [rows, 3 * heads * d] buffer.
    run_case(with_layout(spec("fused qkv", 2, 3, 33, 33, 24), true, 0, 0));
    run_case(sampled(with_layout(spec("fused qkv", 2, 8, 1024, 1024, 40), true, 0, 0), 32));
    run_case(with_layout(spec("fused qkv, odd stride", 1, 2, 100, 100, 200, true), true, 1, 0));
    // Odd row stride and a misaligned base: scalar loads.
    run_case(with_layout(spec("odd stride", 2, 8, 300, 77, 40), false, 1, 1));
    run_case(with_layout(spec("odd stride", 1, 4, 100, 100, 64), false, 3, 0));
    run_case(with_layout(spec("odd stride", 1, 2, 50, 60, 160), false, 5, 3));
    run_case(with_layout(spec("odd stride", 1, 2, 50, 60, 8), false, 1, 1));
    // Stride a multiple of 2 but not 4; aligned stride with an 8-byte-aligned base.
    run_case(with_layout(spec("stride 2 mod 4", 1, 3, 65, 70, 56), false, 2, 0));
    run_case(with_layout(spec("base 8-byte aligned", 1, 3, 65, 70, 56), false, 4, 2));
    // Aligned but padded rows (vector loads, padding never read).
    run_case(with_layout(spec("padded stride", 1, 3, 65, 70, 96), false, 4, 4));
}

TEST(cuda_attention_mma_softmax_stress) {
    REQUIRE_CUDA_DEVICE();
    // q x8: scores of several units, a few keys dominate each row.
    run_case(sampled(stressed(spec("x8 self", 1, 4, 4096, 4096, 40)), 32));
    run_case(stressed(spec("x8 cross", 2, 8, 512, 77, 40)));
    run_case(stressed(spec("x8 cross", 2, 8, 64, 77, 160)));
    run_case(stressed(spec("x8 CLIP causal", 1, 12, 77, 77, 64, true)));
    run_case(stressed(spec("x8 d 256", 1, 2, 33, 100, 256)));
    run_case(stressed(spec("x8 small", 4, 4, 5, 5, 8)));
}

#else  // !SDN_WITH_CUDA

TEST(cuda_attention_mma_not_built) { sdn_test::skip("built without CUDA (SDN_WITH_CUDA is off)"); }

#endif
