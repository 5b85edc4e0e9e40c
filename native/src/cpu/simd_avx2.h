// SIMD traits for AVX2 + FMA + F16C (8 x f32). Include only from *_avx2.cpp translation units.
// Same contract as simd_scalar.h.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace sdn::cpu::isa_avx2 {

struct V {
    using R = __m256;
    static constexpr int W = 8;
    static constexpr const char * name = "avx2";

    static inline __m256i mask(int n) {
        const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
    }
    static inline R zero() { return _mm256_setzero_ps(); }
    static inline R set1(float x) { return _mm256_set1_ps(x); }
    static inline R load(const float * p) { return _mm256_loadu_ps(p); }
    static inline void store(float * p, R v) { _mm256_storeu_ps(p, v); }
    static inline R load_n(const float * p, int n) { return _mm256_maskload_ps(p, mask(n)); }
    static inline void store_n(float * p, R v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
    static inline R load_f16(const uint16_t * p) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
    }
    static inline R load_bf16(const uint16_t * p) {
        const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
    }
    static inline R add(R a, R b) { return _mm256_add_ps(a, b); }
    static inline R sub(R a, R b) { return _mm256_sub_ps(a, b); }
    static inline R mul(R a, R b) { return _mm256_mul_ps(a, b); }
    static inline R div(R a, R b) { return _mm256_div_ps(a, b); }
    static inline R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
    static inline R fnmadd(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }
    static inline R max(R a, R b) { return _mm256_max_ps(a, b); }
    static inline R min(R a, R b) { return _mm256_min_ps(a, b); }
    static inline R abs(R a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
    static inline R with_sign_of(R m, R s) {
        return _mm256_or_ps(m, _mm256_and_ps(s, _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)))));
    }
    static inline R round(R a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
    static inline R pow2i(R n) {
        const __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
        return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
    }
    static inline float reduce_add(R a) {
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
    static inline float reduce_max(R a) {
        __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        s = _mm_max_ps(s, _mm_movehl_ps(s, s));
        s = _mm_max_ss(s, _mm_movehdup_ps(s));
        return _mm_cvtss_f32(s);
    }
};

}  // namespace sdn::cpu::isa_avx2
