// The one interface every compute backend implements (CPU first, CUDA second). Networks are written
// against it; a context owns exactly one backend.
#pragma once

#include "core/exec_control.h"
#include "sd_native.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sdn {

class ThreadPool;

// Row-major float32 GEMM on host pointers: C = alpha * op(A) * op(B) + beta * C.
struct GemmF32Args {
    bool trans_a = false;
    bool trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f;
    const float * a = nullptr;
    int64_t lda = 0;
    const float * b = nullptr;
    int64_t ldb = 0;
    float beta = 0.0f;
    float * c = nullptr;
    int64_t ldc = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual sdn_backend_kind kind() const = 0;
    virtual std::string name() const = 0;
    // Host bytes this backend holds (pools, packing buffers), for GC accounting in bindings.
    virtual size_t host_memory() const = 0;
    virtual void gemm_f32(const GemmF32Args & args, const ExecControl & control) = 0;
};

// Validates shapes and strides of a GEMM call (same rules for every backend). Throws Error.
void validate_gemm_args(const GemmF32Args & args);

std::unique_ptr<Backend> make_cpu_backend(ThreadPool & pool);

// CUDA backend. Returns nullptr and sets `reason` when CUDA is not compiled in, no driver/device is
// usable, or the device index is out of range.
std::unique_ptr<Backend> make_cuda_backend(int device_index, ThreadPool & pool, std::string & reason);

}  // namespace sdn
