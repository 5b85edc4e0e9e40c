// CUDA runtime error -> sdn::Error. Allocation failures become SDN_ERR_OUT_OF_MEMORY, everything else
// SDN_ERR_BACKEND; the (non-sticky) error state is cleared so the next call starts clean.
#pragma once

#include "core/error.h"

#include <cuda_runtime_api.h>

#include <string>

namespace sdn::cuda {

inline void check_cuda(cudaError_t e, const char * what) {
    if (e == cudaSuccess) return;
    cudaGetLastError();
    const sdn_status status = e == cudaErrorMemoryAllocation ? SDN_ERR_OUT_OF_MEMORY : SDN_ERR_BACKEND;
    fail(status, std::string("CUDA: ") + what + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

}  // namespace sdn::cuda
