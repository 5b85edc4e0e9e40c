#include "cuda/kernels/common.cuh"
#include "cuda/kernels/group_norm.cuh"

namespace sdn::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunkElems = 16384;  // elements of one group per statistics block
constexpr int64_t kMaxChunks = 256;

int64_t chunks_per_group(int64_t group_elems) {
    int64_t c = (group_elems + kChunkElems - 1) / kChunkElems;
    if (c < 1) c = 1;
    if (c > kMaxChunks) c = kMaxChunks;
    return c;
}

// partial[(bg * chunks + chunk) * 3 + {0,1,2}] = {count, mean, M2} of the chunk's slice of group bg.
__global__ void __launch_bounds__(kThreads) group_stats_kernel(const float * __restrict__ x, int64_t group_elems,
                                                               int64_t chunks, float * __restrict__ partial) {
    __shared__ float scratch[32];
    const int64_t bg = blockIdx.y, chunk = blockIdx.x;
    const int64_t per = (group_elems + chunks - 1) / chunks;
    const int64_t begin = chunk * per;
    const int64_t end = begin + per < group_elems ? begin + per : group_elems;
    const int64_t count = end > begin ? end - begin : 0;
    const float * xs = x + bg * group_elems;
    float s = 0.0f;
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) s += xs[i];
    const float mean = count > 0 ? block_sum(s, scratch) / static_cast<float>(count) : 0.0f;
    float q = 0.0f;
    for (int64_t i = begin + threadIdx.x; i < end; i += kThreads) {
        const float dlt = xs[i] - mean;
        q = fmaf(dlt, dlt, q);
    }
    const float m2 = count > 0 ? block_sum(q, scratch) : 0.0f;
    if (threadIdx.x == 0) {
        float * out = partial + (bg * chunks + chunk) * 3;
        out[0] = static_cast<float>(count);
        out[1] = mean;
        out[2] = m2;
    }
}

// stats[bg * 2 + {0, 1}] = {mean, rstd}: merges the chunks in double.
__global__ void group_finalize_kernel(const float * __restrict__ partial, int64_t groups_total, int64_t chunks, float eps,
                                      float * __restrict__ stats) {
    const int64_t bg = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (bg >= groups_total) return;
    double n = 0.0, mean = 0.0, m2 = 0.0;
    for (int64_t c = 0; c < chunks; ++c) {
        const float * pc = partial + (bg * chunks + c) * 3;
        const double nb = pc[0];
        if (nb <= 0.0) continue;
        const double mb = pc[1], m2b = pc[2];
        const double tot = n + nb;
        const double delta = mb - mean;
        mean += delta * nb / tot;
        m2 += m2b + delta * delta * n * nb / tot;
        n = tot;
    }
    const double var = n > 0.0 ? m2 / n : 0.0;
    stats[bg * 2] = static_cast<float>(mean);
    stats[bg * 2 + 1] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
}

__global__ void __launch_bounds__(kThreads) group_apply_kernel(const float * x, float * y, int64_t total, int64_t channels,
                                                               int64_t hw, int64_t cpg, const float * __restrict__ gamma,
                                                               const float * __restrict__ beta,
                                                               const float * __restrict__ stats, bool silu) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * kThreads) {
        const int64_t bc = i / hw;          // b * channels + c
        const int64_t c = bc % channels;
        const int64_t bg = (bc - c) / channels * (channels / cpg) + c / cpg;
        const float mean = stats[bg * 2], rstd = stats[bg * 2 + 1];
        const float ga = gamma != nullptr ? gamma[c] : 1.0f;
        const float be = beta != nullptr ? beta[c] : 0.0f;
        float v = (x[i] - mean) * (rstd * ga) + be;
        if (silu) v = v / (1.0f + expf(-v));
        y[i] = v;
    }
}

}  // namespace

size_t group_norm_scratch_bytes(int64_t batch, int64_t channels, int64_t hw, int64_t groups) {
    const int64_t bg = batch * groups;
    const int64_t chunks = chunks_per_group(channels / groups * hw);
    return static_cast<size_t>(bg * chunks * 3 + bg * 2) * sizeof(float);
}

cudaError_t launch_group_norm(const GroupNormLaunch & a, void * scratch, cudaStream_t stream) {
    if (a.batch <= 0 || a.channels <= 0 || a.hw <= 0) return cudaSuccess;
    if (a.groups <= 0 || a.channels % a.groups != 0 || a.batch * a.groups > 65535) return cudaErrorInvalidValue;
    const int64_t cpg = a.channels / a.groups;
    const int64_t group_elems = cpg * a.hw;
    const int64_t bg = a.batch * a.groups;
    const int64_t chunks = chunks_per_group(group_elems);
    float * partial = static_cast<float *>(scratch);
    float * stats = partial + bg * chunks * 3;
    group_stats_kernel<<<dim3(static_cast<unsigned>(chunks), static_cast<unsigned>(bg)), kThreads, 0, stream>>>(a.x, group_elems,
                                                                                                              chunks, partial);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    group_finalize_kernel<<<static_cast<unsigned>((bg + 127) / 128), 128, 0, stream>>>(partial, bg, chunks, a.eps, stats);
    e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const int64_t total = a.batch * a.channels * a.hw;
    group_apply_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(a.x, a.y, total, a.channels, a.hw, cpg, a.gamma, a.beta,
                                                                          stats, a.silu);
    return cudaGetLastError();
}

}  // namespace sdn::cuda
