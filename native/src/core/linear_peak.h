// The ceiling the network benchmarks compare against: the throughput of the backend's own network
// matmul path (Backend::linear with a weight uploaded through make_weight, so the CUDA backend stores it
// the way model weights are stored — f16 on tensor cores by default — and the CPU backend packs it as it
// packs model weights), on square [size, size] x [size, size]^T problems in backend memory.
#pragma once

#include "core/backend.h"
#include "core/exec_control.h"

#include <cstdint>
#include <functional>

namespace sdn {

// Best rate (GFLOP/s) of `run`, each call doing `flop_per_run` operations, over calls lasting about `seconds`
// in total (at least 3). `run` must return only when its work is complete. No warm-up call is made here.
double best_gflops(double flop_per_run, double seconds, const std::function<void()> & run);

// Best GFLOP/s over runs lasting about `seconds` (at least 3 after a warm-up), each run ending with
// Backend::synchronize so device backends are timed to completion. `weight_type` is the host type of the
// weight handed to make_weight (F16 is what SD checkpoints ship). Throws Error on bad arguments or
// allocation failure; backend memory is released on every path.
double measure_linear_peak(Backend & backend, int64_t size, WeightType weight_type, double seconds, const ExecControl & control);

}  // namespace sdn
