// Flash attention in float32 (SIMT). Block = 4 warps = BQ query rows; warp w owns rows w, w+4, ...
// Per key tile of 32 keys, lane j scores key j against the warp's rows (dot products over the head
// dimension in chunks of 64 staged through shared memory), the warp does the online-softmax update
// with shuffles (one key per lane), then accumulates P V with lane owning output columns lane + 32 c.
// The head dimension is padded to DMAX (64/128/256/512) at compile time; RPW (rows per warp) shrinks as
// DMAX grows so every thread keeps 32 output accumulators.
#include "cuda/kernels/attention.cuh"
#include "cuda/kernels/common.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 128;
constexpr int kBKV = 32;  // keys per tile (one per lane)
constexpr int kDC = 64;   // head-dim chunk staged in shared memory
constexpr float kNegBig = -3.0e38f;

template <int DMAX>
__global__ void __launch_bounds__(kThreads) flash_attention_kernel(const AttentionLaunch p) {
    constexpr int RPW = 1024 / DMAX;  // rows per warp: 16, 8, 4, 2
    constexpr int BQ = 4 * RPW;       // rows per block
    constexpr int NC = DMAX / kDC;    // head-dim chunks
    constexpr int OC = DMAX / 32;     // output columns per lane
    __shared__ __align__(16) float Qs[BQ * DMAX];
    __shared__ float Ks[kBKV * (kDC + 1)];
    __shared__ float Vs[kBKV * kDC];
    __shared__ float Ps[BQ * kBKV];

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int64_t b = blockIdx.z, h = blockIdx.y;
    const int64_t q0 = static_cast<int64_t>(blockIdx.x) * BQ;
    const int d = static_cast<int>(p.head_dim);
    const float * qb = p.q + b * p.nq * p.q_stride + h * d;
    const float * kb = p.k + b * p.nk * p.k_stride + h * d;
    const float * vb = p.v + b * p.nk * p.v_stride + h * d;

    for (int idx = tid; idx < BQ * DMAX; idx += kThreads) {
        const int r = idx / DMAX, c = idx % DMAX;
        const int64_t qi = q0 + r;
        Qs[idx] = (qi < p.nq && c < d) ? qb[qi * p.q_stride + c] * p.scale : 0.0f;
    }

    float m_run[RPW], l_run[RPW], o[RPW][OC];
#pragma unroll
    for (int i = 0; i < RPW; ++i) {
        m_run[i] = kNegBig;
        l_run[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < OC; ++c) o[i][c] = 0.0f;
    }

    const int64_t shift = p.nk - p.nq;
    int64_t kv_end = p.nk;
    if (p.causal) {
        const int64_t last_visible = q0 + BQ - 1 + shift;  // for the block's last row
        kv_end = last_visible + 1 < p.nk ? last_visible + 1 : p.nk;
        if (kv_end < 0) kv_end = 0;
    }
    const int nchunks = (d + kDC - 1) / kDC;

    for (int64_t j0 = 0; j0 < kv_end; j0 += kBKV) {
        // ---- scores s[i] = q[row_i] . k[j0 + lane]
        float s[RPW];
#pragma unroll
        for (int i = 0; i < RPW; ++i) s[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            if (c < nchunks) {
                __syncthreads();  // Qs written / previous tile done with Ks, Vs, Ps
                for (int idx = tid; idx < kBKV * kDC; idx += kThreads) {
                    const int jr = idx / kDC, cc = idx % kDC;
                    const int64_t kj = j0 + jr;
                    const int col = c * kDC + cc;
                    Ks[jr * (kDC + 1) + cc] = (kj < p.nk && col < d) ? kb[kj * p.k_stride + col] : 0.0f;
                }
                __syncthreads();
                const float * krow = Ks + lane * (kDC + 1);
#pragma unroll 4
                for (int dd = 0; dd < kDC; dd += 4) {
                    const float k0 = krow[dd], k1 = krow[dd + 1], k2 = krow[dd + 2], k3 = krow[dd + 3];
#pragma unroll
                    for (int i = 0; i < RPW; ++i) {
                        const float4 qv = *reinterpret_cast<const float4 *>(Qs + (warp + 4 * i) * DMAX + c * kDC + dd);
                        float t = s[i];
                        t = fmaf(qv.x, k0, t);
                        t = fmaf(qv.y, k1, t);
                        t = fmaf(qv.z, k2, t);
                        t = fmaf(qv.w, k3, t);
                        s[i] = t;
                    }
                }
            }
        }
        // ---- online softmax (one key per lane, rows per warp)
        const int64_t kj = j0 + lane;
#pragma unroll
        for (int i = 0; i < RPW; ++i) {
            const int64_t qi = q0 + warp + 4 * i;
            const bool valid = kj < p.nk && qi < p.nq && (!p.causal || kj <= qi + shift);
            const float sv = valid ? s[i] : kNegBig;
            const float m_new = fmaxf(m_run[i], warp_max(sv));
            const float pv = valid ? expf(sv - m_new) : 0.0f;
            const float alpha = expf(m_run[i] - m_new);
            l_run[i] = l_run[i] * alpha + warp_sum(pv);
            m_run[i] = m_new;
#pragma unroll
            for (int c = 0; c < OC; ++c) o[i][c] *= alpha;
            Ps[(warp + 4 * i) * kBKV + lane] = pv;
        }
        // ---- o += P V
#pragma unroll
        for (int c = 0; c < NC; ++c) {
            if (c < nchunks) {
                __syncthreads();  // Ps visible; previous chunk done with Vs
                for (int idx = tid; idx < kBKV * kDC; idx += kThreads) {
                    const int jr = idx / kDC, cc = idx % kDC;
                    const int64_t vj = j0 + jr;
                    const int col = c * kDC + cc;
                    Vs[jr * kDC + cc] = (vj < p.nk && col < d) ? vb[vj * p.v_stride + col] : 0.0f;
                }
                __syncthreads();
#pragma unroll 4
                for (int j = 0; j < kBKV; ++j) {
                    const float v0 = Vs[j * kDC + lane], v1 = Vs[j * kDC + lane + 32];
#pragma unroll
                    for (int i = 0; i < RPW; ++i) {
                        const float pij = Ps[(warp + 4 * i) * kBKV + j];
                        o[i][2 * c] = fmaf(pij, v0, o[i][2 * c]);
                        o[i][2 * c + 1] = fmaf(pij, v1, o[i][2 * c + 1]);
                    }
                }
            }
        }
    }

    const int64_t row_stride = p.heads * d;
#pragma unroll
    for (int i = 0; i < RPW; ++i) {
        const int64_t qi = q0 + warp + 4 * i;
        if (qi >= p.nq) continue;
        const float inv = l_run[i] > 0.0f ? 1.0f / l_run[i] : 0.0f;
        float * orow = p.out + (b * p.nq + qi) * row_stride + h * d;
#pragma unroll
        for (int c = 0; c < OC; ++c) {
            const int col = (c >> 1) * kDC + (c & 1) * 32 + lane;
            if (col < d) orow[col] = o[i][c] * inv;
        }
    }
}

template <int DMAX>
cudaError_t launch(const AttentionLaunch & a, cudaStream_t stream) {
    constexpr int BQ = 4 * (1024 / DMAX);
    const dim3 grid(static_cast<unsigned>((a.nq + BQ - 1) / BQ), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
    flash_attention_kernel<DMAX><<<grid, kThreads, 0, stream>>>(a);
    return cudaGetLastError();
}

}  // namespace

cudaError_t launch_attention(const AttentionLaunch & a, cudaStream_t stream) {
    if (a.batch <= 0 || a.heads <= 0 || a.nq <= 0) return cudaSuccess;
    if (a.head_dim < 1 || a.head_dim > kAttentionMaxHeadDim || a.heads > 65535 || a.batch > 65535) return cudaErrorInvalidValue;
    if (a.head_dim <= 64) return launch<64>(a, stream);
    if (a.head_dim <= 128) return launch<128>(a, stream);
    if (a.head_dim <= 256) return launch<256>(a, stream);
    return launch<512>(a, stream);
}

}  // namespace sdn::cuda
