// CPU kernel benchmarks: JSON lines {"backend":"cpu","stage":...,"gflops":...,"pct_of_peak":...}.
// The peak is the pure-FMA float32 throughput of all pool threads at the selected SIMD level
// (sdn::cpu::measure_fma_peak_gflops), printed first as "fma_peak_gflops".
// On a machine shared with other work, wall-clock figures drop with the share of the cores we get, so
// every line also carries CPU-time based figures: "cpu_gflops" = flop / (process CPU seconds of the best
// run / threads), and "cpu_pct_of_peak" against the per-core FMA ceiling timed by thread CPU time
// ("fma_peak_cpu_gflops" = per-core x threads). They ignore time threads spend idle (load imbalance).
#include "bench_kernels.h"

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::vector<float> random_vec(size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto & x : v) x = d(rng);
    return v;
}

double process_cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
    double wall = 1e30;  // best wall time
    double cpu = 1e30;   // least process CPU time (all threads) of a run
};

// Best wall and CPU time of `fn` over runs lasting about `seconds` in total (at least 3 after a warm-up).
Timing best_seconds(double seconds, const std::function<void()> & fn) {
    fn();
    Timing best;
    const auto start = Clock::now();
    for (int run = 0;; ++run) {
        const double c0 = process_cpu_seconds();
        const auto t0 = Clock::now();
        fn();
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        best.wall = std::min(best.wall, s);
        best.cpu = std::min(best.cpu, process_cpu_seconds() - c0);
        if (run >= 2 && std::chrono::duration<double>(Clock::now() - start).count() >= seconds) break;
    }
    return best;
}

struct Ctx {
    sdn::ThreadPool & pool;
    sdn::SimdLevel level;
    double peak;
    double cpu_peak;  // per-core CPU-time ceiling x threads
    double seconds;
    std::string only;
};

void emit(const Ctx & c, const std::string & stage, const std::string & shape, double flop, const Timing & t) {
    const double gflops = flop / t.wall * 1e-9;
    const double cpu_gflops = flop / (t.cpu / c.pool.size()) * 1e-9;
    std::printf("{\"backend\":\"cpu\",\"stage\":\"%s\",\"shape\":\"%s\",\"simd\":\"%s\",\"threads\":%d,\"ms\":%.3f,"
                "\"gflops\":%.1f,\"pct_of_peak\":%.1f,\"cpu_gflops\":%.1f,\"cpu_pct_of_peak\":%.1f}\n",
                stage.c_str(), shape.c_str(), sdn::simd_level_name(c.level), c.pool.size(), t.wall * 1e3, gflops,
                100.0 * gflops / c.peak, cpu_gflops, 100.0 * cpu_gflops / c.cpu_peak);
    std::fflush(stdout);
}

bool wanted(const Ctx & c, const std::string & stage) { return c.only.empty() || stage.find(c.only) != std::string::npos; }

void bench_gemm(const Ctx & c, int64_t m, int64_t n, int64_t k, bool trans_b, sdn::cpu::DType bt, const char * label) {
    const std::string stage = std::string("gemm_") + label;
    if (!wanted(c, stage)) return;
    auto a = random_vec(static_cast<size_t>(m * k), 1);
    auto bf = random_vec(static_cast<size_t>(k * n), 2);
    std::vector<uint16_t> bh;
    sdn::cpu::GemmArgs g;
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = a.data();
    g.lda = k;
    g.trans_b = trans_b;
    g.ldb = trans_b ? k : n;
    g.b_type = bt;
    if (bt == sdn::cpu::DType::F32) {
        g.b = bf.data();
    } else {
        bh.resize(bf.size());
        for (size_t i = 0; i < bf.size(); ++i) bh[i] = bt == sdn::cpu::DType::F16 ? sdn::f32_to_f16(bf[i]) : sdn::f32_to_bf16(bf[i]);
        g.b = bh.data();
    }
    std::vector<float> out(static_cast<size_t>(m * n));
    g.c = out.data();
    g.ldc = n;
    const Timing s = best_seconds(c.seconds, [&] { sdn::cpu::gemm(c.pool, c.level, g); });
    char shape[128];
    std::snprintf(shape, sizeof shape, "M=%lld N=%lld K=%lld%s B=%s", (long long)m, (long long)n, (long long)k,
                  trans_b ? " B^T" : "", sdn::cpu::dtype_name(bt));
    emit(c, stage, shape, 2.0 * m * n * k, s);
}

void bench_conv(const Ctx & c, int64_t batch, int64_t cin, int64_t hw, int64_t cout, int64_t ksize, int64_t stride,
                const char * label) {
    const std::string stage = std::string("conv2d_") + label;
    if (!wanted(c, stage)) return;
    sdn::cpu::Conv2dArgs a;
    a.batch = batch;
    a.in_channels = cin;
    a.in_h = a.in_w = hw;
    a.out_channels = cout;
    a.kernel_h = a.kernel_w = ksize;
    a.stride = stride;
    a.pad = ksize / 2;
    auto x = random_vec(static_cast<size_t>(batch * cin * hw * hw), 3);
    auto w = random_vec(static_cast<size_t>(cout * cin * ksize * ksize), 4, -0.05f, 0.05f);
    auto b = random_vec(static_cast<size_t>(cout), 5);
    const int64_t oh = sdn::cpu::conv2d_out_size(hw, ksize, stride, a.pad);
    std::vector<float> y(static_cast<size_t>(batch * cout * oh * oh));
    a.input = x.data();
    a.weight = w.data();
    a.bias = b.data();
    a.output = y.data();
    const Timing s = best_seconds(c.seconds, [&] { sdn::cpu::conv2d(c.pool, c.level, a); });
    char shape[160];
    std::snprintf(shape, sizeof shape, "N=%lld C=%lld H=W=%lld -> O=%lld k=%lld s=%lld", (long long)batch, (long long)cin,
                  (long long)hw, (long long)cout, (long long)ksize, (long long)stride);
    emit(c, stage, shape, 2.0 * batch * cout * oh * oh * cin * ksize * ksize, s);
}

// 3x3 stride-1 convolution through each path: "direct" (implicit GEMM), "winograd" (weights transformed
// once, as a caller caching them would), "winograd_percall" (transformed on every call). GFLOP/s are
// effective: the direct convolution's FLOPs / time, so Winograd can exceed the FMA peak.
void bench_conv3x3_algos(const Ctx & c, int64_t batch, int64_t cin, int64_t hw, int64_t cout, const char * label) {
    using sdn::cpu::DType;
    auto x = random_vec(static_cast<size_t>(batch * cin * hw * hw), 3);
    const float ws = 1.0f / std::sqrt(9.0f * static_cast<float>(cin));
    auto w = random_vec(static_cast<size_t>(cout * cin * 9), 4, -ws, ws);
    auto b = random_vec(static_cast<size_t>(cout), 5);
    std::vector<float> y(static_cast<size_t>(batch * cout * hw * hw));
    sdn::cpu::Conv2dArgs a;
    a.batch = batch;
    a.in_channels = cin;
    a.in_h = a.in_w = hw;
    a.out_channels = cout;
    a.input = x.data();
    a.weight = w.data();
    a.bias = b.data();
    a.output = y.data();
    char shape[160];
    std::snprintf(shape, sizeof shape, "N=%lld C=%lld H=W=%lld -> O=%lld k=3 s=1", (long long)batch, (long long)cin,
                  (long long)hw, (long long)cout);
    const double flop = 2.0 * batch * cout * hw * hw * cin * 9;
    const double secs = c.seconds;
    if (wanted(c, std::string("conv3x3_direct_") + label))
        emit(c, std::string("conv3x3_direct_") + label, shape, flop,
             best_seconds(secs, [&] { sdn::cpu::conv2d_direct(c.pool, c.level, a); }));
    if (wanted(c, std::string("conv3x3_winograd_") + label)) {
        const auto tw = sdn::cpu::winograd_transform_weights(c.pool, c.level, w.data(), DType::F32, cout, cin);
        sdn::cpu::Conv2dArgs aw = a;
        aw.winograd_weight = &tw;
        emit(c, std::string("conv3x3_winograd_") + label, shape, flop,
             best_seconds(secs, [&] { sdn::cpu::conv2d_winograd(c.pool, c.level, aw); }));
    }
    if (wanted(c, std::string("conv3x3_winograd_percall_") + label))
        emit(c, std::string("conv3x3_winograd_percall_") + label, shape, flop,
             best_seconds(secs, [&] { sdn::cpu::conv2d_winograd(c.pool, c.level, a); }));
    if (wanted(c, std::string("winograd_weight_transform_") + label)) {
        const Timing t = best_seconds(secs, [&] {
            sdn::cpu::winograd_transform_weights(c.pool, c.level, w.data(), DType::F32, cout, cin);
        });
        std::printf("{\"backend\":\"cpu\",\"stage\":\"winograd_weight_transform_%s\",\"shape\":\"O=%lld C=%lld\",\"ms\":%.3f}\n",
                    label, (long long)cout, (long long)cin, t.wall * 1e3);
        std::fflush(stdout);
    }
}

void bench_attention(const Ctx & c, int64_t batch, int64_t heads, int64_t nq, int64_t nk, int64_t d, const char * label) {
    const std::string stage = std::string("attention_") + label;
    if (!wanted(c, stage)) return;
    auto q = random_vec(static_cast<size_t>(batch * heads * nq * d), 6);
    auto k = random_vec(static_cast<size_t>(batch * heads * nk * d), 7);
    auto v = random_vec(static_cast<size_t>(batch * heads * nk * d), 8);
    std::vector<float> o(q.size());
    const auto args = sdn::cpu::attention_args(sdn::cpu::AttnLayout::BHSD, batch, heads, nq, nk, d, q.data(), k.data(),
                                               v.data(), o.data(), 1.0f / std::sqrt(static_cast<float>(d)), false);
    const Timing s = best_seconds(c.seconds, [&] { sdn::cpu::attention(c.pool, c.level, args); });
    char shape[160];
    std::snprintf(shape, sizeof shape, "B=%lld heads=%lld Nq=%lld Nk=%lld d=%lld", (long long)batch, (long long)heads,
                  (long long)nq, (long long)nk, (long long)d);
    emit(c, stage, shape, 4.0 * batch * heads * nq * nk * d, s);  // QK^T and PV
}

}  // namespace

int run_cpu_kernel_benches(double seconds, const std::string & only) {
    try {
        sdn::ThreadPool pool(sdn::hardware_threads());
        const sdn::SimdLevel level = sdn::select_simd_level(sdn::detect_cpu_features());
        const double peak = sdn::cpu::measure_fma_peak_gflops(pool, level, std::min(seconds, 1.0));
        const double cpu_peak = sdn::cpu::fma_peak_gflops_per_cpu_second(level, 0.2) * pool.size();
        std::printf("{\"backend\":\"cpu\",\"stage\":\"fma_peak\",\"simd\":\"%s\",\"threads\":%d,\"fma_peak_gflops\":%.1f,"
                    "\"fma_peak_cpu_gflops\":%.1f}\n",
                    sdn::simd_level_name(level), pool.size(), peak, cpu_peak);
        std::fflush(stdout);
        const Ctx c{pool, level, peak, cpu_peak, std::max(0.2, seconds / 2), only};
        using sdn::cpu::DType;
        bench_gemm(c, 1024, 1024, 1024, false, DType::F32, "1024_cube");
        bench_gemm(c, 4096, 320, 2880, false, DType::F32, "sd_conv_4096x320x2880");
        bench_gemm(c, 4096, 1280, 320, false, DType::F32, "sd_4096x1280x320");
        bench_gemm(c, 1024, 640, 5760, false, DType::F32, "sd_conv_1024x640x5760");
        bench_gemm(c, 4096, 320, 2880, true, DType::F16, "sd_linear_f16_weights_4096x320x2880");
        // CPU compute mode bf16 (cpu/gemm_compute.h: operands rounded to bf16, VDPBF16PS products, f32
        // accumulation), same shapes; pct_of_peak is still against the float32 FMA peak, so it can pass 100.
        if (sdn::cpu::cpu_compute(level) == sdn::cpu::CpuCompute::BF16 ||
            (level == sdn::SimdLevel::Avx512 && sdn::cpu::cpu_bf16_available())) {
            const sdn::cpu::CpuCompute saved = sdn::cpu::requested_cpu_compute();
            sdn::cpu::set_cpu_compute(sdn::cpu::CpuCompute::BF16);
            bench_gemm(c, 1024, 1024, 1024, false, DType::F32, "bf16_1024_cube");
            bench_gemm(c, 4096, 320, 2880, false, DType::F32, "bf16_sd_conv_4096x320x2880");
            bench_gemm(c, 4096, 1280, 320, false, DType::F32, "bf16_sd_4096x1280x320");
            bench_gemm(c, 1024, 640, 5760, false, DType::F32, "bf16_sd_conv_1024x640x5760");
            bench_gemm(c, 4096, 320, 2880, true, DType::F16, "bf16_sd_linear_f16_weights_4096x320x2880");
            bench_conv(c, 2, 320, 64, 320, 3, 1, "bf16_3x3_64x64x320_b2");
            bench_conv3x3_algos(c, 2, 320, 64, 320, "bf16_64x64x320_b2");
            sdn::cpu::set_cpu_compute(saved);
        }
        bench_conv(c, 2, 320, 64, 320, 3, 1, "3x3_64x64x320_b2");
        bench_conv(c, 2, 320, 64, 640, 1, 1, "1x1_64x64_320to640_b2");
        bench_conv(c, 2, 640, 32, 640, 3, 2, "3x3s2_32x32x640_b2");
        bench_conv3x3_algos(c, 2, 320, 64, 320, "64x64x320_b2");
        bench_conv3x3_algos(c, 1, 512, 64, 512, "vae_64x64x512");
        bench_conv3x3_algos(c, 1, 128, 512, 128, "vae_512x512x128");
        bench_attention(c, 2, 8, 4096, 4096, 40, "self_sd15_b2_h8_n4096_d40");
        bench_attention(c, 2, 8, 4096, 77, 40, "cross_sd15_b2_h8_n4096_nk77_d40");
        bench_attention(c, 2, 8, 1024, 1024, 80, "self_sd15_b2_h8_n1024_d80");
        bench_attention(c, 2, 8, 256, 256, 160, "self_sd15_b2_h8_n256_d160");
    } catch (const sdn::Error & e) {
        std::printf("{\"backend\":\"cpu\",\"error\":\"%s\"}\n", e.what());
        return 1;
    }
    return 0;
}
