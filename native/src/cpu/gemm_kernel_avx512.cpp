// AVX-512 GEMM kernels: 14 x 32 register tile (28 zmm accumulators, 2 B vectors, broadcast A), and a
// packing of row-major float32 A that transposes 16 x 16 blocks in registers.
#include "cpu/simd_avx512.h"
#define SDN_GEMM_NS isa_avx512
#include "cpu/gemm_kernel_impl.h"

namespace sdn::cpu {

namespace isa_avx512 {
namespace {

constexpr int kMR = 14;

// out[c] = column c of the 16 x 16 block in rows r (lane i of out[c] = r[i][c]).
inline void transpose16(const __m512 r[16], __m512 out[16]) {
    __m512 t[16], u[16];
    for (int p = 0; p < 8; ++p) {
        t[2 * p] = _mm512_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    for (int g = 0; g < 4; ++g) {
        const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * g + 2]), d = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // u[4g + j] lane l = column 4l + j of rows 4g..4g+3
    for (int j = 0; j < 4; ++j) {
        const __m512 x0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88), y0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        const __m512 x1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88), y1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        out[j] = _mm512_shuffle_f32x4(x0, x1, 0x88);
        out[8 + j] = _mm512_shuffle_f32x4(x0, x1, 0xDD);
        out[4 + j] = _mm512_shuffle_f32x4(y0, y1, 0x88);
        out[12 + j] = _mm512_shuffle_f32x4(y0, y1, 0xDD);
    }
}

void pack_a_fast(const GemmMatrix & a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float alpha, float * dst) {
    if (a.type != DType::F32 || a.trans) {
        pack_a<V, kMR>(a, i0, mc, k0, kc, alpha, dst);
        return;
    }
    const float * base = static_cast<const float *>(a.data);
    const __m512 va = _mm512_set1_ps(alpha);
    const __mmask16 store_mask = static_cast<__mmask16>((1u << kMR) - 1u);
    for (int64_t ip = 0; ip < mc; ip += kMR, dst += kc * kMR) {
        const int rows = static_cast<int>(min_of<int64_t>(kMR, mc - ip));
        const float * src[kMR];
        for (int r = 0; r < kMR; ++r) src[r] = base + (i0 + ip + (r < rows ? r : 0)) * a.ld + k0;
        int64_t kk = 0;
        for (; kk + 16 <= kc; kk += 16) {
            __m512 r16[16], c16[16];
            for (int r = 0; r < 16; ++r)
                r16[r] = r < rows ? _mm512_mul_ps(va, _mm512_loadu_ps(src[r] + kk)) : _mm512_setzero_ps();
            transpose16(r16, c16);
            for (int c = 0; c < 16; ++c) _mm512_mask_storeu_ps(dst + (kk + c) * kMR, store_mask, c16[c]);
        }
        for (; kk < kc; ++kk) {
            float * d = dst + kk * kMR;
            for (int r = 0; r < kMR; ++r) d[r] = r < rows ? alpha * src[r][kk] : 0.0f;
        }
    }
}

}  // namespace
}  // namespace isa_avx512

const GemmIsa & gemm_isa_avx512() {
    static const GemmIsa isa = {"avx512", isa_avx512::kMR, 32, &isa_avx512::pack_a_fast, &isa_avx512::pack_b<isa_avx512::V, 32>,
                                &isa_avx512::macro_kernel<isa_avx512::V, isa_avx512::kMR, 2>, nullptr, false};
    return isa;
}

}  // namespace sdn::cpu
