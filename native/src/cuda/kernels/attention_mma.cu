// Flash attention on tensor cores (nvcuda::wmma 16x16x16, f16 inputs, f32 accumulation).
//
// Work split
//   One block = 4 warps, one (batch, head), BQ query rows. Each warp owns a group of 16 query rows for the
//   whole kernel, so the softmax never needs data from another warp:
//     DP <= 128: BQ = 64, warp w owns rows 16 w .. 16 w + 15 and all DP output columns;
//     DP >  128: BQ = 32, warps 2g and 2g+1 share rows 16 g .. 16 g + 15; both compute the same scores and
//                softmax (identical instructions on identical data, so bitwise identical P and l) and each
//                accumulates half of the output columns (keeps the O accumulators at <= 64 registers).
//   The grid is (ceil(nq / BQ), heads, batch); blocks of one (batch, head) are adjacent in launch order,
//   so its K / V rows are shared through L2.
//
// Head dimension
//   Compiled for DP = head_dim rounded up to 16 (16, 32, ..., 256). Columns head_dim .. DP-1 of the Q, K
//   and V tiles are zero in shared memory, which leaves Q K^T unchanged and only produces output columns
//   that are never written.
//
// Per key tile of BK keys (BK = 64 for DP <= 64, else 32 to bound shared memory and registers)
//   1. all threads stage the K and V rows j0 .. j0+BK-1 as f16 in shared memory (rows >= nk are zero);
//   2. each warp computes S = Q K^T for its 16 rows (16 x BK, f32 accumulator fragments) and stores it to
//      its own 16 rows of the score buffer;
//   3. online softmax, two lanes per query row (lane = 2 r + half): each lane reads BK/2 scores, applies
//      the scale (in base 2: s * scale * log2 e) and the masks (key >= nk, causal bound), updates the
//      row's running max m and sum l, and writes the weights P = 2^(s - m) as f16 over its score rows
//      (same bytes, after a __syncwarp) plus the row's rescale factor alpha = 2^(m_old - m_new);
//   4. the warp rescales its O accumulator fragments by alpha (row of each fragment element: see below)
//      and accumulates O += P V on tensor cores.
//   After the last tile O is multiplied by 1 / l (0 for rows that saw no key) and written as f32.
//   Causal: the key loop stops after the last key the block's last row can see.
//
// Row of a fragment element
//   WMMA fragments have an unspecified element layout, but all accumulator fragments of one shape share
//   it (load_matrix_sync + mma_sync + store_matrix_sync round trips rely on that). Loading a 16 x 16 tile
//   whose element (r, c) holds r into an accumulator fragment therefore tells each thread the row of each
//   of its elements; that is how per-row factors (alpha, 1 / l) are applied to the O fragments held in
//   registers, without assuming the hardware layout.
//
// Shared memory (dynamic; opt-in above 48 KB): Q tile BQ x (DP+8) f16, K and V tiles BK x (DP+8) f16
// each, scores 64 x (BK+8) f32 (P aliases it, per warp), a 16 x 16 row-id tile, 64 per-row floats:
// DP 48: 40.25 KB, DP 64: 46.25 KB, DP 80: 33.25 KB, DP 128: 45.25 KB, DP 160: 42.75 KB, DP 256: 60.75 KB
// (opt-in from DP 192). All fit the 99 KB per-block limit of sm_86 / sm_89.
//
// Loads: float4 (then two half2 stores) when the operand's base pointer is 16-byte aligned and its row
// stride is a multiple of 4 elements (head_dim is a multiple of 8, so every row slice is aligned then);
// scalar loads otherwise (consecutive threads read consecutive columns of a row). Row offsets are 64-bit.
// Loads are plain (no cp.async / double buffering): the f32 -> f16 conversion happens in registers.
#include "cuda/kernels/attention_mma.cuh"

#include <cuda_fp16.h>
#include <mma.h>

#include <atomic>
#include <cmath>

namespace sdn::cuda {

namespace {

using namespace nvcuda;

constexpr int kThreads = 128;  // 4 warps
constexpr float kLog2e = 1.4426950408889634f;

using AccFrag = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
using RowAFrag = wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major>;
using RowBFrag = wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major>;
using ColBFrag = wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major>;

// Compile-time geometry for one padded head dim DP.
template <int DP>
struct Geo {
    static_assert(DP % 16 == 0 && DP >= 16 && DP <= 256, "DP: multiple of 16 in [16, 256]");
    static constexpr int NCG = DP <= 128 ? 1 : 2;   // column groups: warps sharing one 16-row group
    static constexpr int BQ = 64 / NCG;             // query rows per block
    static constexpr int BK = DP <= 64 ? 64 : 32;   // keys per tile
    static constexpr int LDH = DP + 8;              // halves per row of the Q / K / V tiles (multiple of 8)
    static constexpr int LDS = BK + 8;              // floats per row of the score tile (multiple of 4)
    static constexpr int LDP = 2 * LDS;             // halves per row of P (aliases the score rows)
    static constexpr int NDF = DP / 16;             // fragments along the head dim
    static constexpr int NDW = (NDF + NCG - 1) / NCG;  // output fragments per warp (its column group)
    static constexpr int NKF = BK / 16;             // fragments along the keys
    static constexpr int CPL = BK / 2;              // score columns per lane in the softmax
    // Blocks per SM the register allocation must allow (3: at most 168 registers per thread, 2: 255).
    // Chosen from ptxas -v so that no instantiation spills on sm_80 / 86 / 89 / 90 (with 3, DP >= 112
    // spilled on some of them).
    static constexpr int MIN_BLOCKS = DP <= 96 ? 3 : 2;
    // Byte offsets in dynamic shared memory; every region starts on a 128-byte boundary (each size below
    // is a multiple of 128), and every fragment pointer used is 32-byte aligned as WMMA requires.
    static constexpr size_t kQ = 0;
    static constexpr size_t kK = kQ + static_cast<size_t>(BQ) * LDH * 2;
    static constexpr size_t kV = kK + static_cast<size_t>(BK) * LDH * 2;
    static constexpr size_t kS = kV + static_cast<size_t>(BK) * LDH * 2;  // 4 warps x 16 rows x LDS floats
    static constexpr size_t kRowId = kS + static_cast<size_t>(64) * LDS * 4;
    static constexpr size_t kRowVal = kRowId + 16 * 16 * 4;
    static constexpr size_t kBytes = kRowVal + 64 * 4;
    static_assert(kK % 128 == 0 && kV % 128 == 0 && kS % 128 == 0 && kRowId % 128 == 0, "region alignment");
    static_assert(kBytes <= 99 * 1024, "must fit the 99 KB per-block limit of sm_86 / sm_89");
};

struct LoadModes {
    bool vec_q = false, vec_k = false, vec_v = false;
};

// Largest power of two dividing n, capped at 32 (threads that share one tile row in the loaders).
constexpr int threads_per_row(int n) { return (n & 31) == 0 ? 32 : (n & 15) == 0 ? 16 : (n & 7) == 0 ? 8 : (n & 3) == 0 ? 4 : (n & 1) == 0 ? 2 : 1; }

// Rows loaded per batch: the largest power of two rb <= nr (a power of two) with rb * per_row <= max_items
// (at least 1), so that a batch keeps at most max_items loads in flight per thread.
constexpr int rows_per_batch(int per_row, int max_items, int nr) {
    int rb = 1;
    while (rb * 2 <= nr && rb * 2 * per_row <= max_items) rb *= 2;
    return rb;
}

// Stages rows 0 .. ROWS-1 (columns 0 .. DP-1) of one head of an operand into `dst` as f16 with row pitch
// DP+8 halves. `src` points at column 0 of the head in the tile's first row; rows >= nrows and columns
// >= d are stored as zeros (and not read). Called by all threads of the block.
//
// Thread mapping: TPR threads share a row (consecutive threads on consecutive 16-byte / 4-byte pieces, so a
// warp reads whole 64..512-byte row segments), each thread keeps its column piece and walks rows
// r0, r0 + RSTEP, ...: one base address per thread, constant offsets after that. Loads are issued in
// batches of up to 8 (vector) / 16 (scalar) per thread before converting and storing them.
template <int ROWS, int DP>
__device__ __forceinline__ void stage_rows_f16(__half * dst, const float * __restrict__ src, int64_t stride, int64_t nrows, int d,
                                               bool vec) {
    constexpr int LDH = DP + 8;
    const int tid = threadIdx.x;
    const int valid_rows = nrows <= 0 ? 0 : (nrows >= ROWS ? ROWS : static_cast<int>(nrows));
    if (vec) {
        constexpr int SLOTS = DP / 4;  // float4 pieces per row
        constexpr int TPR = threads_per_row(SLOTS);
        constexpr int RSTEP = kThreads / TPR;
        constexpr int NR = ROWS / RSTEP;  // rows per thread
        constexpr int NC = SLOTS / TPR;   // pieces per thread and row
        constexpr int RB = rows_per_batch(NC, 8, NR);
        static_assert(ROWS % RSTEP == 0 && SLOTS % TPR == 0 && NR % RB == 0, "loader geometry");
        const int r0 = tid / TPR, c0 = (tid % TPR) * 4;
        const float * base = src + r0 * stride + c0;
        __half * dbase = dst + r0 * LDH + c0;
#pragma unroll
        for (int rb = 0; rb < NR; rb += RB) {
            float4 buf[RB][NC];
#pragma unroll
            for (int i = 0; i < RB; ++i) {
                const bool row_ok = r0 + (rb + i) * RSTEP < valid_rows;
#pragma unroll
                for (int j = 0; j < NC; ++j) {
                    // d is a multiple of 8, so a float4 is either fully inside the head or fully outside.
                    const bool ok = row_ok && c0 + 4 * TPR * j < d;
                    buf[i][j] = ok ? __ldg(reinterpret_cast<const float4 *>(base + static_cast<int64_t>((rb + i) * RSTEP) * stride + 4 * TPR * j))
                                   : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
                }
            }
#pragma unroll
            for (int i = 0; i < RB; ++i)
#pragma unroll
                for (int j = 0; j < NC; ++j) {
                    __half2 * o = reinterpret_cast<__half2 *>(dbase + (rb + i) * RSTEP * LDH + 4 * TPR * j);  // 8-byte aligned
                    o[0] = __floats2half2_rn(buf[i][j].x, buf[i][j].y);
                    o[1] = __floats2half2_rn(buf[i][j].z, buf[i][j].w);
                }
        }
    } else {
        constexpr int TPR = threads_per_row(DP);  // 16 or 32 (DP is a multiple of 16)
        constexpr int RSTEP = kThreads / TPR;
        constexpr int NR = ROWS / RSTEP;
        constexpr int NC = DP / TPR;
        constexpr int RB = rows_per_batch(NC, 16, NR);
        static_assert(ROWS % RSTEP == 0 && DP % TPR == 0 && NR % RB == 0, "loader geometry");
        const int r0 = tid / TPR, c0 = tid % TPR;
        const float * base = src + r0 * stride + c0;
        __half * dbase = dst + r0 * LDH + c0;
#pragma unroll
        for (int rb = 0; rb < NR; rb += RB) {
            float buf[RB][NC];
#pragma unroll
            for (int i = 0; i < RB; ++i) {
                const bool row_ok = r0 + (rb + i) * RSTEP < valid_rows;
#pragma unroll
                for (int j = 0; j < NC; ++j) {
                    const bool ok = row_ok && c0 + TPR * j < d;
                    buf[i][j] = ok ? __ldg(base + static_cast<int64_t>((rb + i) * RSTEP) * stride + TPR * j) : 0.0f;
                }
            }
#pragma unroll
            for (int i = 0; i < RB; ++i)
#pragma unroll
                for (int j = 0; j < NC; ++j) dbase[(rb + i) * RSTEP * LDH + TPR * j] = __float2half_rn(buf[i][j]);
        }
    }
}

template <int DP>
__global__ void __launch_bounds__(kThreads, Geo<DP>::MIN_BLOCKS) attention_mma_kernel(const AttentionLaunch p, const LoadModes lm) {
    using G = Geo<DP>;
    extern __shared__ __align__(128) unsigned char smem[];
    __half * Qs = reinterpret_cast<__half *>(smem + G::kQ);
    __half * Ks = reinterpret_cast<__half *>(smem + G::kK);
    __half * Vs = reinterpret_cast<__half *>(smem + G::kV);
    float * Ss = reinterpret_cast<float *>(smem + G::kS);
    float * rowid_s = reinterpret_cast<float *>(smem + G::kRowId);
    float * rowval_s = reinterpret_cast<float *>(smem + G::kRowVal);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int rg = warp / G::NCG;  // row group: block rows 16 rg .. 16 rg + 15
    const int cg = warp % G::NCG;  // column group: output fragments cg * NDW .. cg * NDW + NDW - 1
    const int64_t b = blockIdx.z, h = blockIdx.y;
    const int64_t q0 = static_cast<int64_t>(blockIdx.x) * G::BQ;
    const int d = static_cast<int>(p.head_dim);
    const float * qb = p.q + b * p.nq * p.q_stride + h * d;
    const float * kb = p.k + b * p.nk * p.k_stride + h * d;
    const float * vb = p.v + b * p.nk * p.v_stride + h * d;

    // ---- Q tile (f16, zero padded) and the row-id tile (element (r, c) = r)
    stage_rows_f16<G::BQ, DP>(Qs, qb + q0 * p.q_stride, p.q_stride, p.nq - q0, d, lm.vec_q);
    for (int e = tid; e < 256; e += kThreads) rowid_s[e] = static_cast<float>(e >> 4);
    __syncthreads();

    // ---- this warp's rows and this lane's softmax role. With two column groups, both warps of a row group
    // compute the same S and softmax (identical instructions on identical data: bitwise identical P, l),
    // each into its own score rows, and each accumulates its half of the output columns.
    const __half * Qw = Qs + rg * 16 * G::LDH;
    float * Sw = Ss + warp * 16 * G::LDS;              // the warp's own 16 score rows (f32) ...
    __half * Pw = reinterpret_cast<__half *>(Sw);      // ... reused for P (f16, row pitch LDP halves)
    float * roww = rowval_s + warp * 16;               // per-row alpha, then 1 / l
    const int r = lane >> 1;                           // softmax row of this lane (0..15)
    const int half_id = lane & 1;                      // which columns of that row (interleaved by 4)
    const int64_t shift = p.nk - p.nq;                 // causal: key j visible to query i iff j <= i + shift
    const int64_t qi = q0 + rg * 16 + r;
    int64_t row_lim = p.nk;                            // keys [0, row_lim) are visible to query qi
    if (p.causal) {
        const int64_t lim = qi + shift + 1;
        row_lim = lim < row_lim ? lim : row_lim;
        if (row_lim < 0) row_lim = 0;
    }
    // Keys any row of this block can see.
    int64_t kv_end = p.nk;
    if (p.causal) {
        const int64_t last_row = (q0 + G::BQ < p.nq ? q0 + G::BQ : p.nq) - 1;
        const int64_t lim = last_row + shift + 1;
        kv_end = lim < kv_end ? lim : kv_end;
        if (kv_end < 0) kv_end = 0;
    }
    const float scale2 = p.scale * kLog2e;  // softmax in base 2: 2^(s*scale*log2e - m) = e^(s*scale - m')
    const float neg_inf = -INFINITY;
    float m_run = neg_inf;  // running max of this lane's row (base-2 scaled scores); -inf: no key seen yet
    float l_run = 0.0f;     // running sum of the f16-rounded weights

    AccFrag o[G::NDW];
#pragma unroll
    for (int n = 0; n < G::NDW; ++n) wmma::fill_fragment(o[n], 0.0f);

    for (int64_t j0 = 0; j0 < kv_end; j0 += G::BK) {
        // ---- 1. K and V tiles (rows >= nk zero, so masked keys contribute exact zeros to P V)
        stage_rows_f16<G::BK, DP>(Ks, kb + j0 * p.k_stride, p.k_stride, p.nk - j0, d, lm.vec_k);
        stage_rows_f16<G::BK, DP>(Vs, vb + j0 * p.v_stride, p.v_stride, p.nk - j0, d, lm.vec_v);
        __syncthreads();

        // ---- 2. S = Q K^T for the row group's 16 rows (B = K^T: the [key][dim] tile read column-major)
        {
            AccFrag s[G::NKF];
#pragma unroll
            for (int n = 0; n < G::NKF; ++n) wmma::fill_fragment(s[n], 0.0f);
#pragma unroll
            for (int kk = 0; kk < G::NDF; ++kk) {
                RowAFrag qf;
                wmma::load_matrix_sync(qf, Qw + kk * 16, G::LDH);
#pragma unroll
                for (int n = 0; n < G::NKF; ++n) {
                    ColBFrag kf;
                    wmma::load_matrix_sync(kf, Ks + n * 16 * G::LDH + kk * 16, G::LDH);
                    wmma::mma_sync(s[n], qf, kf, s[n]);
                }
            }
#pragma unroll
            for (int n = 0; n < G::NKF; ++n) wmma::store_matrix_sync(Sw + n * 16, s[n], G::LDS, wmma::mem_row_major);
        }
        __syncwarp();

        // ---- 3. online softmax: lane (r, half_id) owns columns 8 t + 4 half_id + {0..3}, t < BK / 8
        {
            // Keys j0 + c with c < vis are visible to this row.
            const int64_t vis64 = row_lim - j0;
            const int vis = vis64 <= 0 ? 0 : (vis64 >= G::BK ? G::BK : static_cast<int>(vis64));
            const float * srow = Sw + r * G::LDS + 4 * half_id;
            // Pass A: the row's maximum over its visible scaled scores.
            float tmax = neg_inf;
#pragma unroll
            for (int t = 0; t < G::CPL / 4; ++t) {
                const float4 v4 = *reinterpret_cast<const float4 *>(srow + 8 * t);
                const int c = 8 * t + 4 * half_id;
                if (c + 0 < vis) tmax = fmaxf(tmax, v4.x * scale2);
                if (c + 1 < vis) tmax = fmaxf(tmax, v4.y * scale2);
                if (c + 2 < vis) tmax = fmaxf(tmax, v4.z * scale2);
                if (c + 3 < vis) tmax = fmaxf(tmax, v4.w * scale2);
            }
            tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
            const float m_new = fmaxf(m_run, tmax);
            // While a row has seen no visible key m_new is -inf; subtract 0 instead so that no inf - inf
            // (NaN) arises (alpha = 2^-inf = 0 then multiplies an O that is still 0).
            const float m_use = m_new == neg_inf ? 0.0f : m_new;
            const float alpha = exp2f(m_run - m_use);
            // Pass B: weights 2^(s - m) rounded to f16 (masked keys exactly 0), kept packed until every lane of
            // the warp is done reading scores, since P overwrites the same bytes.
            __half2 ph[G::CPL / 2];
            float psum = 0.0f;
#pragma unroll
            for (int t = 0; t < G::CPL / 4; ++t) {
                const float4 v4 = *reinterpret_cast<const float4 *>(srow + 8 * t);
                const int c = 8 * t + 4 * half_id;
                const float p0 = c + 0 < vis ? exp2f(v4.x * scale2 - m_use) : 0.0f;
                const float p1 = c + 1 < vis ? exp2f(v4.y * scale2 - m_use) : 0.0f;
                const float p2 = c + 2 < vis ? exp2f(v4.z * scale2 - m_use) : 0.0f;
                const float p3 = c + 3 < vis ? exp2f(v4.w * scale2 - m_use) : 0.0f;
                ph[2 * t] = __floats2half2_rn(p0, p1);
                ph[2 * t + 1] = __floats2half2_rn(p2, p3);
                const float2 b0 = __half22float2(ph[2 * t]), b1 = __half22float2(ph[2 * t + 1]);
                psum += (b0.x + b0.y) + (b1.x + b1.y);  // sum what P V will actually use
            }
            psum += __shfl_xor_sync(0xffffffffu, psum, 1);
            l_run = l_run * alpha + psum;
            m_run = m_new;
            __syncwarp();  // every lane has read its scores before P overwrites the same bytes
            __half * prow = Pw + r * G::LDP + 4 * half_id;
#pragma unroll
            for (int t = 0; t < G::CPL / 4; ++t) {
                __half2 * dst = reinterpret_cast<__half2 *>(prow + 8 * t);  // 8-byte aligned
                dst[0] = ph[2 * t];
                dst[1] = ph[2 * t + 1];
            }
            if (half_id == 0) roww[r] = alpha;
        }
        __syncwarp();

        // ---- 4. O = diag(alpha) O + P V over this warp's output fragments
        {
            AccFrag rid;
            wmma::load_matrix_sync(rid, rowid_s, 16, wmma::mem_row_major);
#pragma unroll
            for (int i = 0; i < rid.num_elements; ++i) {
                const float a = roww[static_cast<int>(rid.x[i])];
#pragma unroll
                for (int n = 0; n < G::NDW; ++n) o[n].x[i] *= a;
            }
#pragma unroll
            for (int kk = 0; kk < G::NKF; ++kk) {
                RowAFrag pf;
                wmma::load_matrix_sync(pf, Pw + kk * 16, G::LDP);
#pragma unroll
                for (int n = 0; n < G::NDW; ++n) {
                    const int nf = cg * G::NDW + n;  // fragment index along the head dim
                    if (G::NCG == 1 || nf < G::NDF) {
                        RowBFrag vf;
                        wmma::load_matrix_sync(vf, Vs + kk * 16 * G::LDH + nf * 16, G::LDH);
                        wmma::mma_sync(o[n], pf, vf, o[n]);
                    }
                }
            }
        }
        __syncthreads();  // K / V / P of this tile fully consumed before the next tile overwrites them
    }

    // ---- epilogue: O / l (0 for rows that saw no key), one 16 x 16 fragment at a time through the warp's
    // score rows (free now), written with consecutive lanes on consecutive columns.
    __syncwarp();
    if (half_id == 0) roww[r] = l_run > 0.0f ? 1.0f / l_run : 0.0f;
    __syncwarp();
    AccFrag rid;
    wmma::load_matrix_sync(rid, rowid_s, 16, wmma::mem_row_major);
    float inv[rid.num_elements];
#pragma unroll
    for (int i = 0; i < rid.num_elements; ++i) inv[i] = roww[static_cast<int>(rid.x[i])];
    const int64_t out_row = p.heads * d;
    float * ob = p.out + b * p.nq * out_row + h * d;
#pragma unroll
    for (int n = 0; n < G::NDW; ++n) {
        const int nf = cg * G::NDW + n;
        if (nf * 16 >= d) continue;  // every column of this fragment is head-dim padding (or past DP)
#pragma unroll
        for (int i = 0; i < rid.num_elements; ++i) o[n].x[i] *= inv[i];
        wmma::store_matrix_sync(Sw, o[n], G::LDS, wmma::mem_row_major);
        __syncwarp();
#pragma unroll
        for (int e = lane; e < 256; e += 32) {
            const int rr = e >> 4, cc = e & 15;
            const int64_t q = q0 + rg * 16 + rr;
            const int col = nf * 16 + cc;
            if (q < p.nq && col < d) ob[q * out_row + col] = Sw[rr * G::LDS + cc];
        }
        __syncwarp();
    }
}

bool aligned16(const void * ptr) { return (reinterpret_cast<uintptr_t>(ptr) & 15u) == 0; }

// Dynamic shared memory above 48 KB needs a per-kernel opt-in, which applies to the current device; it is
// done once per (instantiation, device) and remembered in a bit mask (devices 0..63; others every time).
template <int DP>
cudaError_t ensure_smem_opt_in() {
    constexpr size_t bytes = Geo<DP>::kBytes;
    if (bytes <= 48 * 1024) return cudaSuccess;
    static std::atomic<unsigned long long> done{0};
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return e;
    const unsigned long long bit = dev >= 0 && dev < 64 ? (1ull << dev) : 0ull;
    if (bit != 0 && (done.load(std::memory_order_acquire) & bit) != 0) return cudaSuccess;
    e = cudaFuncSetAttribute(attention_mma_kernel<DP>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (e == cudaSuccess && bit != 0) done.fetch_or(bit, std::memory_order_acq_rel);
    return e;
}

template <int DP>
cudaError_t launch_dp(const AttentionLaunch & a, cudaStream_t stream) {
    const cudaError_t e = ensure_smem_opt_in<DP>();
    if (e != cudaSuccess) return e;
    LoadModes lm;
    lm.vec_q = aligned16(a.q) && (a.q_stride & 3) == 0;
    lm.vec_k = aligned16(a.k) && (a.k_stride & 3) == 0;
    lm.vec_v = aligned16(a.v) && (a.v_stride & 3) == 0;
    const dim3 grid(static_cast<unsigned>((a.nq + Geo<DP>::BQ - 1) / Geo<DP>::BQ), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
    attention_mma_kernel<DP><<<grid, kThreads, Geo<DP>::kBytes, stream>>>(a, lm);
    return cudaGetLastError();
}

}  // namespace

bool attention_mma_supported(int64_t head_dim) { return head_dim >= 8 && head_dim <= kAttentionMmaMaxHeadDim && head_dim % 8 == 0; }

cudaError_t launch_attention_mma(const AttentionLaunch & a, cudaStream_t stream) {
    if (!attention_mma_supported(a.head_dim)) return cudaErrorInvalidValue;
    if (a.batch <= 0 || a.heads <= 0 || a.nq <= 0) return cudaSuccess;
    if (a.heads > 65535 || a.batch > 65535 || a.nk < 0 || (a.nq + 31) / 32 > 0x7fffffffLL) return cudaErrorInvalidValue;
    switch ((a.head_dim + 15) / 16) {
        case 1: return launch_dp<16>(a, stream);
        case 2: return launch_dp<32>(a, stream);
        case 3: return launch_dp<48>(a, stream);
        case 4: return launch_dp<64>(a, stream);
        case 5: return launch_dp<80>(a, stream);
        case 6: return launch_dp<96>(a, stream);
        case 7: return launch_dp<112>(a, stream);
        case 8: return launch_dp<128>(a, stream);
        case 9: return launch_dp<144>(a, stream);
        case 10: return launch_dp<160>(a, stream);
        case 11: return launch_dp<176>(a, stream);
        case 12: return launch_dp<192>(a, stream);
        case 13: return launch_dp<208>(a, stream);
        case 14: return launch_dp<224>(a, stream);
        case 15: return launch_dp<240>(a, stream);
        default: return launch_dp<256>(a, stream);
    }
}

}  // namespace sdn::cuda
