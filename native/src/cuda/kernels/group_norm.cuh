// GroupNorm on NCHW float32 with optional fused SiLU, in three launches: per-chunk statistics (mean and
// centred sum of squares of each slice of a group), a merge per (image, group) in double precision
// (Chan et al.), then one elementwise normalise + affine (+ SiLU) pass over the whole tensor. Splitting
// groups into chunks keeps every SM busy even when batch * groups is small (VAE at high resolution).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace sdn::cuda {

struct GroupNormLaunch {
    const float * x = nullptr;  // [batch, channels, hw]; y may equal x
    float * y = nullptr;
    int64_t batch = 1, channels = 0, hw = 0, groups = 1;
    const float * gamma = nullptr;  // [channels] or null (1)
    const float * beta = nullptr;   // [channels] or null (0)
    float eps = 1e-5f;
    bool silu = false;
};

// Device scratch (bytes) launch_group_norm needs for these sizes.
size_t group_norm_scratch_bytes(int64_t batch, int64_t channels, int64_t hw, int64_t groups);

// `scratch`: device memory of group_norm_scratch_bytes().
cudaError_t launch_group_norm(const GroupNormLaunch & a, void * scratch, cudaStream_t stream);

}  // namespace sdn::cuda
