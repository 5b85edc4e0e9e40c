// Per-ISA row primitives behind the normalisation and elementwise kernels (group_norm.cpp,
// layer_norm.cpp, activations.cpp, elementwise.cpp). Implemented once in row_ops_impl.h against the
// SIMD traits and instantiated as row_ops_<isa>.cpp.
#pragma once

#include "core/cpu_features.h"

#include <cstdint>

namespace sdn::cpu {

struct RowOps {
    // sum of x[0:n] (double across 4096-element float chunks)
    double (*sum)(const float * x, int64_t n);
    // sum of (x - mean)^2
    double (*sumsq_centered)(const float * x, int64_t n, float mean);
    // y = act((x - sub) * scale + shift), act as cpu::Activation
    void (*affine_act)(const float * x, float * y, int64_t n, float sub, float scale, float shift, int act);
    // y = (x - mean) * rstd * gamma + beta (gamma, beta may be null: 1 / 0)
    void (*normalize)(const float * x, float * y, int64_t n, float mean, float rstd, const float * gamma,
                      const float * beta);
    // y = a * gelu(g)
    void (*geglu)(const float * a, const float * g, float * y, int64_t n);
    // y = a + b
    void (*add)(const float * a, const float * b, float * y, int64_t n);
};

const RowOps & row_ops(SimdLevel level);
const RowOps & row_ops_avx512();
const RowOps & row_ops_avx2();
const RowOps & row_ops_portable();

}  // namespace sdn::cpu
