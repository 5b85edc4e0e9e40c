// Element-type and layout conversions around the library paths (cuBLASLt takes f16 operands, cuDNN's
// tensor-core convolutions take NHWC f16 images and KRSC f16 filters, while the backend's activations are
// f32 NCHW / row-major): each is one bandwidth-bound pass.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

// y[i] = f16(x[i]) (round to nearest even; beyond ±65504 becomes ±inf), n elements.
cudaError_t launch_f32_to_f16(const float * x, void * y_f16, int64_t n, cudaStream_t stream);

// x f32 [batch, channels, hw] -> y f16 [batch, hw, channels].
cudaError_t launch_nchw_f32_to_nhwc_f16(const float * x, void * y_f16, int64_t batch, int64_t channels, int64_t hw,
                                        cudaStream_t stream);

// x f16 [batch, hw, channels] -> y f32 [batch, channels, hw], adding bias[channels] (or null) and
// residual f32 [batch, channels, hw] (or null; may equal y: each element is read, then written, by one thread).
cudaError_t launch_nhwc_f16_to_nchw_f32(const void * x_f16, float * y, int64_t batch, int64_t channels, int64_t hw,
                                        const float * bias, const float * residual, cudaStream_t stream);

// Filter reorder for NHWC convolutions: w f16 [out, in, kh*kw] -> y f16 [out, kh*kw, in].
cudaError_t launch_oihw_to_ohwi_f16(const void * w_f16, void * y_f16, int64_t out_c, int64_t in_c, int64_t khw, cudaStream_t stream);

}  // namespace sdn::cuda
