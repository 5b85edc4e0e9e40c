// Pure FMA-throughput loop (the machine's float32 ceiling): NACC independent accumulator chains so
// that FMA latency is hidden, no memory traffic. Include from fma_peak_<isa>.cpp after the traits.
#pragma once

#include <cstdint>

namespace sdn::cpu::SDN_FMA_NS {

// Runs `iters` iterations of NACC vector FMAs; returns a value depending on every result so the
// compiler keeps the work. Flops = iters * NACC * 2 * V::W.
template <class V, int NACC>
float fma_loop(int64_t iters, float seed) {
    using R = typename V::R;
    R acc[NACC];
#pragma GCC unroll 32
    for (int i = 0; i < NACC; ++i) acc[i] = V::set1(seed * static_cast<float>(i + 1));
    const R mul = V::set1(0.999999f), add = V::set1(1e-7f);
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
        for (int i = 0; i < NACC; ++i) acc[i] = V::fmadd(acc[i], mul, add);
        __asm__ volatile("" ::: "memory");
    }
    R s = acc[0];
#pragma GCC unroll 32
    for (int i = 1; i < NACC; ++i) s = V::add(s, acc[i]);
    return V::reduce_add(s);
}

}  // namespace sdn::cpu::SDN_FMA_NS
