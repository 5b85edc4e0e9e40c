// Row gather from an embedding table on the device: y[i, :] = table[ids[i], :] widened to float32.
// ids are device memory and already range-checked by the caller.
#pragma once

#include "cuda/kernels/kernel_types.h"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

cudaError_t launch_embedding(const int32_t * ids, int64_t n, const void * table, DevType type, int64_t dim, float * y,
                             cudaStream_t stream);

}  // namespace sdn::cuda
