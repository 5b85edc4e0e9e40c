// Network-stage benchmarks of a diffusers folder (text encoder, UNet, VAE decode) on the CPU or CUDA
// backend, as JSON lines; called from bench_main.cpp for --model and --synthetic.
#pragma once

#include "sd_native.h"

#include <string>

struct NetworkBenchOptions {
    std::string model_dir;                      // diffusers folder with unet/, vae/, text_encoder/
    sdn_backend_kind backend = SDN_BACKEND_CPU;  // CPU or CUDA (no fallback)
    int repeats = 2;                            // timed runs per stage (best is reported), after one warm-up
    double peak_seconds = 2.0;                  // time spent measuring each ceiling
    // Comma-separated stage ids to run (text, unet32, unet64, unet96, vae256, vae512, vae768); empty = the
    // default set: all but unet96 / vae768, which are added when the UNet's sample_size is >= 96 (768-px
    // models such as SD2.1-v).
    std::string stages;
};

// The stage ids run_network_benches accepts, comma-separated (for usage text and validation).
const char * network_stage_ids();
// Checks a --stages list; false with `error` set when it names an unknown stage.
bool validate_network_stages(const std::string & stages, std::string & error);

// Creates the benchmark context on `backend` with allow_fallback = 0. On failure prints one JSON line
// {"stage":"context","backend":...,"available":false,"reason":...} and returns nullptr.
sdn_context * create_bench_context(sdn_backend_kind backend);

// Prints the ceilings, then one line per stage, then the derived per-image estimate. Returns the process
// exit code (0 also when a stage failed: its line carries "error").
int run_network_benches(sdn_context * ctx, const NetworkBenchOptions & options);
