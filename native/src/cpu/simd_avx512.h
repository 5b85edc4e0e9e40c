// SIMD traits for AVX-512F (16 x f32). Include only from *_avx512.cpp translation units.
// Every kernel template is written once against this interface (see simd_scalar.h for the contract)
// and instantiated per ISA in its own namespace, so no inline code compiled with AVX-512 flags can be
// picked by the linker for a portable caller.
#pragma once

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics (the _mm512_undefined_*
// placeholders of masked and reduce intrinsics): a known false positive, silenced for these kernel TUs.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

#include <cstdint>

namespace sdn::cpu::isa_avx512 {

struct V {
    using R = __m512;
    static constexpr int W = 16;
    static constexpr const char * name = "avx512";

    static inline __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
    static inline R zero() { return _mm512_setzero_ps(); }
    static inline R set1(float x) { return _mm512_set1_ps(x); }
    static inline R load(const float * p) { return _mm512_loadu_ps(p); }
    static inline void store(float * p, R v) { _mm512_storeu_ps(p, v); }
    static inline R load_n(const float * p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
    static inline void store_n(float * p, R v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
    static inline R load_f16(const uint16_t * p) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
    }
    static inline R load_bf16(const uint16_t * p) {
        const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
        return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
    }
    static inline R add(R a, R b) { return _mm512_add_ps(a, b); }
    static inline R sub(R a, R b) { return _mm512_sub_ps(a, b); }
    static inline R mul(R a, R b) { return _mm512_mul_ps(a, b); }
    static inline R div(R a, R b) { return _mm512_div_ps(a, b); }
    static inline R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }   // a * b + c
    static inline R fnmadd(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); } // c - a * b
    static inline R max(R a, R b) { return _mm512_max_ps(a, b); }
    static inline R min(R a, R b) { return _mm512_min_ps(a, b); }
    static inline R abs(R a) { return _mm512_abs_ps(a); }
    // sign of s, magnitude of m (m must be >= 0)
    static inline R with_sign_of(R m, R s) {
        const __m512i sign = _mm512_and_si512(_mm512_castps_si512(s), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
        return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(m), sign));
    }
    static inline R round(R a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    // 2^n for integral-valued n in [-126, 127]
    static inline R pow2i(R n) {
        const __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
        return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
    }
    static inline float reduce_add(R a) {
        const R h = _mm512_add_ps(a, _mm512_shuffle_f32x4(a, a, 0xEE));  // lanes 8..15 onto 0..7
        __m128 s = _mm_add_ps(_mm512_castps512_ps128(h), _mm512_castps512_ps128(_mm512_shuffle_f32x4(h, h, 0x55)));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
    static inline float reduce_max(R a) {
        const R h = _mm512_max_ps(a, _mm512_shuffle_f32x4(a, a, 0xEE));
        __m128 s = _mm_max_ps(_mm512_castps512_ps128(h), _mm512_castps512_ps128(_mm512_shuffle_f32x4(h, h, 0x55)));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};

}  // namespace sdn::cpu::isa_avx512
