// The library paths of the CUDA backend: options from the environment (runs everywhere), and on a GPU
// that cuBLASLt / cuDNN, when they load, are the paths linear and conv2d actually take (no silent
// fallback), with conv filters kept in cuDNN's [out, kh, kw, in] order. Numerical agreement with the CPU
// backend is tested per op in test_cuda_ops.cpp (mode "f16-weights/libraries").
#include "core/backend.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_runtime_info.h"
#include "cuda/dynload/cuda_libraries.h"
#include "test_framework.h"

#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace sdn;

namespace {

// Sets an environment variable for the scope of the object, restoring the previous value.
class ScopedEnv {
public:
    ScopedEnv(const char * name, const char * value) : name_(name) {
        if (const char * old = std::getenv(name)) {
            had_ = true;
            old_ = old;
        }
        setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (had_) setenv(name_, old_.c_str(), 1);
        else unsetenv(name_);
    }

private:
    const char * name_;
    bool had_ = false;
    std::string old_;
};

bool contains(const std::string & s, const std::string & part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(cuda_options_from_environment) {
    if (!cuda::query_runtime().compiled) return sdn_test::skip(cuda::query_runtime().unavailable_reason);
    {
        ScopedEnv g("SDN_CUDA_GEMM", ""), c("SDN_CUDA_CONV", ""), a("SDN_CUDA_ATTENTION", ""), w("SDN_CUDA_WEIGHTS", "");
        const CudaBackendOptions o = cuda_backend_options_from_env();
        CHECK(o.gemm == cuda::GemmPath::Auto);
        CHECK(o.conv == cuda::ConvPath::Auto);
        CHECK(o.attention == cuda::AttentionPath::Auto);
        CHECK(o.weights == CudaBackendOptions::Weights::F16);
    }
    {
        ScopedEnv g("SDN_CUDA_GEMM", "BuiltIn"), c("SDN_CUDA_CONV", "builtin"), a("SDN_CUDA_ATTENTION", "f32"), w("SDN_CUDA_WEIGHTS", "f32");
        const CudaBackendOptions o = cuda_backend_options_from_env();
        CHECK(o.gemm == cuda::GemmPath::Builtin);
        CHECK(o.conv == cuda::ConvPath::Builtin);
        CHECK(o.attention == cuda::AttentionPath::F32);
        CHECK(o.weights == CudaBackendOptions::Weights::F32);
    }
    {
        ScopedEnv g("SDN_CUDA_GEMM", "simt");
        CHECK(cuda_backend_options_from_env().gemm == cuda::GemmPath::Simt);
    }
}

TEST(cuda_library_paths_are_taken_when_loaded) {
    ThreadPool pool(2);
    std::string reason;
    std::unique_ptr<Backend> gpu = make_cuda_backend_with_options(0, pool, CudaBackendOptions(), reason);
    if (!gpu) return sdn_test::skip(reason);
    const auto & lt = dynload::cublaslt();
    const auto & dnn = dynload::cudnn();
    std::printf("    cuBLASLt: %s\n    cuDNN: %s\n", lt.available ? lt.path.c_str() : lt.reason.c_str(),
                dnn.available ? dnn.path.c_str() : dnn.reason.c_str());
    std::printf("    %s\n", gpu->name().c_str());
    CHECK(contains(gpu->name(), lt.available ? "linear: cuBLASLt" : "cuBLASLt not used"));
    CHECK(contains(gpu->name(), dnn.available ? "conv2d: cuDNN" : "cuDNN not used"));

    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-0.1f, 0.1f);
    // A 3x3 conv filter and a linear weight, f16 as checkpoints ship them.
    const int64_t cin = 16, cout = 8, rows = 40, in = 24, out = 12;
    std::vector<uint16_t> filter(static_cast<size_t>(cout * cin * 9)), lw(static_cast<size_t>(out * in));
    for (auto & v : filter) v = f32_to_f16(u(rng));
    for (auto & v : lw) v = f32_to_f16(u(rng));
    HostWeight hf {filter.data(), WeightType::F16, Shape{cout, cin, 3, 3}, "conv.weight"};
    HostWeight hl {lw.data(), WeightType::F16, Shape{out, in}, "linear.weight"};
    Weight wf = gpu->make_weight(hf, false), wl = gpu->make_weight(hl, false);
    CHECK(wf.layout == (dnn.available ? 1 : 0));  // [out, kh, kw, in] for cuDNN
    CHECK(wl.layout == 0);

    const ExecControl ctl;
    std::vector<float> x(static_cast<size_t>(2 * cin * 10 * 10), 0.5f);
    float * dx = static_cast<float *>(gpu->alloc_memory(x.size() * sizeof(float)));
    float * dy = static_cast<float *>(gpu->alloc_memory(static_cast<size_t>(2 * cout * 10 * 10) * sizeof(float)));
    gpu->upload(dx, x.data(), x.size() * sizeof(float));
    gpu->conv2d(dx, 2, cin, 10, 10, wf, nullptr, 1, 1, dy, nullptr, ctl);
    gpu->linear(dx, rows, in, wl, nullptr, dy, nullptr, ctl);
    gpu->synchronize();
    CHECK(!contains(gpu->name(), "fell back"));
    gpu->free_memory(dx);
    gpu->free_memory(dy);
    gpu->release_weight(wf);
    gpu->release_weight(wl);
}
