#include "cuda/kernels/gemm_f32_simt.cuh"

namespace sdn::cuda {

namespace {

constexpr int kTile = 64;     // C tile is kTile x kTile
constexpr int kDepth = 16;    // k slice staged in shared memory
constexpr int kThreads = 256; // 16 x 16 threads, each computing 4 x 4 outputs

__global__ void gemm_f32_simt_kernel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                     const float * __restrict__ a, int64_t lda, const float * __restrict__ b,
                                     int64_t ldb, float beta, float * __restrict__ c, int64_t ldc) {
    __shared__ float As[kDepth][kTile + 1];
    __shared__ float Bs[kDepth][kTile + 1];

    const int tx = threadIdx.x % 16;
    const int ty = threadIdx.x / 16;
    const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kTile;
    const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kTile;

    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < k; k0 += kDepth) {
        for (int idx = threadIdx.x; idx < kDepth * kTile; idx += kThreads) {
            const int kk = idx % kDepth;
            const int rr = idx / kDepth;
            const int64_t gi = row0 + rr, gk = k0 + kk;
            float av = 0.0f;
            if (gi < m && gk < k) av = trans_a ? a[gk * lda + gi] : a[gi * lda + gk];
            As[kk][rr] = av;
            const int64_t gj = col0 + rr;
            float bv = 0.0f;
            if (gj < n && gk < k) bv = trans_b ? b[gj * ldb + gk] : b[gk * ldb + gj];
            Bs[kk][rr] = bv;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kDepth; ++kk) {
            float ar[4], br[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) ar[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) br[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int64_t gi = row0 + ty + 16 * i;
        if (gi >= m) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int64_t gj = col0 + tx + 16 * j;
            if (gj >= n) continue;
            float * out = c + gi * ldc + gj;
            const float prior = beta == 0.0f ? 0.0f : beta * *out;
            *out = alpha * acc[i][j] + prior;
        }
    }
}

}  // namespace

cudaError_t launch_gemm_f32_simt(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float * a, int64_t lda, const float * b, int64_t ldb, float beta, float * c,
                                 int64_t ldc, cudaStream_t stream) {
    if (m == 0 || n == 0) return cudaSuccess;
    dim3 grid(static_cast<unsigned>((n + kTile - 1) / kTile), static_cast<unsigned>((m + kTile - 1) / kTile));
    gemm_f32_simt_kernel<<<grid, kThreads, 0, stream>>>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return cudaGetLastError();
}

}  // namespace sdn::cuda
