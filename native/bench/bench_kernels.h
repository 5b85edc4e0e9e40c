// CPU kernel benchmarks (bench_kernels.cpp), called from bench_main.cpp.
#pragma once

#include <string>

// Prints JSON lines for the machine FMA peak and every CPU kernel bench whose stage name contains
// `only` (all when empty). Returns the process exit code.
int run_cpu_kernel_benches(double seconds, const std::string & only);
