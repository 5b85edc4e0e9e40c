#include "cuda/kernels/common.cuh"
#include "cuda/kernels/embedding.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void embedding_kernel(const int32_t * __restrict__ ids, int64_t n, const void * __restrict__ table, DevType type,
                                 int64_t dim, float * __restrict__ y) {
    const int64_t total = n * dim;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * kThreads) {
        const int64_t r = i / dim, c = i - r * dim;
        y[i] = load_weight(table, type, static_cast<int64_t>(ids[r]) * dim + c);
    }
}

}  // namespace

cudaError_t launch_embedding(const int32_t * ids, int64_t n, const void * table, DevType type, int64_t dim, float * y,
                             cudaStream_t stream) {
    if (n <= 0 || dim <= 0) return cudaSuccess;
    embedding_kernel<<<grid_for(n * dim, kThreads), kThreads, 0, stream>>>(ids, n, table, type, dim, y);
    return cudaGetLastError();
}

}  // namespace sdn::cuda
