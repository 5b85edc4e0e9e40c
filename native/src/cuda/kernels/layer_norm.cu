#include "cuda/kernels/common.cuh"
#include "cuda/kernels/layer_norm.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 256;  // 8 rows per block

__global__ void __launch_bounds__(kThreads) layer_norm_kernel(const float * x, float * y, int64_t rows, int64_t dim,
                                                              const float * __restrict__ gamma,
                                                              const float * __restrict__ beta, float eps) {
    const int lane = threadIdx.x & 31;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / 32) + (threadIdx.x >> 5);
    if (row >= rows) return;  // whole warp leaves together
    const float * xr = x + row * dim;
    float * yr = y + row * dim;
    float s = 0.0f;
    for (int64_t i = lane; i < dim; i += 32) s += xr[i];
    const float mean = warp_sum(s) / static_cast<float>(dim);
    float q = 0.0f;
    for (int64_t i = lane; i < dim; i += 32) {
        const float d = xr[i] - mean;
        q = fmaf(d, d, q);
    }
    const float rstd = rsqrtf(warp_sum(q) / static_cast<float>(dim) + eps);
    // Every lane has read all of its elements above before any lane writes (the sums are warp-wide), so
    // y == x is safe.
    for (int64_t i = lane; i < dim; i += 32) {
        const float ga = gamma != nullptr ? gamma[i] : 1.0f;
        const float be = beta != nullptr ? beta[i] : 0.0f;
        yr[i] = (xr[i] - mean) * rstd * ga + be;
    }
}

}  // namespace

cudaError_t launch_layer_norm(const float * x, float * y, int64_t rows, int64_t dim, const float * gamma, const float * beta,
                              float eps, cudaStream_t stream) {
    if (rows <= 0 || dim <= 0) return cudaSuccess;
    const int64_t rows_per_block = kThreads / 32;
    const int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
    if (blocks > 0x7fffffffLL) return cudaErrorInvalidValue;
    layer_norm_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(x, y, rows, dim, gamma, beta, eps);
    return cudaGetLastError();
}

}  // namespace sdn::cuda
