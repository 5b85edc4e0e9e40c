// Scaled dot-product attention on tensor cores (flash style, WMMA f16 x f16 -> f32).
//
// Same operands, layout and meaning as launch_attention (attention.cuh): q [batch, nq, heads * head_dim]
// rows with row stride q_stride (elements), k / v likewise with nk rows, output dense
// [batch, nq, heads * head_dim] float32; out = softmax(scale * q k^T) v per (batch, head); causal: query i
// sees keys j <= i + (nk - nq) and a row that sees no key is 0.
//
// Numerics: q, k and v are rounded to f16 (round to nearest even) for the two matrix products, which run
// on tensor cores with f32 accumulation. The scores, the scale, the online softmax (running max and sum)
// and the output accumulators are f32. The softmax weights P are rounded to f16 for the P V product; the
// running sum adds the rounded weights, so every output row is an exact convex combination of the
// f16-rounded v rows (up to f32 accumulation). Inputs beyond the f16 range (|x| > 65504) become +-inf.
#pragma once

#include "cuda/kernels/attention.cuh"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

// Largest head_dim the tensor-core kernel takes.
constexpr int64_t kAttentionMmaMaxHeadDim = 256;

// True when the tensor-core kernel takes this head dim: multiples of 8 from 8 to 256
// (SD uses 40, 64, 80, 160; CLIP 64 / 80).
bool attention_mma_supported(int64_t head_dim);

// Same contract as launch_attention, with q, k, v rounded to f16 for the two matrix products (see above).
// cudaErrorInvalidValue when !attention_mma_supported(head_dim) (checked first, whatever the other
// sizes), or when batch or heads exceed 65535. Empty problems (batch, heads or nq <= 0) launch nothing;
// nk == 0 writes zeros. Asynchronous on `stream`; needs compute capability 7.0+ (the binary's archs).
cudaError_t launch_attention_mma(const AttentionLaunch & a, cudaStream_t stream);

}  // namespace sdn::cuda
