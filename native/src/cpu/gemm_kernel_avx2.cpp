// AVX2 + FMA GEMM kernels: 6 x 16 register tile (12 ymm accumulators, 2 B vectors, broadcast A), and a
// packing of row-major float32 A that transposes 8 x 8 blocks in registers.
#include "cpu/simd_avx2.h"
#define SDN_GEMM_NS isa_avx2
#include "cpu/gemm_kernel_impl.h"

namespace sdn::cpu {

namespace isa_avx2 {
namespace {

constexpr int kMR = 6;

// out[c] = column c of the 8 x 8 block in rows r.
inline void transpose8(const __m256 r[8], __m256 out[8]) {
    __m256 t[8], u[8];
    for (int p = 0; p < 4; ++p) {
        t[2 * p] = _mm256_unpacklo_ps(r[2 * p], r[2 * p + 1]);
        t[2 * p + 1] = _mm256_unpackhi_ps(r[2 * p], r[2 * p + 1]);
    }
    for (int g = 0; g < 2; ++g) {
        const __m256d a = _mm256_castps_pd(t[4 * g]), b = _mm256_castps_pd(t[4 * g + 1]);
        const __m256d c = _mm256_castps_pd(t[4 * g + 2]), d = _mm256_castps_pd(t[4 * g + 3]);
        u[4 * g + 0] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, c));
        u[4 * g + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, c));
        u[4 * g + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(b, d));
        u[4 * g + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(b, d));
    }
    // u[4g + j] lane l = column 4l + j of rows 4g..4g+3
    for (int j = 0; j < 4; ++j) {
        out[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        out[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

void pack_a_fast(const GemmMatrix & a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float alpha, float * dst) {
    if (a.type != DType::F32 || a.trans) {
        pack_a<V, kMR>(a, i0, mc, k0, kc, alpha, dst);
        return;
    }
    const float * base = static_cast<const float *>(a.data);
    const __m256 va = _mm256_set1_ps(alpha);
    const __m256i store_mask = V::mask(kMR);
    for (int64_t ip = 0; ip < mc; ip += kMR, dst += kc * kMR) {
        const int rows = static_cast<int>(min_of<int64_t>(kMR, mc - ip));
        const float * src[kMR];
        for (int r = 0; r < kMR; ++r) src[r] = base + (i0 + ip + (r < rows ? r : 0)) * a.ld + k0;
        int64_t kk = 0;
        for (; kk + 8 <= kc; kk += 8) {
            __m256 r8[8], c8[8];
            for (int r = 0; r < 8; ++r) r8[r] = r < rows ? _mm256_mul_ps(va, _mm256_loadu_ps(src[r] + kk)) : _mm256_setzero_ps();
            transpose8(r8, c8);
            for (int c = 0; c < 8; ++c) _mm256_maskstore_ps(dst + (kk + c) * kMR, store_mask, c8[c]);
        }
        for (; kk < kc; ++kk) {
            float * d = dst + kk * kMR;
            for (int r = 0; r < kMR; ++r) d[r] = r < rows ? alpha * src[r][kk] : 0.0f;
        }
    }
}

}  // namespace
}  // namespace isa_avx2

const GemmIsa & gemm_isa_avx2() {
    static const GemmIsa isa = {"avx2", isa_avx2::kMR, 16, &isa_avx2::pack_a_fast, &isa_avx2::pack_b<isa_avx2::V, 16>,
                                &isa_avx2::macro_kernel<isa_avx2::V, isa_avx2::kMR, 2>, nullptr, false};
    return isa;
}

}  // namespace sdn::cpu
