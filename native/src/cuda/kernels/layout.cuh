// Data movement on the device: batched transposes (NCHW <-> NHWC), channel concatenation, zero padding,
// nearest-neighbour resize (torch 'nearest': src = min(in - 1, floor(dst * (in / out))) in float32).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sdn::cuda {

// y[b][j][i] = x[b][i][j] for x [batch, rows, cols]; y must not overlap x.
cudaError_t launch_transpose(const float * x, float * y, int64_t batch, int64_t rows, int64_t cols, cudaStream_t stream);
// y [batch, ca + cb, hw] = cat(a [batch, ca, hw], b [batch, cb, hw])
cudaError_t launch_concat_channels(const float * a, int64_t ca, const float * b, int64_t cb, float * y, int64_t batch,
                                   int64_t hw, cudaStream_t stream);
// Zero padding of [planes, h, w] by (top, left, bottom, right).
cudaError_t launch_pad2d(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t top, int64_t left,
                         int64_t bottom, int64_t right, cudaStream_t stream);
cudaError_t launch_resize_nearest(const float * x, float * y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                  cudaStream_t stream);

}  // namespace sdn::cuda
