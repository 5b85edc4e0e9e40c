// Scalar IEEE half (f16) and bfloat16 <-> float32 conversions (no ISA requirement). Vectorised
// conversions live next to the kernels that need them (F16C / AVX-512 paths in native/src/cpu/).
// The functions are `static inline` on purpose: this header is included by translation units built
// with different ISA flags, and internal linkage keeps the linker from sharing one ISA's copy.
#pragma once

#include <cstdint>
#include <cstring>

namespace sdn {

static inline float bits_to_float(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t float_to_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// bfloat16 is the high half of a float32: widening is exact.
static inline float bf16_to_f32(uint16_t h) { return bits_to_float(static_cast<uint32_t>(h) << 16); }

// Round to nearest even; NaN stays NaN (quiet).
static inline uint16_t f32_to_bf16(float f) {
    uint32_t u = float_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

// IEEE binary16 -> binary32, exact (subnormals, infinities and NaN included).
static inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        // zero or subnormal: man * 2^-24
        const float mag = static_cast<float>(man) * (1.0f / 16777216.0f);
        return bits_to_float(float_to_bits(mag) | sign);
    }
    if (exp == 31) return bits_to_float(sign | 0x7f800000u | (man << 13));
    return bits_to_float(sign | ((exp + 112u) << 23) | (man << 13));
}

// binary32 -> binary16, round to nearest even, overflow to infinity.
static inline uint16_t f32_to_f16(float f) {
    const uint32_t u = float_to_bits(f);
    const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
    if (a < 0x38800000u) {
        // result is subnormal or zero: value * 2^24 rounded to an integer (nearest even)
        const float mag = bits_to_float(a) * 16777216.0f;
        // float rounding of mag + 2^23 - 2^23 gives nearest even for mag < 2^23
        const float r = (mag + 8388608.0f) - 8388608.0f;
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
    }
    uint32_t v = a - 0x38000000u;  // rebias exponent 127 -> 15 (still with 23 mantissa bits)
    v += 0xfffu + ((v >> 13) & 1u);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(v >> 13));
}

}  // namespace sdn
