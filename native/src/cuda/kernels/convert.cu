#include "cuda/kernels/common.cuh"
#include "cuda/kernels/convert.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;

__global__ void f32_to_f16_kernel(const float * __restrict__ x, __half * __restrict__ y, int64_t n) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        y[i] = __float2half_rn(x[i]);
}

// Four elements per thread when both pointers are 16/8-byte aligned and n % 4 == 0.
__global__ void f32_to_f16_vec4_kernel(const float4 * __restrict__ x, __half2 * __restrict__ y, int64_t n4) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n4; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float4 v = x[i];
        y[2 * i] = __floats2half2_rn(v.x, v.y);
        y[2 * i + 1] = __floats2half2_rn(v.z, v.w);
    }
}

// Batched transpose of [rows, cols] -> [cols, rows] through a 32 x 33 shared tile (block 32 x 8), with
// the element conversion and epilogue supplied by Op:
//   Op::In load(const In * x, int64_t index)        read one source element as float
//   void store(Out * y, int64_t out_index, int64_t out_row, int64_t out_col, int64_t batch, float v)
template <typename In, typename Out, typename Op>
__global__ void transpose_convert_kernel(const In * __restrict__ x, Out * __restrict__ y, int64_t rows, int64_t cols, Op op) {
    __shared__ float tile[kTile][kTile + 1];
    const int64_t b = blockIdx.z;
    const int64_t r0 = static_cast<int64_t>(blockIdx.y) * kTile, c0 = static_cast<int64_t>(blockIdx.x) * kTile;
    const In * xs = x + b * rows * cols;
    for (int i = threadIdx.y; i < kTile; i += 8) {
        const int64_t r = r0 + i, c = c0 + threadIdx.x;
        if (r < rows && c < cols) tile[i][threadIdx.x] = op.load(xs, r * cols + c);
    }
    __syncthreads();
    for (int i = threadIdx.y; i < kTile; i += 8) {
        const int64_t c = c0 + i, r = r0 + threadIdx.x;  // output row c, output column r
        if (r < rows && c < cols) op.store(y, b * rows * cols + c * rows + r, c, r, b, tile[threadIdx.x][i]);
    }
}

struct F32ToF16 {
    __device__ float load(const float * x, int64_t i) const { return x[i]; }
    __device__ void store(__half * y, int64_t i, int64_t, int64_t, int64_t, float v) const { y[i] = __float2half_rn(v); }
};

// Source [hw, channels] (rows = hw, cols = channels) -> NCHW output row = channel, column = pixel.
struct F16ToF32Epilogue {
    const float * bias;
    const float * residual;
    __device__ float load(const __half * x, int64_t i) const { return __half2float(x[i]); }
    __device__ void store(float * y, int64_t i, int64_t channel, int64_t, int64_t, float v) const {
        if (bias != nullptr) v += bias[channel];
        if (residual != nullptr) v += residual[i];
        y[i] = v;
    }
};

struct F16Copy {
    __device__ float load(const __half * x, int64_t i) const { return __half2float(x[i]); }  // exact for f16
    __device__ void store(__half * y, int64_t i, int64_t, int64_t, int64_t, float v) const { y[i] = __float2half_rn(v); }
};

template <typename In, typename Out, typename Op>
cudaError_t launch_transpose_convert(const In * x, Out * y, int64_t batch, int64_t rows, int64_t cols, Op op, cudaStream_t stream) {
    if (batch <= 0 || rows <= 0 || cols <= 0) return cudaSuccess;
    const int64_t gy = (rows + kTile - 1) / kTile, gx = (cols + kTile - 1) / kTile;
    if (gy > 65535 || batch > 65535 || gx > 0x7fffffffLL) return cudaErrorInvalidValue;
    transpose_convert_kernel<In, Out, Op>
        <<<dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(batch)), dim3(kTile, 8), 0, stream>>>(
            x, y, rows, cols, op);
    return cudaGetLastError();
}

}  // namespace

cudaError_t launch_f32_to_f16(const float * x, void * y_f16, int64_t n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    __half * y = static_cast<__half *>(y_f16);
    const bool aligned = (reinterpret_cast<uintptr_t>(x) % 16 == 0) && (reinterpret_cast<uintptr_t>(y) % 8 == 0) && n % 4 == 0;
    if (aligned) {
        f32_to_f16_vec4_kernel<<<grid_for(n / 4, kThreads), kThreads, 0, stream>>>(reinterpret_cast<const float4 *>(x),
                                                                                    reinterpret_cast<__half2 *>(y), n / 4);
    } else {
        f32_to_f16_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, y, n);
    }
    return cudaGetLastError();
}

cudaError_t launch_nchw_f32_to_nhwc_f16(const float * x, void * y_f16, int64_t batch, int64_t channels, int64_t hw,
                                        cudaStream_t stream) {
    return launch_transpose_convert(x, static_cast<__half *>(y_f16), batch, channels, hw, F32ToF16{}, stream);
}

cudaError_t launch_nhwc_f16_to_nchw_f32(const void * x_f16, float * y, int64_t batch, int64_t channels, int64_t hw,
                                        const float * bias, const float * residual, cudaStream_t stream) {
    return launch_transpose_convert(static_cast<const __half *>(x_f16), y, batch, hw, channels, F16ToF32Epilogue{bias, residual}, stream);
}

cudaError_t launch_oihw_to_ohwi_f16(const void * w_f16, void * y_f16, int64_t out_c, int64_t in_c, int64_t khw, cudaStream_t stream) {
    return launch_transpose_convert(static_cast<const __half *>(w_f16), static_cast<__half *>(y_f16), out_c, in_c, khw, F16Copy{}, stream);
}

}  // namespace sdn::cuda
