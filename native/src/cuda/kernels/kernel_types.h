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
    Auto = 0,        // tensor cores (WMMA, f16 x f16 -> f32) for f16 weights, SIMT f32 for f32 weights
    Simt = 1,        // always the SIMT kernel (f32 math; f16 weights widened), the slow reference path
};

inline const char * gemm_path_name(GemmPath p) { return p == GemmPath::Simt ? "simt" : "auto"; }

}  // namespace sdn::cuda
