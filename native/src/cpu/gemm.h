// CPU float32 GEMM: row-major, multi-threaded on the context's pool, dispatched by SIMD level.
#pragma once

#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace sdn::cpu {

void gemm_f32(ThreadPool & pool, SimdLevel level, const GemmF32Args & args, const ExecControl & control);

// Portable implementation (any CPU); also the fallback for levels without a specialised kernel.
void gemm_f32_portable(ThreadPool & pool, const GemmF32Args & args, const ExecControl & control);

}  // namespace sdn::cpu
