// Built-in float32 GEMM kernel (SIMT, shared-memory tiled). Row-major, optional transposes.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

// Launches C = alpha * op(A) * op(B) + beta * C on `stream`; pointers are device pointers.
cudaError_t launch_gemm_f32_simt(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c,
                                 int64_t ldc, cudaStream_t stream);

}  // namespace sdn::cuda
