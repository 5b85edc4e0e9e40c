// Scaled dot-product attention on the device, flash style: one pass over the keys in tiles with an
// online softmax in float32; no [nq, nk] matrix is stored. Operands use the backend's AttnOperand layout
// ([batch, seq, heads * head_dim] rows with a row stride); the output is dense [batch, nq, heads * head_dim].
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

struct AttentionLaunch {
    const float * q = nullptr;
    int64_t q_stride = 0;  // elements between consecutive query rows
    const float * k = nullptr;
    int64_t k_stride = 0;
    const float * v = nullptr;
    int64_t v_stride = 0;
    float * out = nullptr;
    int64_t batch = 1, heads = 1, nq = 0, nk = 0, head_dim = 0;
    float scale = 1.0f;
    bool causal = false;  // query i sees keys j <= i + (nk - nq); rows that see no key are 0
};

// Largest head_dim the kernel takes.
constexpr int64_t kAttentionMaxHeadDim = 512;

// cudaErrorInvalidValue when head_dim is outside [1, kAttentionMaxHeadDim].
cudaError_t launch_attention(const AttentionLaunch & a, cudaStream_t stream);

}  // namespace sdn::cuda
