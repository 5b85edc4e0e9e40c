// SIMD traits contract, scalar edition (width 1, any CPU). The ISA editions (simd_avx2.h,
// simd_avx512.h) provide the same static functions on vector registers:
//   R, W, zero, set1, load, store, load_n/store_n (first n lanes, others zero / untouched),
//   load_f16/load_bf16 (W halves widened), add sub mul div, fmadd(a,b,c)=a*b+c, fnmadd(a,b,c)=c-a*b,
//   max min abs, with_sign_of(m,s), round (to nearest even), pow2i (2^n, n integral in [-126,127]),
//   reduce_add, reduce_max.
#pragma once

#include "core/half.h"

#include <cmath>
#include <cstdint>

namespace sdn::cpu::isa_portable {

struct V {
    using R = float;
    static constexpr int W = 1;
    static constexpr const char * name = "portable";

    static inline R zero() { return 0.0f; }
    static inline R set1(float x) { return x; }
    static inline R load(const float * p) { return *p; }
    static inline void store(float * p, R v) { *p = v; }
    static inline R load_n(const float * p, int n) { return n > 0 ? *p : 0.0f; }
    static inline void store_n(float * p, R v, int n) {
        if (n > 0) *p = v;
    }
    static inline R load_f16(const uint16_t * p) { return f16_to_f32(*p); }
    static inline R load_bf16(const uint16_t * p) { return bf16_to_f32(*p); }
    static inline R add(R a, R b) { return a + b; }
    static inline R sub(R a, R b) { return a - b; }
    static inline R mul(R a, R b) { return a * b; }
    static inline R div(R a, R b) { return a / b; }
    static inline R fmadd(R a, R b, R c) { return a * b + c; }
    static inline R fnmadd(R a, R b, R c) { return c - a * b; }
    static inline R max(R a, R b) { return a > b ? a : b; }
    static inline R min(R a, R b) { return a < b ? a : b; }
    static inline R abs(R a) { return std::fabs(a); }
    static inline R with_sign_of(R m, R s) { return bits_to_float(float_to_bits(m) | (float_to_bits(s) & 0x80000000u)); }
    static inline R round(R a) { return std::nearbyint(a); }
    static inline R pow2i(R n) { return bits_to_float(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23); }
    static inline float reduce_add(R a) { return a; }
    static inline float reduce_max(R a) { return a; }
};

}  // namespace sdn::cpu::isa_portable
