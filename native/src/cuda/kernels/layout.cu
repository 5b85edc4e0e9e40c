#include "cuda/kernels/common.cuh"
#include "cuda/kernels/layout.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;

#define SDN_GRID_STRIDE(i, n) \
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// Block (32 x 8 threads) moves a 32 x 32 tile through shared memory; grid (col tiles, row tiles, batch).
__global__ void transpose_kernel(const float * __restrict__ x, float * __restrict__ y, int64_t rows, int64_t cols) {
    __shared__ float tile[kTile][kTile + 1];
    const int64_t b = blockIdx.z;
    const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kTile, c0 = static_cast<int64_t>(blockIdx.x) * kTile;
    const float * xs = x + b * rows * cols;
    float * ys = y + b * rows * cols;
    for (int i = threadIdx.y; i < kTile; i += 8) {
        const int64_t r = r0 + i, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[i][threadIdx.x] = xs[r * cols + c];
    }
    __syncthreads();
    for (int i = threadIdx.y; i < kTile; i += 8) {
        const int64_t c = c0 + i, r = r0 + threadIdx.x;  // output row c, column r
        if (r < rows && c < cols) ys[c * rows + r] = tile[threadIdx.x][i];
    }
}

__global__ void pad2d_kernel(const float * __restrict__ x, float * __restrict__ y, int64_t planes, int64_t h, int64_t w,
                             int64_t top, int64_t left, int64_t oh, int64_t ow) {
    const int64_t n = planes * oh * ow;
    SDN_GRID_STRIDE(i, n) {
        const int64_t p = i / (oh * ow);
        const int64_t rem = i - p * oh * ow;
        const int64_t oy = rem / ow, ox = rem - oy * ow;
        const int64_t iy = oy - top, ix = ox - left;
        y[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(p * h + iy) * w + ix] : 0.0f;
    }
}

__global__ void resize_nearest_kernel(const float * __restrict__ x, float * __restrict__ y, int64_t planes, int64_t h,
                                      int64_t w, int64_t oh, int64_t ow, float sy, float sx) {
    const int64_t n = planes * oh * ow;
    SDN_GRID_STRIDE(i, n) {
        const int64_t p = i / (oh * ow);
        const int64_t rem = i - p * oh * ow;
        const int64_t oy = rem / ow, ox = rem - oy * ow;
        // Same float32 arithmetic as the CPU backend (__fmul_rn: no contraction into anything else).
        int64_t iy = static_cast<int64_t>(__fmul_rn(static_cast<float>(oy), sy));
        int64_t ix = static_cast<int64_t>(__fmul_rn(static_cast<float>(ox), sx));
        iy = iy < h - 1 ? iy : h - 1;
        ix = ix < w - 1 ? ix : w - 1;
        y[i] = x[(p * h + iy) * w + ix];
    }
}

}  // namespace

cudaError_t launch_transpose(const float * x, float * y, int64_t batch, int64_t rows, int64_t cols, cudaStream_t stream) {
    if (batch <= 0 || rows <= 0 || cols <= 0) return cudaSuccess;
    const int64_t gy = (rows + kTile - 1) / kTile, gx = (cols + kTile - 1) / kTile;
    if (gy > 65535 || batch > 65535 || gx > 0x7fffffffLL) return cudaErrorInvalidValue;
    transpose_kernel<<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(batch)), dim3(kTile, 8), 0,
                       stream>>>(x, y, rows, cols);
    return cudaGetLastError();
}

cudaError_t launch_concat_channels(const float * a, int64_t ca, const float * b, int64_t cb, float * y, int64_t batch,
                                   int64_t hw, cudaStream_t stream) {
    if (batch <= 0 || hw <= 0) return cudaSuccess;
    const size_t row = static_cast<size_t>((ca + cb) * hw) * sizeof(float);
    if (ca > 0) {
        const cudaError_t e = cudaMemcpy2DAsync(y, row, a, static_cast<size_t>(ca * hw) * sizeof(float),
                                                static_cast<size_t>(ca * hw) * sizeof(float), static_cast<size_t>(batch),
                                                cudaMemcpyDeviceToDevice, stream);
        if (e != cudaSuccess) return e;
    }
    if (cb > 0)
        return cudaMemcpy2DAsync(y + ca * hw, row, b, static_cast<size_t>(cb * hw) * sizeof(float),
                                 static_cast<size_t>(cb * hw) * sizeof(float), static_cast<size_t>(batch), cudaMemcpyDeviceToDevice,
                                 stream);
    return cudaSuccess;
}

cudaError_t launch_pad2d(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left,
                         int64_t bottom, int64_t right, cudaStream_t stream) {
    const int64_t oh = h + top + bottom, ow = w + left + right;
    if (planes <= 0 || oh <= 0 || ow <= 0) return cudaSuccess;
    pad2d_kernel<<<grid_for(planes * oh * ow, kThreads), kThreads, 0, stream>>>(x, y, planes, h, w, top, left, oh, ow);
    return cudaGetLastError();
}

cudaError_t launch_resize_nearest(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                  cudaStream_t stream) {
    if (planes <= 0 || oh <= 0 || ow <= 0) return cudaSuccess;
    if (h <= 0 || w <= 0) return cudaErrorInvalidValue;
    const float sy = static_cast<float>(h) / static_cast<float>(oh);
    const float sx = static_cast<float>(w) / static_cast<float>(ow);
    resize_nearest_kernel<<<grid_for(planes * oh * ow, kThreads), kThreads, 0, stream>>>(x, y, planes, h, w, oh, ow, sy, sx);
    return cudaGetLastError();
}

}  // namespace sdn::cuda
