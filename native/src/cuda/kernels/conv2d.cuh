// 2-D convolution on the device as an implicit GEMM (the im2col matrix is never stored): NCHW float32
// input/output, OIHW weights (F16 or F32), any kernel size (3x3, 1x1, 14x14 stride-14 patch embedding),
// any stride, symmetric zero padding, optional bias and residual.
#pragma once

#include "cuda/kernels/kernel_types.h"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

struct Conv2dLaunch {
    int64_t batch = 1, in_c = 0, h = 0, w = 0;
    int64_t out_c = 0, kh = 1, kw = 1, stride = 1, pad = 0;
    int64_t oh = 0, ow = 0;            // (h + 2 pad - kh) / stride + 1
    const float * x = nullptr;         // [batch, in_c, h, w], must not overlap y
    const void * weight = nullptr;     // [out_c, in_c, kh, kw]
    DevType w_type = DevType::F32;
    const float * bias = nullptr;      // [out_c] or null
    const float * residual = nullptr;  // [batch, out_c, oh, ow] or null; may equal y
    float * y = nullptr;
};

cudaError_t launch_conv2d(const Conv2dLaunch & a, GemmPath path, cudaStream_t stream);

}  // namespace sdn::cuda
