// CPU GEMM: row-major, packed and cache-blocked, multi-threaded on the context's pool, dispatched by
// SIMD level (AVX-512 14x32 and AVX2 6x16 FMA register tiles; a scalar-traits build of the same packed
// driver for other CPUs). See gemm.cpp for the blocking scheme and gemm_kernel_impl.h for the kernels.
#pragma once

#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

#include <cstdint>

namespace sdn::cpu {

// Element type of an operand that is widened to float32 while it is packed (weights stored as f16 or
// bf16 in model files). Activations and C are always float32.
enum class DType : int { F32 = 0, F16 = 1, BF16 = 2 };

const char * dtype_name(DType t);
inline int64_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

// C = alpha * op(A) * op(B) + beta * C (+ bias), row-major, op(X) = X or X^T.
// op(A) is m x k, op(B) is k x n, C is m x n; lda/ldb/ldc are row strides in elements of the
// operand's own type. A and B may be f32, f16 or bf16 (see DType); beta == 0 overwrites C (NaN in C
// never leaks through). `bias_n` (optional, n floats) is added to every row of C after the product,
// `bias_m` (optional, m floats) to every column.
struct GemmArgs {
    bool trans_a = false;
    bool trans_b = false;
    int64_t m = 0, n = 0, k = 0;
    float alpha = 1.0f;
    const void * a = nullptr;
    DType a_type = DType::F32;
    int64_t lda = 0;
    const void * b = nullptr;
    DType b_type = DType::F32;
    int64_t ldb = 0;
    float beta = 0.0f;
    float * c = nullptr;
    int64_t ldc = 0;
    const float * bias_n = nullptr;
    const float * bias_m = nullptr;
};

// Internal entry point with element types and bias. Validates (throws sdn::Error), polls `control`
// between blocks of C when not null.
void gemm(ThreadPool & pool, SimdLevel level, const GemmArgs & args, const ExecControl * control = nullptr);

// The backend entry point (float32 operands).
void gemm_f32(ThreadPool & pool, SimdLevel level, const GemmF32Args & args, const ExecControl & control);

// Simple blocked implementation (any CPU, f32 only), kept as a second reference implementation.
void gemm_f32_portable(ThreadPool & pool, const GemmF32Args & args, const ExecControl & control);

// ---------------------------------------------------------------------------------------------------
// Per-ISA building blocks, shared by the GEMM driver and the convolution (cpu/conv2d.cpp).
//
// Packed A: panels of MR rows; panel p holds op(A)[i0 + p*MR + r][k0 + kk] at [kk * MR + r] (rows past
//   the end are zero). Packed B: panels of NR columns; panel q holds op(B)[k0 + kk][j0 + q*NR + c] at
//   [kk * NR + c] (columns past the end are zero). Panels of one block lie back to back.
// ---------------------------------------------------------------------------------------------------
struct GemmMatrix {
    const void * data = nullptr;
    DType type = DType::F32;
    bool trans = false;  // true: element (r, c) of op(X) is at data[c * ld + r]
    int64_t ld = 0;
};

struct GemmIsa {
    const char * name;
    int mr;
    int nr;
    // op(A)[i0:i0+mc, k0:k0+kc] * alpha into MR panels
    void (*pack_a)(const GemmMatrix & a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float alpha, float * dst);
    // op(B)[k0:k0+kc, j0:j0+nc] into NR panels
    void (*pack_b)(const GemmMatrix & b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float * dst);
    // C[0:mc, 0:nc] (row stride ldc) = packedA * packedB + (accumulate ? C : beta * C); beta == 0 and
    // !accumulate overwrite C.
    void (*macro)(int64_t mc, int64_t nc, int64_t kc, const float * pa, const float * pb, float * c, int64_t ldc,
                  float beta, bool accumulate);
};

const GemmIsa & gemm_isa(SimdLevel level);
const GemmIsa & gemm_isa_avx512();
const GemmIsa & gemm_isa_avx2();
const GemmIsa & gemm_isa_portable();

}  // namespace sdn::cpu
