// LayerNorm over the last dimension of [rows, dim] float32 (one warp per row, two passes: mean, then
// centred variance). y may equal x.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

cudaError_t launch_layer_norm(const float * x, float * y, int64_t rows, int64_t dim, const float * gamma, const float * beta,
                              float eps, cudaStream_t stream);

}  // namespace sdn::cuda
