// Network stages of a diffusers model folder (e.g. one written by `sd-native make-random-model`): text
// encoder (77 tokens), UNet at batch 2 (CFG) for 32x32 and 64x64 latents, VAE decode at 256^2 and 512^2.
// Each stage: one warm-up (sizes the activation arena), then the best of `repeats` timed runs; FLOPs are
// counted by the backend's matrix ops during the run. Ratios are to the GEMM peak measured in this run.
#include "bench_networks.h"

#include "sd_native.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <vector>

namespace {

bool file_exists(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read_text(const std::string & p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string weights_path(const std::string & dir) {
    for (const char * name : {"diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.safetensors", "model.fp16.safetensors",
                              "model.safetensors"})
        if (file_exists(dir + "/" + name)) return dir + "/" + name;
    return "";
}

sdn_model * load(sdn_context * ctx, const std::string & dir, sdn_model_kind kind) {
    const std::string w = weights_path(dir);
    if (w.empty() || !file_exists(dir + "/config.json")) {
        std::printf("{\"stage\":\"load\",\"component\":\"%s\",\"error\":\"no config.json + safetensors weights\"}\n", dir.c_str());
        return nullptr;
    }
    sdn_error err;
    sdn_weight_file * f = nullptr;
    if (sdn_weight_file_open(w.c_str(), &f, &err) != SDN_OK) {
        std::printf("{\"stage\":\"load\",\"error\":\"%s\"}\n", err.message);
        return nullptr;
    }
    sdn_weight_map * map = nullptr;
    sdn_weight_map_create(&map, nullptr);
    for (size_t i = 0; i < sdn_weight_file_count(f); ++i) {
        sdn_tensor_info t;
        sdn_weight_file_tensor_info(f, i, &t, nullptr);
        if (t.dtype == SDN_DTYPE_F32 || t.dtype == SDN_DTYPE_F16 || t.dtype == SDN_DTYPE_BF16)
            sdn_weight_map_add(map, t.name, f, t.name, -1, -1, nullptr);
    }
    sdn_weight_file_free(f);
    sdn_model * m = nullptr;
    const std::string cfg = read_text(dir + "/config.json");
    if (sdn_model_create(ctx, kind, cfg.c_str(), map, &m, &err) != SDN_OK) std::printf("{\"stage\":\"load\",\"error\":\"%s\"}\n", err.message);
    sdn_weight_map_free(map);
    return m;
}

template <typename F>
void time_stage(sdn_context * ctx, const char * stage, const char * shape, int repeats, double peak, F && run) {
    sdn_error err;
    if (!run(err)) {  // warm-up
        std::printf("{\"stage\":\"%s\",\"shape\":\"%s\",\"error\":\"%s\"}\n", stage, shape, err.message);
        std::fflush(stdout);
        return;
    }
    double best = 1e30, flop = 0;
    for (int r = 0; r < repeats; ++r) {
        sdn_context_reset_flops(ctx);
        const auto t0 = std::chrono::steady_clock::now();
        run(err);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        flop = sdn_context_flops(ctx);
        if (s < best) best = s;
    }
    const double gflops = flop / best * 1e-9;
    std::printf("{\"stage\":\"%s\",\"shape\":\"%s\",\"ms\":%.1f,\"gflop\":%.1f,\"gflops\":%.1f,\"pct_of_gemm_peak\":%.1f}\n", stage, shape,
                best * 1e3, flop * 1e-9, gflops, peak > 0 ? 100.0 * gflops / peak : 0.0);
    std::fflush(stdout);
}

}  // namespace

int run_network_benches(const std::string & model_dir, int repeats, double peak_seconds) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = SDN_BACKEND_CPU;
    sdn_context * ctx = nullptr;
    sdn_error err;
    if (sdn_context_create(&p, &ctx, &err) != SDN_OK) {
        std::printf("{\"error\":\"%s\"}\n", err.message);
        return 1;
    }
    double peak = 0;
    sdn_measure_gemm_peak(ctx, 1024, peak_seconds, &peak, &err);
    std::printf("{\"stage\":\"gemm_f32_peak\",\"size\":1024,\"threads\":%d,\"gflops\":%.1f}\n", sdn_context_n_threads(ctx), peak);
    std::fflush(stdout);

    if (sdn_model * te = load(ctx, model_dir + "/text_encoder", SDN_MODEL_TEXT_ENCODER)) {
        std::vector<int32_t> ids(77, 49407);
        ids[0] = 49406;
        for (int i = 1; i < 20; ++i) ids[i] = 320 + i;
        std::vector<float> out(77 * 1024 * 2);
        time_stage(ctx, "text_encoder", "1x77", repeats, peak, [&](sdn_error & e) {
            return sdn_text_encoder_forward(te, ids.data(), 1, 77, 0, out.data(), nullptr, nullptr, &e) == SDN_OK;
        });
        sdn_model_free(te);
    }
    if (sdn_model * unet = load(ctx, model_dir + "/unet", SDN_MODEL_UNET)) {
        const std::string cfg = read_text(model_dir + "/unet/config.json");
        const int64_t cross = cfg.find("\"cross_attention_dim\": 1024") != std::string::npos ? 1024 : 768;
        for (int64_t s : {32, 64}) {
            std::vector<float> sample(2 * 4 * s * s, 0.1f), out(2 * 4 * s * s), context(2 * 77 * cross, 0.05f), t = {500.0f, 500.0f};
            for (size_t i = 0; i < sample.size(); ++i) sample[i] = std::sin(static_cast<float>(i) * 0.01f);
            const std::string shape = "2x4x" + std::to_string(s) + "x" + std::to_string(s);
            time_stage(ctx, "unet", shape.c_str(), repeats, peak, [&](sdn_error & e) {
                return sdn_unet_forward(unet, sample.data(), 2, s, s, t.data(), context.data(), 77, nullptr, out.data(), &e) == SDN_OK;
            });
        }
        sdn_model_free(unet);
    }
    if (sdn_model * vae = load(ctx, model_dir + "/vae", SDN_MODEL_VAE)) {
        for (int64_t s : {32, 64}) {
            std::vector<float> z(4 * s * s), img(3 * 64 * s * s);
            for (size_t i = 0; i < z.size(); ++i) z[i] = std::cos(static_cast<float>(i) * 0.013f);
            const std::string shape = std::to_string(8 * s) + "x" + std::to_string(8 * s);
            time_stage(ctx, "vae_decode", shape.c_str(), repeats, peak, [&](sdn_error & e) {
                return sdn_vae_decode(vae, z.data(), 1, s, s, img.data(), &e) == SDN_OK;
            });
        }
        sdn_model_free(vae);
    }
    sdn_context_free(ctx);
    return 0;
}
