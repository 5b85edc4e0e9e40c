// Pointwise float32 ops on the device (grid-stride loops; y may equal an input unless noted).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

// act: 0 identity, 1 silu x*sigmoid(x), 2 exact-erf gelu, 3 quick_gelu x*sigmoid(1.702x) (= sdn::Act values)
cudaError_t launch_activation(int act, const float * x, float * y, int64_t n, cudaStream_t stream);
// y[r, :dim] = x[r, :dim] * gelu(x[r, dim:2dim]); y must not overlap x.
cudaError_t launch_geglu(const float * x, float * y, int64_t rows, int64_t dim, cudaStream_t stream);
cudaError_t launch_add(const float * a, const float * b, float * y, int64_t n, cudaStream_t stream);
// y[o][c][i] = x[o][c][i] + bias[o * channels + c]
cudaError_t launch_add_channel_bias(const float * x, const float * bias, float * y, int64_t batch, int64_t channels,
                                    int64_t inner, cudaStream_t stream);
cudaError_t launch_scale(const float * x, float s, float * y, int64_t n, cudaStream_t stream);

// cudaSuccess when this binary holds kernel code the current device can run (cudaFuncGetAttributes on
// one kernel: cudaErrorNoKernelImageForDevice / cudaErrorInvalidDeviceFunction otherwise).
cudaError_t probe_kernel_image();

}  // namespace sdn::cuda
