// The GEMM tile kernels behind linear and conv2d (included by linear.cu and conv2d.cu only; each file
// instantiates its own A-operand mode, so nothing is compiled twice).
//
//   C[m][n] = sum_k A[m][k] * W[n][k] + bias[n] + residual(m, n)
//
// A is float32: either dense rows (linear: x [M, K]) or the implicit im2col of an NCHW image (conv2d:
// m = (b, oy, ox), k = (c, ky, kx), never materialised). W is [N, K] row-major (linear [out, in], conv
// OIHW flattened), f16 or f32. The output is row-major [M, N] (linear) or NCHW [B, N, OH, OW] (conv).
//
// Two implementations:
//   gemm_mma_kernel  f16 weights on tensor cores (WMMA 16x16x16, f16 x f16 -> f32 accumulate): the A tile
//                    is rounded to f16 while it is staged in shared memory. 64x64x32 tiles, 4 warps of
//                    32x32.
//   gemm_simt_kernel float32 FMA (weights widened to f32), 64x64x16 tiles, 256 threads of 4x4 outputs.
//                    The reference path (f32 weights; also selectable for f16 weights).
#pragma once

#include "cuda/kernels/common.cuh"

#include <mma.h>

namespace sdn::cuda::gemm {

enum class AMode : int { Rows = 0, Im2col = 1 };

struct Problem {
    int64_t M = 0, N = 0, K = 0;
    const float * a = nullptr;  // Rows: A[m * K + k]. Im2col: the NCHW input [B, C, H, W]
    const void * w = nullptr;   // [N][K]
    const float * bias = nullptr;
    const float * residual = nullptr;  // same layout as out; may equal out (read before written, same thread)
    float * out = nullptr;
    int C = 0, H = 0, W = 0, KH = 1, KW = 1, stride = 1, pad = 0, OH = 0, OW = 0;  // Im2col geometry
};

// The output pixel of one GEMM row (Im2col mode).
struct PixelRef {
    const float * base = nullptr;  // image b of the input
    int iy0 = 0, ix0 = 0;
    bool valid = false;
};

__device__ __forceinline__ PixelRef pixel_ref(const Problem & p, int64_t m) {
    PixelRef r;
    r.valid = m < p.M;
    const int64_t ohw = static_cast<int64_t>(p.OH) * p.OW;
    const int64_t mm = r.valid ? m : 0;
    const int64_t b = mm / ohw;
    const int pix = static_cast<int>(mm - b * ohw);
    const int oy = pix / p.OW, ox = pix - oy * p.OW;
    r.base = p.a + b * static_cast<int64_t>(p.C) * p.H * p.W;
    r.iy0 = oy * p.stride - p.pad;
    r.ix0 = ox * p.stride - p.pad;
    return r;
}

__device__ __forceinline__ float im2col_at(const Problem & p, const PixelRef & r, int64_t k) {
    if (!r.valid || k >= p.K) return 0.0f;
    const int khw = p.KH * p.KW;
    const int kk = static_cast<int>(k);
    const int c = kk / khw;
    const int rem = kk - c * khw;
    const int ky = rem / p.KW;
    const int kx = rem - ky * p.KW;
    const int iy = r.iy0 + ky, ix = r.ix0 + kx;
    if (static_cast<unsigned>(iy) >= static_cast<unsigned>(p.H) || static_cast<unsigned>(ix) >= static_cast<unsigned>(p.W)) return 0.0f;
    return __ldg(r.base + (static_cast<int64_t>(c) * p.H + iy) * p.W + ix);
}

template <AMode MODE>
__device__ __forceinline__ void store_out(const Problem & p, int64_t m, int64_t n, float v) {
    int64_t idx;
    if (MODE == AMode::Rows) {
        idx = m * p.N + n;
    } else {
        const int64_t ohw = static_cast<int64_t>(p.OH) * p.OW;
        const int64_t b = m / ohw, pix = m - b * ohw;
        idx = (b * p.N + n) * ohw + pix;
    }
    if (p.bias != nullptr) v += p.bias[n];
    if (p.residual != nullptr) v += p.residual[idx];
    p.out[idx] = v;
}

__device__ __forceinline__ bool aligned16(const void * ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15u) == 0; }

// ------------------------------------------------------------------------------------------------
// Tensor-core kernel (f16 weights)
// ------------------------------------------------------------------------------------------------
constexpr int kMmaBM = 64, kMmaBN = 64, kMmaBK = 32, kMmaThreads = 128;
constexpr int kMmaLdAB = kMmaBK + 8;  // halves; multiple of 8 as WMMA requires, rows stay 16-byte aligned
constexpr int kMmaLdC = kMmaBN + 4;   // floats; multiple of 4 as WMMA requires

template <AMode MODE>
__global__ void __launch_bounds__(kMmaThreads) gemm_mma_kernel(const Problem p) {
    using namespace nvcuda;
    __shared__ __align__(128) __half As[kMmaBM * kMmaLdAB];
    __shared__ __align__(128) __half Bs[kMmaBN * kMmaLdAB];
    __shared__ __align__(128) float Cs[kMmaBM * kMmaLdC];

    const int tid = threadIdx.x, warp = tid >> 5;
    const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kMmaBM;
    const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kMmaBN;
    const __half * w = static_cast<const __half *>(p.w);
    const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    PixelRef pr;
    if (MODE == AMode::Im2col) pr = pixel_ref(p, m0 + (tid & 63));
    const bool vec_a = MODE == AMode::Rows && (p.K & 3) == 0 && aligned16(p.a);
    const bool vec_w = (p.K & 7) == 0 && aligned16(w);

    for (int64_t k0 = 0; k0 < p.K; k0 += kMmaBK) {
        // ---- A tile [64 x 32] -> f16
        if (MODE == AMode::Rows) {
            if (vec_a) {
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int idx = tid + i * kMmaThreads;
                    const int r = idx >> 3, c = (idx & 7) * 4;
                    const int64_t m = m0 + r, k = k0 + c;
                    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                    if (m < p.M && k < p.K) v = __ldg(reinterpret_cast<const float4 *>(p.a + m * p.K + k));
                    __half2 * dst = reinterpret_cast<__half2 *>(As + r * kMmaLdAB + c);
                    dst[0] = __floats2half2_rn(v.x, v.y);
                    dst[1] = __floats2half2_rn(v.z, v.w);
                }
            } else {
#pragma unroll 4
                for (int i = 0; i < 16; ++i) {
                    const int idx = tid + i * kMmaThreads;
                    const int r = idx >> 5, c = idx & 31;
                    const int64_t m = m0 + r, k = k0 + c;
                    const float v = (m < p.M && k < p.K) ? __ldg(p.a + m * p.K + k) : 0.0f;
                    As[r * kMmaLdAB + c] = __float2half_rn(v);
                }
            }
        } else {
            const int r = tid & 63;
#pragma unroll 4
            for (int i = 0; i < 16; ++i) {
                const int c = (tid >> 6) + 2 * i;
                As[r * kMmaLdAB + c] = __float2half_rn(im2col_at(p, pr, k0 + c));
            }
        }
        // ---- W tile [64 x 32] f16
        if (vec_w) {
#pragma unroll
            for (int i = 0; i < 2; ++i) {
                const int idx = tid + i * kMmaThreads;
                const int r = idx >> 2, c = (idx & 3) * 8;
                const int64_t n = n0 + r, k = k0 + c;
                uint4 v = make_uint4(0u, 0u, 0u, 0u);
                if (n < p.N && k < p.K) v = __ldg(reinterpret_cast<const uint4 *>(w + n * p.K + k));
                *reinterpret_cast<uint4 *>(Bs + r * kMmaLdAB + c) = v;
            }
        } else {
#pragma unroll 4
            for (int i = 0; i < 16; ++i) {
                const int idx = tid + i * kMmaThreads;
                const int r = idx >> 5, c = idx & 31;
                const int64_t n = n0 + r, k = k0 + c;
                Bs[r * kMmaLdAB + c] = (n < p.N && k < p.K) ? w[n * p.K + k] : __float2half_rn(0.0f);
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kMmaBK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> af[2];
            // B = W^T (k x n); W rows are n, so W^T is column-major with leading dimension kMmaLdAB.
            wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> bf[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(af[i], As + (wm + i * 16) * kMmaLdAB + kk, kMmaLdAB);
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(bf[j], Bs + (wn + j * 16) * kMmaLdAB + kk, kMmaLdAB);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], af[i], bf[j], acc[i][j]);
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(Cs + (wm + i * 16) * kMmaLdC + wn + j * 16, acc[i][j], kMmaLdC, wmma::mem_row_major);
    __syncthreads();

    // Rows: consecutive threads walk n (contiguous output rows). Im2col: they walk m (contiguous pixels).
    for (int idx = tid; idx < kMmaBM * kMmaBN; idx += kMmaThreads) {
        int r, c;
        if (MODE == AMode::Rows) {
            r = idx >> 6;
            c = idx & 63;
        } else {
            r = idx & 63;
            c = idx >> 6;
        }
        const int64_t m = m0 + r, n = n0 + c;
        if (m < p.M && n < p.N) store_out<MODE>(p, m, n, Cs[r * kMmaLdC + c]);
    }
}

// ------------------------------------------------------------------------------------------------
// SIMT float32 kernel
// ------------------------------------------------------------------------------------------------
constexpr int kSimtBM = 64, kSimtBN = 64, kSimtBK = 16, kSimtThreads = 256;

template <AMode MODE, typename WT>
__global__ void __launch_bounds__(kSimtThreads) gemm_simt_kernel(const Problem p) {
    __shared__ float As[kSimtBK][kSimtBM + 4];
    __shared__ float Bs[kSimtBK][kSimtBN + 4];

    const int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    // Rows: lanes walk n (row-major output). Im2col: lanes walk m (NCHW output, pixels contiguous).
    const int mi = MODE == AMode::Rows ? ty : tx;
    const int ni = MODE == AMode::Rows ? tx : ty;
    const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kSimtBM;
    const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kSimtBN;
    const WT * w = static_cast<const WT *>(p.w);

    PixelRef pr;
    if (MODE == AMode::Im2col) pr = pixel_ref(p, m0 + (tid & 63));

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = 0.0f;

    for (int64_t k0 = 0; k0 < p.K; k0 += kSimtBK) {
        if (MODE == AMode::Rows) {
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int idx = tid + i * kSimtThreads;
                const int r = idx >> 4, c = idx & 15;
                const int64_t m = m0 + r, k = k0 + c;
                As[c][r] = (m < p.M && k < p.K) ? __ldg(p.a + m * p.K + k) : 0.0f;
            }
        } else {
            const int r = tid & 63;
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const int c = (tid >> 6) + 4 * i;
                As[c][r] = im2col_at(p, pr, k0 + c);
            }
        }
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int idx = tid + i * kSimtThreads;
            const int r = idx >> 4, c = idx & 15;
            const int64_t n = n0 + r, k = k0 + c;
            Bs[c][r] = (n < p.N && k < p.K) ? load_f32(w, n * p.K + k) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kSimtBK; ++kk) {
            float ar[4], br[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) ar[i] = As[kk][mi + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; ++j) br[j] = Bs[kk][ni + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(ar[i], br[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int64_t m = m0 + mi + 16 * i;
        if (m >= p.M) continue;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int64_t n = n0 + ni + 16 * j;
            if (n < p.N) store_out<MODE>(p, m, n, acc[i][j]);
        }
    }
}

// Launches the kernel for `path` and the weight type. Returns cudaErrorInvalidValue for a weight type
// the path cannot take (BF16: the backend never stores GEMM weights as bf16).
template <AMode MODE>
cudaError_t launch_gemm(const Problem & p, DevType w_type, GemmPath path, cudaStream_t stream) {
    if (p.M <= 0 || p.N <= 0) return cudaSuccess;
    if ((p.N + 63) / 64 > 65535) return cudaErrorInvalidConfiguration;
    if (w_type == DevType::F16 && path != GemmPath::Simt) {
        const dim3 grid(static_cast<unsigned>((p.M + kMmaBM - 1) / kMmaBM), static_cast<unsigned>((p.N + kMmaBN - 1) / kMmaBN));
        gemm_mma_kernel<MODE><<<grid, kMmaThreads, 0, stream>>>(p);
        return cudaGetLastError();
    }
    const dim3 grid(static_cast<unsigned>((p.M + kSimtBM - 1) / kSimtBM), static_cast<unsigned>((p.N + kSimtBN - 1) / kSimtBN));
    if (w_type == DevType::F16)
        gemm_simt_kernel<MODE, __half><<<grid, kSimtThreads, 0, stream>>>(p);
    else if (w_type == DevType::F32)
        gemm_simt_kernel<MODE, float><<<grid, kSimtThreads, 0, stream>>>(p);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

}  // namespace sdn::cuda::gemm
