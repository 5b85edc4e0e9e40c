// Plain host-side types shared by the CUDA kernel launchers (kernels/*.cuh) and the backend
// (cuda_backend.cpp, compiled by the host compiler): no CUDA device types appear here.
#pragma once

#include <cstdint>

namespace sdn::cuda {

// Element type of a weight in device memory. The backend stores linear/conv weights as F16 or F32 only
// (bf16 files are converted when uploaded); BF16 is listed for embedding tables kept as-is.
enum class DevType : int { F32 = 0, F16 = 1, BF16 = 2 };

// Which GEMM implementation a linear / conv2d call runs on.
enum class GemmPath : int {
    Auto = 0,     // cuBLASLt when it is loaded (f16 x f16 -> f32, or f32), else the built-in kernels
    Builtin = 1,  // the built-in kernels: tensor cores (WMMA, f16 x f16 -> f32) for f16 weights, SIMT f32 for f32
    Simt = 2,     // always the built-in SIMT kernel (f32 math; f16 weights widened), the slow reference path
};

// Which implementation conv2d runs on (with GemmPath::Simt every conv runs the SIMT kernel regardless).
enum class ConvPath : int {
    Auto = 0,     // cuDNN (NHWC f16 tensor-core algorithms, found once per shape) when it is loaded and the
                  // filter is f16 with a kernel larger than 1x1; the built-in implicit-GEMM kernel otherwise
    Builtin = 1,  // always the built-in implicit-GEMM kernel
};

// Which attention kernel runs.
enum class AttentionPath : int {
    Auto = 0,  // tensor cores (q/k/v rounded to f16, f32 scores/softmax/accumulators) in f16-weight mode when
               // the head dim is supported (attention_mma_supported); the f32 flash kernel otherwise
    F32 = 1,   // always the f32 flash kernel
};

}  // namespace sdn::cuda
