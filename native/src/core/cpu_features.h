// CPU feature detection (cpuid + OS support via xgetbv) and the SIMD level the kernels dispatch to.
#pragma once

#include <string>

namespace sdn {

enum class SimdLevel { Portable = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
    bool sse42 = false;
    bool avx = false;
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512dq = false;
    bool avx512_bf16 = false;
    bool avx512_vnni = false;
    std::string vendor;
    std::string brand;
};

// Detected once per call (cheap); pure function of the machine.
CpuFeatures detect_cpu_features();

// Best level the machine supports.
SimdLevel best_simd_level(const CpuFeatures & f);

// Level to use: the best one, optionally lowered by the environment variable SDN_SIMD
// ("portable", "avx2", "avx512"); a request above what the machine supports is clamped.
SimdLevel select_simd_level(const CpuFeatures & f);

const char * simd_level_name(SimdLevel level);

}  // namespace sdn
