// CPU GEMM: row-major, packed and cache-blocked, multi-threaded on the context's pool, dispatched by
// SIMD level (AVX-512 14x32 and AVX2 6x16 FMA register tiles; a scalar-traits build of the same packed
// driver for other CPUs). See gemm.cpp for the blocking scheme and gemm_kernel_impl.h for the kernels.
#pragma once

#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "cpu/gemm_compute.h"

#include <cstdint>
#include <memory>

namespace sdn::cpu {

// Element type of an operand that is widened to float32 while it is packed (weights stored as f16 or
// bf16 in model files). Activations and C are always float32.
enum class DType : int { F32 = 0, F16 = 1, BF16 = 2 };

const char * dtype_name(DType t);
inline int64_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

// A weight matrix already packed into the GEMM panel layout of one SIMD level (see the block comment on
// GemmIsa below), widened to float32: pack once at model load, reuse on every call, and the per-call
// packing (which costs as much as the product itself for small images / few tokens) disappears.
// Made by pack_gemm_b (the B operand of a linear layer) or pack_conv2d_weights (cpu/kernels.h).
struct PackedMatrix {
    SimdLevel level = SimdLevel::Portable;
    bool a_side = false;   // packed as the A operand (MR-row panels) rather than B (NR-column panels)
    int64_t outer = 0;     // rows of A (m) or columns of B (n)
    int64_t k = 0;
    int64_t kc = 0;        // K block size the panels were cut with
    int64_t outer_pad = 0; // outer rounded up to the panel size
    bool bf16 = false;     // packed by the bf16 kernel table (bf16 pairs, see gemm_compute.h)
    std::shared_ptr<float> data;  // kc-blocks back to back: block kb at data + k0 * outer_pad
    size_t bytes() const { return static_cast<size_t>(k * outer_pad) * sizeof(float); }
};

// K block size the GEMM driver uses for depth k (packed matrices must be cut the same way).
int64_t gemm_kc(int64_t k);

// Packs op(B) (k x n, element type `type`, row stride ldb, transposed when trans_b: a [n, k] weight
// of a linear layer is trans_b = true, ldb = k) for `level`.
PackedMatrix pack_gemm_b(ThreadPool & pool, SimdLevel level, const void * b, DType type, bool trans_b, int64_t ldb,
                         int64_t k, int64_t n);

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
    // Optional: op(B) pre-packed by pack_gemm_b for the same level, k and n (b, b_type, trans_b and
    // ldb are then ignored).
    const PackedMatrix * packed_b = nullptr;
};

// Internal entry point with element types and bias. Validates (throws sdn::Error), polls `control`
// between blocks of C when not null.
void gemm(ThreadPool & pool, SimdLevel level, const GemmArgs & args, const ExecControl * control = nullptr);

// The backend entry point (float32 operands).
void gemm_f32(ThreadPool & pool, SimdLevel level, const GemmF32Args & args, const ExecControl & control);

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
    // nullptr for float32 tables. Otherwise the panels' element format differs from float32 (bf16: see
    // gemm_compute.h) and this converts, in place, `panels` consecutive float32 panels of width `width`
    // (MR or NR) and depth kc (panel stride kc * width floats, the layout above) into that format. Code
    // that writes panels itself (conv2d im2col, Winograd transforms) calls it before `macro`.
    void (*convert_panels)(int64_t kc, int64_t panels, int64_t width, float * buf);
    bool bf16;  // operands rounded to bfloat16
};

// The table for `level` in the process's compute mode (gemm_compute.h): gemm, pack_matrix, conv2d and
// Winograd all go through it.
const GemmIsa & gemm_isa(SimdLevel level);

// Packs op(X) rows [0, outer) x K [0, k) of `x` into a PackedMatrix (a_side: MR-row panels through
// isa.pack_a, else NR-column panels through isa.pack_b), in parallel on the pool.
// `dst` (optional): caller-owned storage of at least packed_floats(...) floats; the result then does not
// own its data.
PackedMatrix pack_matrix(ThreadPool & pool, SimdLevel level, const GemmMatrix & x, bool a_side, int64_t outer, int64_t k,
                         int64_t kc, float * dst = nullptr);
int64_t packed_floats(SimdLevel level, bool a_side, int64_t outer, int64_t k);
const GemmIsa & gemm_isa_avx512();
const GemmIsa & gemm_isa_avx2();
const GemmIsa & gemm_isa_portable();

}  // namespace sdn::cpu
