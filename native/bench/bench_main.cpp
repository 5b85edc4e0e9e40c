// sdn_bench: native benchmark binary (no Node needed, so it runs on GPU machines as is).
// Prints one JSON object per line: the measured GEMM ceiling of each available backend first, then the
// CPU kernels (GEMM at Stable Diffusion shapes, convolution, attention) as GFLOP/s and as a percentage of
// the machine's pure-FMA float32 peak ("fma_peak_gflops").
// `sdn_bench [--seconds S] [--size N] [--only SUBSTRING]`, or `sdn_bench --model <diffusers folder> [--repeats N]`
// for the network stages of a model (e.g. one made by `sd-native make-random-model`).
#include "sd_native.h"

#include "bench_kernels.h"
#include "bench_networks.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char ** argv) {
    double seconds = 2.0;
    long long size = 1024;
    std::string only, model;
    int repeats = 2;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--size") && i + 1 < argc) size = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!std::strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::atoi(argv[++i]);
    }
    // --model <diffusers folder>: the network stages only (text encoder, UNet, VAE decode).
    if (!model.empty()) return run_network_benches(model, repeats < 1 ? 1 : repeats, seconds);
    std::string info(1 << 16, '\0');
    size_t need = 0;
    if (only.empty() && sdn_backend_info_json(info.data(), info.size(), &need, nullptr) == SDN_OK)
        std::printf("{\"backendInfo\":%s}\n", info.c_str());

    for (sdn_backend_kind kind : {SDN_BACKEND_CPU, SDN_BACKEND_CUDA}) {
        if (!only.empty()) break;
        sdn_context_params p = sdn_context_params_init();
        p.backend = kind;
        p.allow_fallback = 0;
        sdn_context * ctx = nullptr;
        sdn_error err;
        const char * name = kind == SDN_BACKEND_CPU ? "cpu" : "cuda";
        if (sdn_context_create(&p, &ctx, &err) != SDN_OK) {
            std::printf("{\"backend\":\"%s\",\"skipped\":true}\n", name);
            continue;
        }
        double gflops = 0;
        if (sdn_measure_gemm_peak(ctx, size, seconds, &gflops, &err) == SDN_OK)
            std::printf("{\"backend\":\"%s\",\"stage\":\"gemm_f32_peak\",\"size\":%lld,\"threads\":%d,\"gflops\":%.1f}\n", name,
                        size, sdn_context_n_threads(ctx), gflops);
        else
            std::printf("{\"backend\":\"%s\",\"stage\":\"gemm_f32_peak\",\"error\":\"%s\"}\n", name, err.message);
        std::fflush(stdout);
        sdn_context_free(ctx);
    }
    return run_cpu_kernel_benches(seconds, only);
}
