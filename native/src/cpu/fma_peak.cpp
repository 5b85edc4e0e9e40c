// Machine float32 ceiling: every pool thread runs a pure FMA-throughput loop (fma_peak_impl.h) and the
// total flops over the wall time of the slowest thread is reported. Used by the benchmarks as the
// denominator of "% of peak".
#include "cpu/kernels.h"

#include "cpu/simd_scalar.h"
#define SDN_FMA_NS isa_portable
#include "cpu/fma_peak_impl.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>

namespace sdn::cpu {

float fma_loop_avx512(int64_t iters, float seed, int64_t * flops);
float fma_loop_avx2(int64_t iters, float seed, int64_t * flops);

namespace {
float fma_loop_level(SimdLevel level, int64_t iters, float seed, int64_t * flops) {
    switch (level) {
        case SimdLevel::Avx512: return fma_loop_avx512(iters, seed, flops);
        case SimdLevel::Avx2: return fma_loop_avx2(iters, seed, flops);
        default: *flops = iters * 8 * 2; return isa_portable::fma_loop<isa_portable::V, 8>(iters, seed);
    }
}
}  // namespace

double measure_fma_peak_gflops(ThreadPool & pool, SimdLevel level, double seconds) {
    const int threads = pool.size();
    std::atomic<float> sink{0.0f};
    // Calibrate the iteration count to ~20 ms per run on one thread.
    int64_t iters = 1 << 16;
    for (;;) {
        int64_t flops = 0;
        const auto t0 = std::chrono::steady_clock::now();
        sink.store(fma_loop_level(level, iters, 1.0f, &flops));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > 0.02 || iters > (int64_t(1) << 40)) break;
        iters *= 2;
    }
    double best = 0.0;
    const auto start = std::chrono::steady_clock::now();
    for (int run = 0;; ++run) {
        std::atomic<int64_t> total_flops{0};
        const auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(threads, [&](int64_t task, int) {
            int64_t flops = 0;
            const float r = fma_loop_level(level, iters, 1.0f + static_cast<float>(task), &flops);
            total_flops.fetch_add(flops);
            if (r == 12345.0f) sink.store(r);
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > 0) best = std::max(best, static_cast<double>(total_flops.load()) / s * 1e-9);
        if (run >= 2 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds) break;
    }
    return best;
}

double fma_peak_gflops_per_cpu_second(SimdLevel level, double seconds) {
    auto thread_cpu = [] {
        timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    };
    volatile float sink = 0.0f;
    double best = 0.0, spent = 0.0;
    for (int run = 0; run < 3 || spent < seconds; ++run) {
        int64_t flops = 0;
        const double t0 = thread_cpu();
        sink = fma_loop_level(level, int64_t(1) << 21, 1.0f, &flops);
        const double s = thread_cpu() - t0;
        spent += s;
        if (s > 0) best = std::max(best, static_cast<double>(flops) / s * 1e-9);
    }
    (void)sink;
    return best;
}

}  // namespace sdn::cpu
