// Options of the CUDA backend and a factory that takes them (make_cuda_backend in core/backend.h uses
// the defaults, overridable from the environment so contexts created through the C API can pick them).
#pragma once

#include "core/backend.h"
#include "cuda/kernels/kernel_types.h"

#include <memory>
#include <string>

namespace sdn {

struct CudaBackendOptions {
    // Storage of linear / conv weights (make_weight with as_f32 = false). F16: f32 and bf16 files are
    // rounded to f16 (a tensor with a value beyond the f16 range stays f32) and run on tensor cores.
    // F32: f32 stays f32, bf16 widens to f32, f16 stays f16. Biases and norm parameters (as_f32) are
    // always f32. Environment: SDN_CUDA_WEIGHTS=f16|f32.
    enum class Weights { F16 = 0, F32 = 1 };
    Weights weights = Weights::F16;
    // GEMM implementation of linear layers (and of the built-in convolution).
    // Environment: SDN_CUDA_GEMM=auto|builtin|simt.
    cuda::GemmPath gemm = cuda::GemmPath::Auto;
    // Convolution implementation. Environment: SDN_CUDA_CONV=auto|builtin.
    cuda::ConvPath conv = cuda::ConvPath::Auto;
    // Attention kernel. Environment: SDN_CUDA_ATTENTION=auto|f32.
    cuda::AttentionPath attention = cuda::AttentionPath::Auto;
    // Record replayable sections (a UNet forward) as CUDA graphs and replay them: one launch per forward
    // instead of one per op. Off until verified on a GPU. Environment: SDN_CUDA_GRAPHS=1.
    bool graphs = false;
};

// Defaults with the environment overrides applied.
CudaBackendOptions cuda_backend_options_from_env();

// Like make_cuda_backend with explicit options. nullptr + `reason` when CUDA is not usable.
std::unique_ptr<Backend> make_cuda_backend_with_options(int device_index, ThreadPool & pool, const CudaBackendOptions & options,
                                                        std::string & reason);

}  // namespace sdn
