// Backend memory figures (sdn_context_memory_stats / Backend::memory_stats): the C API contract on the CPU
// context, the CPU backend's bookkeeping of alloc_memory, and on a CUDA device the pool's in-use / peak /
// reserved accounting (the CUDA cases skip with the reason when no device is usable).
#include "core/backend.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "sd_native.h"
#include "test_framework.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

sdn_context * cpu_context() {
    sdn_context_params p = sdn_context_params_init();
    p.backend = SDN_BACKEND_CPU;
    p.n_threads = 2;
    sdn_context * ctx = nullptr;
    return sdn_context_create(&p, &ctx, nullptr) == SDN_OK ? ctx : nullptr;
}

// The checks every backend must pass: `bytes` allocated show in in_use and peak, the peak survives the
// free, and a reset brings the peak down to what is still in use.
void check_alloc_accounting(sdn::Backend & be, size_t bytes) {
    const sdn::MemoryStats before = be.memory_stats();
    void * p = be.alloc_memory(bytes);
    const sdn::MemoryStats held = be.memory_stats();
    CHECK(held.in_use >= before.in_use + bytes);
    CHECK(held.peak >= held.in_use);
    CHECK(held.reserved >= held.in_use);
    be.free_memory(p);
    const sdn::MemoryStats after = be.memory_stats();
    CHECK(after.in_use == before.in_use);
    CHECK(after.peak >= before.in_use + bytes);  // the high-water mark outlives the allocation
    be.reset_peak_memory();
    const sdn::MemoryStats reset = be.memory_stats();
    CHECK(reset.peak == reset.in_use);
    CHECK(reset.in_use == before.in_use);
}

}  // namespace

TEST(memory_stats_c_api_cpu_context) {
    sdn_context * ctx = cpu_context();
    CHECK(ctx != nullptr);
    if (ctx == nullptr) return;
    sdn_memory_stats m;
    std::memset(&m, 0xff, sizeof m);
    sdn_error err;
    CHECK(sdn_context_memory_stats(ctx, &m, &err) == SDN_OK);
    CHECK(err.status == SDN_OK);
    CHECK(m.peak_bytes >= m.in_use_bytes);
    CHECK(m.reserved_bytes >= m.in_use_bytes);

    // The linear-peak measurement allocates its input and output in backend memory and frees them again:
    // afterwards the peak covers both buffers and nothing is left in use.
    const int64_t n = 64;
    double gflops = 0;
    CHECK(sdn_measure_linear_peak(ctx, n, 0.01, &gflops, &err) == SDN_OK);
    sdn_memory_stats after;
    CHECK(sdn_context_memory_stats(ctx, &after, &err) == SDN_OK);
    CHECK(after.in_use_bytes == m.in_use_bytes);
    CHECK(after.peak_bytes >= m.in_use_bytes + 2 * static_cast<size_t>(n * n) * sizeof(float));
    sdn_context_reset_peak_memory(ctx);
    CHECK(sdn_context_memory_stats(ctx, &after, &err) == SDN_OK);
    CHECK(after.peak_bytes == after.in_use_bytes);
    sdn_context_free(ctx);
}

TEST(memory_stats_c_api_rejects_null) {
    sdn_memory_stats m;
    sdn_error err;
    CHECK(sdn_context_memory_stats(nullptr, &m, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(err.status == SDN_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(err.message, "ctx is NULL") != nullptr);
    CHECK(sdn_context_memory_stats(nullptr, &m, nullptr) == SDN_ERR_INVALID_ARGUMENT);  // err may be NULL
    sdn_context * ctx = cpu_context();
    CHECK(ctx != nullptr);
    if (ctx == nullptr) return;
    CHECK(sdn_context_memory_stats(ctx, nullptr, &err) == SDN_ERR_INVALID_ARGUMENT);
    CHECK(std::strstr(err.message, "out is NULL") != nullptr);
    sdn_context_reset_peak_memory(nullptr);  // accepted, does nothing
    sdn_context_free(ctx);
}

TEST(memory_stats_cpu_backend_tracks_alloc_memory) {
    sdn::ThreadPool pool(1);
    std::unique_ptr<sdn::Backend> be = sdn::make_cpu_backend(pool);
    check_alloc_accounting(*be, 3 << 20);
    check_alloc_accounting(*be, 1);  // rounded up, still counted
}

TEST(memory_stats_cuda_pool_accounting) {
    sdn::ThreadPool pool(1);
    std::string reason;
    std::unique_ptr<sdn::Backend> be = sdn::make_cuda_backend(0, pool, reason);
    if (!be) return sdn_test::skip(reason);
    // Pool-class blocks (activations): 10 MiB, then a size that is not a class size.
    check_alloc_accounting(*be, size_t{10} << 20);
    check_alloc_accounting(*be, 3 * 1000 * 1000 + 7);
    // A freed class block is cached: reserved stays above in_use until the cache is used or released.
    {
        const sdn::MemoryStats m = be->memory_stats();
        CHECK(m.reserved >= m.in_use + (size_t{10} << 20));
    }
    // Weights (exact allocations, not cached) count while they live.
    const int64_t rows = 1024, cols = 1024;
    std::vector<uint16_t> w(static_cast<size_t>(rows * cols), sdn::f32_to_f16(0.5f));
    sdn::HostWeight hw;
    hw.data = w.data();
    hw.type = sdn::WeightType::F16;
    hw.shape = sdn::Shape{rows, cols};
    hw.name = "memory_stats.weight";
    be->reset_peak_memory();
    const sdn::MemoryStats before = be->memory_stats();
    sdn::Weight weight = be->make_weight(hw, false);
    const sdn::MemoryStats held = be->memory_stats();
    CHECK(held.in_use >= before.in_use + w.size() * sizeof(uint16_t));
    CHECK(held.peak >= held.in_use);
    be->release_weight(weight);
    const sdn::MemoryStats after = be->memory_stats();
    CHECK(after.in_use == before.in_use);
    CHECK(after.peak >= before.in_use + w.size() * sizeof(uint16_t));
}
