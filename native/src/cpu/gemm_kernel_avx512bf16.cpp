// AVX-512 BF16 GEMM kernels (compute mode bf16, see gemm_compute.h): 14 x 32 register tile, 28 zmm
// accumulators; every step over a K pair loads 2 vectors of packed B (16 columns x 2 k each), broadcasts
// one bf16 pair of packed A per row and issues one VDPBF16PS (32 multiply-adds) per accumulator, twice
// the work of an FMA. Packing reuses the float32 AVX-512 packing routines (widening f16 / bf16, folding
// alpha), then rounds the panels to bf16 pairs in place (VCVTNE2PS2BF16: round to nearest even).
// Built with -mavx512bf16; only reached through gemm_isa_for when the CPU has avx512_bf16.
#include <immintrin.h>

#include "cpu/gemm.h"

#include <cstdint>

namespace sdn::cpu {

namespace isa_avx512bf16 {
namespace {

constexpr int kMR = 14;
constexpr int kNV = 2;
constexpr int kNR = kNV * 16;

// Word permutation that interleaves words 0..15 (lo) with 16..31 (hi): result word 2i = lo[i], 2i+1 = hi[i].
inline __m512i interleave_index() {
    alignas(64) static const uint16_t idx[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                                 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    return _mm512_load_si512(idx);
}

// 16 slots: slot i = bf16(lo[i]) | bf16(hi[i]) << 16.
inline __m512i pair_slots(__m512 lo, __m512 hi, __m512i idx) {
    const __m512i w = reinterpret_cast<__m512i>(_mm512_cvtne2ps_pbh(hi, lo));  // words 0..15 lo, 16..31 hi
    return _mm512_permutexvar_epi16(idx, w);
}

// In place: float32 panels (kc x width, stride kc * width floats) -> bf16 pair slots (see gemm_compute.h).
// Slot row p only overwrites float rows < 2p + 2 that are already read (ascending p, load before store).
void convert_panels(int64_t kc, int64_t panels, int64_t width, float * buf) {
    const __m512i idx = interleave_index();
    const int64_t pairs = kc / 2;
    for (int64_t q = 0; q < panels; ++q, buf += kc * width) {
        for (int64_t c0 = 0; c0 < width; c0 += 16) {
            const int n = static_cast<int>(width - c0 < 16 ? width - c0 : 16);
            const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
            for (int64_t p = 0; p < pairs; ++p) {
                const __m512 lo = _mm512_maskz_loadu_ps(m, buf + 2 * p * width + c0);
                const __m512 hi = _mm512_maskz_loadu_ps(m, buf + (2 * p + 1) * width + c0);
                _mm512_mask_storeu_epi32(buf + p * width + c0, m, pair_slots(lo, hi, idx));
            }
            if (kc & 1) {
                const __m512 lo = _mm512_maskz_loadu_ps(m, buf + (kc - 1) * width + c0);
                _mm512_mask_storeu_epi32(buf + pairs * width + c0, m, pair_slots(lo, _mm512_setzero_ps(), idx));
            }
        }
    }
}

void pack_a(const GemmMatrix & a, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float alpha, float * dst) {
    gemm_isa_avx512().pack_a(a, i0, mc, k0, kc, alpha, dst);
    convert_panels(kc, (mc + kMR - 1) / kMR, kMR, dst);
}

void pack_b(const GemmMatrix & b, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float * dst) {
    gemm_isa_avx512().pack_b(b, k0, kc, j0, nc, dst);
    convert_panels(kc, (nc + kNR - 1) / kNR, kNR, dst);
}

template <int MR>
inline void micro_kernel(int64_t kp, const float * __restrict a, const float * __restrict b, float * c, int64_t ldc,
                         int rows, int cols, float beta, bool accumulate) {
    __m512 acc[MR][kNV];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < kNV; ++j) acc[i][j] = _mm512_setzero_ps();

    const int32_t * ai = reinterpret_cast<const int32_t *>(a);
    for (int64_t p = 0; p < kp; ++p) {
        __m512bh bv[kNV];
#pragma GCC unroll 4
        for (int j = 0; j < kNV; ++j) bv[j] = reinterpret_cast<__m512bh>(_mm512_loadu_ps(b + j * 16));
#pragma GCC unroll 32
        for (int i = 0; i < MR; ++i) {
            const __m512bh av = reinterpret_cast<__m512bh>(_mm512_set1_epi32(ai[i]));
#pragma GCC unroll 4
            for (int j = 0; j < kNV; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], av, bv[j]);
        }
        ai += MR;
        b += kNR;
    }

    const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
        if (i >= rows) break;
        float * ci = c + i * ldc;
#pragma GCC unroll 4
        for (int j = 0; j < kNV; ++j) {
            const int n = cols - j * 16;
            if (n <= 0) break;
            const __mmask16 m = n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
            __m512 v = acc[i][j];
            if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, ci + j * 16), v);
            else if (beta != 0.0f) v = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m, ci + j * 16), v);
            _mm512_mask_storeu_ps(ci + j * 16, m, v);
        }
    }
}

void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const float * pa, const float * pb, float * c, int64_t ldc, float beta,
                  bool accumulate) {
    const int64_t kp = (kc + 1) / 2;
    for (int64_t jp = 0; jp < nc; jp += kNR) {
        const float * bp = pb + (jp / kNR) * kc * kNR;
        const int cols = static_cast<int>(nc - jp < kNR ? nc - jp : kNR);
        for (int64_t ip = 0; ip < mc; ip += kMR) {
            const float * ap = pa + (ip / kMR) * kc * kMR;
            const int rows = static_cast<int>(mc - ip < kMR ? mc - ip : kMR);
            micro_kernel<kMR>(kp, ap, bp, c + ip * ldc + jp, ldc, rows, cols, beta, accumulate);
        }
    }
}

}  // namespace
}  // namespace isa_avx512bf16

const GemmIsa & gemm_isa_avx512bf16() {
    static const GemmIsa isa = {"avx512bf16",
                                isa_avx512bf16::kMR,
                                isa_avx512bf16::kNR,
                                &isa_avx512bf16::pack_a,
                                &isa_avx512bf16::pack_b,
                                &isa_avx512bf16::macro_kernel,
                                &isa_avx512bf16::convert_panels,
                                true};
    return isa;
}

}  // namespace sdn::cpu
