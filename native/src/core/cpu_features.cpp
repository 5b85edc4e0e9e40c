#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SDN_X86 1
#endif

namespace sdn {

#if SDN_X86
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }

static unsigned long long xgetbv0() {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

CpuFeatures detect_cpu_features() {
    CpuFeatures f;
#if SDN_X86
    unsigned r[4];
    cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    char vendor[13];
    std::memcpy(vendor + 0, &r[1], 4);
    std::memcpy(vendor + 4, &r[3], 4);
    std::memcpy(vendor + 8, &r[2], 4);
    vendor[12] = '\0';
    f.vendor = vendor;

    cpuid(1, 0, r);
    const bool osxsave = (r[2] >> 27) & 1;
    f.sse42 = (r[2] >> 20) & 1;
    f.fma = (r[2] >> 12) & 1;
    f.f16c = (r[2] >> 29) & 1;
    const bool avx_hw = (r[2] >> 28) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    const bool os_ymm = (xcr0 & 0x6) == 0x6;
    const bool os_zmm = (xcr0 & 0xe6) == 0xe6;
    f.avx = avx_hw && os_ymm;
    if (!f.avx) f.fma = f.f16c = false;

    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f.avx2 = f.avx && ((r[1] >> 5) & 1);
        f.avx512f = os_zmm && ((r[1] >> 16) & 1);
        f.avx512dq = f.avx512f && ((r[1] >> 17) & 1);
        f.avx512bw = f.avx512f && ((r[1] >> 30) & 1);
        f.avx512vl = f.avx512f && ((r[1] >> 31) & 1);
        f.avx512_vnni = f.avx512f && ((r[2] >> 11) & 1);
        cpuid(7, 1, r);
        f.avx512_bf16 = f.avx512f && ((r[0] >> 5) & 1);
    }

    cpuid(0x80000000u, 0, r);
    if (r[0] >= 0x80000004u) {
        char brand[49];
        for (unsigned i = 0; i < 3; ++i) {
            cpuid(0x80000002u + i, 0, r);
            std::memcpy(brand + 16 * i, r, 16);
        }
        brand[48] = '\0';
        const char * b = brand;
        while (*b == ' ') ++b;
        f.brand = b;
    }
#endif
    return f;
}

SimdLevel best_simd_level(const CpuFeatures & f) {
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c) return SimdLevel::Avx512;
    if (f.avx2 && f.fma && f.f16c) return SimdLevel::Avx2;
    return SimdLevel::Portable;
}

SimdLevel select_simd_level(const CpuFeatures & f) {
    SimdLevel best = best_simd_level(f);
    const char * env = std::getenv("SDN_SIMD");
    if (env == nullptr || *env == '\0') return best;
    SimdLevel want = best;
    if (std::strcmp(env, "portable") == 0) want = SimdLevel::Portable;
    else if (std::strcmp(env, "avx2") == 0) want = SimdLevel::Avx2;
    else if (std::strcmp(env, "avx512") == 0) want = SimdLevel::Avx512;
    return static_cast<int>(want) < static_cast<int>(best) ? want : best;
}

const char * simd_level_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::Portable: return "portable";
        case SimdLevel::Avx2: return "avx2";
        case SimdLevel::Avx512: return "avx512";
    }
    return "portable";
}

}  // namespace sdn
