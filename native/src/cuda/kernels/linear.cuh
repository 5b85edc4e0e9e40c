// Linear layer on the device: y[rows, out] = x[rows, in] * W^T + bias (+ residual).
#pragma once

#include "cuda/kernels/kernel_types.h"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

struct LinearLaunch {
    int64_t rows = 0, in = 0, out = 0;
    const float * x = nullptr;     // [rows, in], must not overlap y
    const void * w = nullptr;      // [out, in], F16 or F32
    DevType w_type = DevType::F32;
    const float * bias = nullptr;  // [out] or null
    const float * residual = nullptr;  // [rows, out] or null; may equal y
    float * y = nullptr;
};

// F16 weights: tensor-core kernel unless path == Simt. F32 weights: SIMT kernel.
cudaError_t launch_linear(const LinearLaunch & a, GemmPath path, cudaStream_t stream);

}  // namespace sdn::cuda
