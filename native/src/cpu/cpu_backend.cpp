// The CPU backend: every op runs on the context's thread pool with the selected SIMD level.
#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"

namespace sdn {

namespace {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(ThreadPool & pool) : pool_(pool), level_(select_simd_level(detect_cpu_features())) {}

    sdn_backend_kind kind() const override { return SDN_BACKEND_CPU; }
    std::string name() const override { return std::string("cpu (") + simd_level_name(level_) + ")"; }
    size_t host_memory() const override { return 0; }

    void gemm_f32(const GemmF32Args & args, const ExecControl & control) override {
        validate_gemm_args(args);
        cpu::gemm_f32(pool_, level_, args, control);
    }

private:
    ThreadPool & pool_;
    SimdLevel level_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(ThreadPool & pool) { return std::make_unique<CpuBackend>(pool); }

}  // namespace sdn
