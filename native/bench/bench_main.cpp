// sdn_bench: native benchmark binary (no Node needed, so it runs on GPU machines as is). Prints one JSON
// object per line.
//
//   sdn_bench [--seconds S] [--size N] [--only SUBSTRING]
//       The GEMM ceiling of each available backend, then the CPU kernels (GEMM at Stable Diffusion shapes,
//       convolution, attention) as GFLOP/s and as a percentage of the machine's pure-FMA float32 peak.
//   sdn_bench --model DIR [--backend cpu|cuda] [--repeats N] [--stages LIST] [--seconds S]
//       The network stages of a diffusers folder (e.g. one made by `sd-native make-random-model`).
//   sdn_bench --synthetic sd15|sd21-v [--keep DIR] [--configs DIR] [--backend cpu|cuda] [--repeats N]
//             [--stages LIST] [--seconds S]
//       Writes a full-size random-weight folder of SD1.5 or SD2.1-v (F16, about 2.1 / 2.6 GB) from the
//       configs in native/bench/configs into a temporary directory (removed afterwards), or into DIR with
//       --keep (reused when it already holds matching files), then runs the network stages on it.
//
//   sdn_bench --cuda-ops [...]
//       CUDA op benchmarks at SD 1.5 shapes, with their own options (bench_cuda_ops.h).
//
// Network stages (--stages, comma-separated): text, unet32, unet64, unet96, vae256, vae512, vae768; by
// default all but unet96 / vae768, which are added for 768-px models (UNet sample_size >= 96). --backend
// cuda makes the context without CPU fallback; when CUDA is unusable one JSON line gives the reason and
// the exit code is 0.
#include "sd_native.h"

#include "bench_kernels.h"
#include "bench_networks.h"
#include "synthetic_model.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void usage() {
    std::fprintf(stderr,
                 "usage: sdn_bench [--seconds S] [--size N] [--only SUBSTRING]\n"
                 "       sdn_bench --model DIR [--backend cpu|cuda] [--repeats N] [--stages LIST] [--seconds S]\n"
                 "       sdn_bench --synthetic sd15|sd21-v [--keep DIR] [--configs DIR] [--backend cpu|cuda] [--repeats N]\n"
                 "                 [--stages LIST] [--seconds S]\n"
                 "       sdn_bench --cuda-ops [options of bench_cuda_ops.h]\n"
                 "stages: %s (default: all but unet96,vae768, which are added for 768-px models)\n",
                 network_stage_ids());
}

void print_error(const std::string & message) {
    std::string escaped;
    for (char c : message) escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    std::printf("{\"error\":\"%s\"}\n", escaped.c_str());
    std::fflush(stdout);
}

// --synthetic NAME: write (or reuse) the random-weight folder, then run the network stages on it.
int run_synthetic(const std::string & name, const std::string & keep, const std::string & configs, NetworkBenchOptions opt) {
    bool known = false;
    for (const std::string & n : sdn_bench::synthetic_model_names()) known = known || n == name;
    if (!known) {
        print_error("--synthetic: unknown model '" + name + "' (known: sd15, sd21-v)");
        return 2;
    }
    std::string tried;
    const std::string root = sdn_bench::find_config_root(configs, tried);
    if (root.empty()) {
        print_error("--synthetic: no bench configs found (tried " + tried + "); pass --configs <repo>/native/bench/configs");
        return 1;
    }
    // The context first: no point writing gigabytes for a backend that is not there.
    sdn_context * ctx = create_bench_context(opt.backend);
    if (ctx == nullptr) return 0;
    const std::string dir = keep.empty() ? sdn_bench::make_temp_dir(name) : keep;
    if (dir.empty()) {
        print_error("--synthetic: cannot create a temporary directory");
        sdn_context_free(ctx);
        return 1;
    }
    std::string error;
    int rc = 0;
    if (sdn_bench::prepare_synthetic_model(root, name, dir, error)) {
        opt.model_dir = dir;
        rc = run_network_benches(ctx, opt);
    } else {
        print_error("--synthetic: " + error);
        rc = 1;
    }
    sdn_context_free(ctx);
    if (keep.empty()) sdn_bench::remove_synthetic_model(dir);
    return rc;
}

}  // namespace

#include "bench_cuda_ops.h"

int main(int argc, char ** argv) {
    // --cuda-ops: CUDA op benchmarks at SD 1.5 shapes (bench_cuda_ops.h), with their own options.
    for (int i = 1; i < argc; ++i)
        if (!std::strcmp(argv[i], "--cuda-ops")) return run_cuda_op_benches(argc, argv);
    double seconds = 2.0;
    long long size = 1024;
    std::string only, model, synthetic, keep, configs, backend = "cpu";
    NetworkBenchOptions net;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (!std::strcmp(argv[i], "--seconds") && has_value) seconds = std::atof(argv[++i]);
        else if (!std::strcmp(argv[i], "--size") && has_value) size = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--only") && has_value) only = argv[++i];
        else if (!std::strcmp(argv[i], "--model") && has_value) model = argv[++i];
        else if (!std::strcmp(argv[i], "--repeats") && has_value) net.repeats = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--synthetic") && has_value) synthetic = argv[++i];
        else if (!std::strcmp(argv[i], "--keep") && has_value) keep = argv[++i];
        else if (!std::strcmp(argv[i], "--configs") && has_value) configs = argv[++i];
        else if (!std::strcmp(argv[i], "--backend") && has_value) backend = argv[++i];
        else if (!std::strcmp(argv[i], "--stages") && has_value) net.stages = argv[++i];
        else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            usage();
            return 0;
        } else {
            // Not an error: other modes of this binary parse their own options out of argv.
            std::fprintf(stderr, "sdn_bench: ignoring argument '%s' (--help for usage)\n", argv[i]);
        }
    }
    if (backend != "cpu" && backend != "cuda") {
        print_error("--backend must be cpu or cuda, got '" + backend + "'");
        return 2;
    }
    std::string stage_error;
    if (!validate_network_stages(net.stages, stage_error)) {
        print_error("--stages: " + stage_error);
        return 2;
    }
    net.backend = backend == "cuda" ? SDN_BACKEND_CUDA : SDN_BACKEND_CPU;
    net.peak_seconds = seconds;
    if (net.repeats < 1) net.repeats = 1;
    if (!synthetic.empty()) return run_synthetic(synthetic, keep, configs, net);
    // --model <diffusers folder>: the network stages only (text encoder, UNet, VAE decode).
    if (!model.empty()) {
        sdn_context * ctx = create_bench_context(net.backend);
        if (ctx == nullptr) return 0;
        net.model_dir = model;
        const int rc = run_network_benches(ctx, net);
        sdn_context_free(ctx);
        return rc;
    }

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
