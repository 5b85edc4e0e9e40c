// Network stages of a diffusers model folder (one written by `sdn_bench --synthetic` or by
// `sd-native make-random-model`): CLIP text encoder (77 tokens), UNet at batch 2 (classifier-free
// guidance) for 32x32, 64x64 and 96x96 latents, VAE decode at 256^2, 512^2 and 768^2.
//
// Each stage: one warm-up (sizes the activation arena, runs any kernel tuning), then the best of
// `repeats` timed runs. The C API forward calls download their outputs into host memory before they
// return, which waits for the device, so wall time is time to completion on CUDA too. FLOPs are counted
// by the backend's matrix ops during the run (2 per multiply-add; direct-convolution FLOPs even where the
// CPU runs Winograd, so CPU "GFLOP/s" is effective and can exceed the ceiling).
//
// Ceilings: on the CPU, stages are compared with the dense f32 GEMM peak (gemm_f32_peak, the figure
// BENCHMARKS.md has always used); on CUDA with the linear-layer peak (sdn_measure_linear_peak: an f16
// weight uploaded like model weights, on the tensor-core path the networks use). Both ceilings are
// printed on the CPU so the two can be compared.
//
// Memory: the backend's peak memory is reset before each stage's warm-up, so "peak_mib" is the most the
// stage held at once, weights of the loaded model included (device memory on CUDA; on the CPU only
// backend allocations — activation arenas and weights widened to f32 — since weights are read in place
// from the memory-mapped files).
#include "bench_networks.h"
#include "bench_files.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using sdn_bench::read_text;
bool file_exists(const std::string & p) { return sdn_bench::is_file(p); }


constexpr const char * kAllStages[] = {"text", "unet32", "unet64", "unet96", "vae256", "vae512", "vae768"};

// ---- one JSON object per line ---------------------------------------------------------------------

std::string json_escape(const std::string & s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

class Line {
public:
    Line & str(const char * key, const std::string & v) { return raw(key, "\"" + json_escape(v) + "\""); }
    Line & num(const char * key, double v, int decimals = 1) {
        char buf[64];
        if (!std::isfinite(v)) return raw(key, "null");
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        return raw(key, buf);
    }
    Line & integer(const char * key, long long v) { return raw(key, std::to_string(v)); }
    Line & boolean(const char * key, bool v) { return raw(key, v ? "true" : "false"); }
    Line & raw(const char * key, const std::string & json) {
        s_ += (s_.size() > 1 ? ",\"" : "\"") + std::string(key) + "\":" + json;
        return *this;
    }
    void print() {
        std::printf("%s}\n", s_.c_str());
        std::fflush(stdout);
    }

private:
    std::string s_ = "{";
};

// ---- files and configs ----------------------------------------------------------------------------

// The number after "key": in a JSON text (configs and model info are flat enough for this), or `fallback`.
double json_number(const std::string & text, const char * key, double fallback) {
    const std::string k = std::string("\"") + key + "\"";
    const size_t at = text.find(k);
    if (at == std::string::npos) return fallback;
    const size_t colon = text.find(':', at + k.size());
    if (colon == std::string::npos) return fallback;
    const char * p = text.c_str() + colon + 1;
    char * end = nullptr;
    const double v = std::strtod(p, &end);
    return end == p ? fallback : v;
}

std::string weights_path(const std::string & dir) {
    for (const char * name : {"diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.safetensors", "model.fp16.safetensors",
                              "model.safetensors"})
        if (file_exists(dir + "/" + name)) return dir + "/" + name;
    return "";
}

std::set<std::string> split_stages(const std::string & s) {
    std::set<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.insert(item);
    return out;
}

// ---- the run --------------------------------------------------------------------------------------

double mib(size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

struct Bench {
    sdn_context * ctx = nullptr;
    bool cuda = false;
    int repeats = 1;
    double peak_gflops = 0;    // the ceiling stages are compared with
    const char * peak_ref = "";  // which one it is
    std::map<std::string, double> ms;  // stage id -> best ms

    const char * backend() const { return cuda ? "cuda" : "cpu"; }

    sdn_memory_stats memory() const {
        sdn_memory_stats m{};
        sdn_context_memory_stats(ctx, &m, nullptr);
        return m;
    }
};

// Loads dir/config.json + its safetensors weights as `kind`. Prints a load line (or an error line) and
// flags tensors the network did not use: for a synthetic folder that means the parameter list and the
// network disagree.
sdn_model * load(Bench & b, const std::string & dir, const char * component, sdn_model_kind kind) {
    const std::string w = weights_path(dir);
    if (w.empty() || !file_exists(dir + "/config.json")) {
        Line().str("stage", "load").str("component", component).str("error", dir + ": no config.json + safetensors weights").print();
        return nullptr;
    }
    sdn_error err;
    sdn_weight_file * f = nullptr;
    if (sdn_weight_file_open(w.c_str(), &f, &err) != SDN_OK) {
        Line().str("stage", "load").str("component", component).str("error", err.message).print();
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
    const size_t n_tensors = sdn_weight_map_count(map);
    sdn_weight_file_free(f);
    sdn_model * m = nullptr;
    const std::string cfg = read_text(dir + "/config.json");
    const sdn_memory_stats before = b.memory();
    const auto t0 = std::chrono::steady_clock::now();
    const sdn_status st = sdn_model_create(b.ctx, kind, cfg.c_str(), map, &m, &err);
    const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    sdn_weight_map_free(map);
    if (st != SDN_OK) {
        Line().str("stage", "load").str("component", component).str("error", err.message).print();
        return nullptr;
    }
    const size_t unused = sdn_model_unused_tensor_count(m);
    Line line;
    line.str("stage", "load").str("component", component).str("backend", b.backend()).integer("tensors", static_cast<long long>(n_tensors));
    line.integer("unused_tensors", static_cast<long long>(unused)).num("ms", load_ms);
    line.num("weights_mib", mib(b.memory().in_use_bytes - before.in_use_bytes));
    if (unused > 0)
        line.str("error", std::to_string(unused) + " tensors of the file are not used by the network, e.g. " +
                              sdn_model_unused_tensor(m, 0));
    line.print();
    return m;
}

// RMS of the output, or NaN when any value is not finite (random weights must keep activations O(1)).
double output_rms(const std::vector<float> & out) {
    double sum = 0;
    for (float v : out) {
        if (!std::isfinite(v)) return NAN;
        sum += static_cast<double>(v) * v;
    }
    return out.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(out.size()));
}

template <typename F>
void time_stage(Bench & b, const char * id, const char * stage, const std::string & shape, const std::vector<float> & out, F && run) {
    sdn_error err;
    sdn_context_reset_peak_memory(b.ctx);
    if (!run(err)) {  // warm-up
        Line().str("stage", stage).str("id", id).str("shape", shape).str("backend", b.backend()).str("error", err.message).print();
        return;
    }
    double best = 1e30, flop = 0;
    for (int r = 0; r < b.repeats; ++r) {
        sdn_context_reset_flops(b.ctx);
        const auto t0 = std::chrono::steady_clock::now();
        const bool ok = run(err);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!ok) {
            Line().str("stage", stage).str("id", id).str("shape", shape).str("backend", b.backend()).str("error", err.message).print();
            return;
        }
        flop = sdn_context_flops(b.ctx);
        if (s < best) best = s;
    }
    const double gflops = flop / best * 1e-9;
    const sdn_memory_stats m = b.memory();
    b.ms[id] = best * 1e3;
    Line line;
    line.str("stage", stage).str("id", id).str("shape", shape).str("backend", b.backend());
    line.num("ms", best * 1e3).num("gflop", flop * 1e-9).num("gflops", gflops);
    if (b.cuda) line.num("tflops", gflops * 1e-3, 2);
    line.num("pct_of_peak", b.peak_gflops > 0 ? 100.0 * gflops / b.peak_gflops : 0.0).str("peak_ref", b.peak_ref);
    line.num("peak_mib", mib(m.peak_bytes)).num("reserved_mib", mib(m.reserved_bytes));
    line.num("out_rms", output_rms(out), 4);
    line.print();
}

}  // namespace

const char * network_stage_ids() { return "text,unet32,unet64,unet96,vae256,vae512,vae768"; }

bool validate_network_stages(const std::string & stages, std::string & error) {
    for (const std::string & s : split_stages(stages)) {
        bool known = false;
        for (const char * k : kAllStages) known = known || s == k;
        if (!known) {
            error = "unknown stage '" + s + "' (stages: " + network_stage_ids() + ")";
            return false;
        }
    }
    return true;
}

sdn_context * create_bench_context(sdn_backend_kind backend) {
    sdn_context_params p = sdn_context_params_init();
    p.backend = backend;
    p.allow_fallback = 0;
    sdn_context * ctx = nullptr;
    sdn_error err;
    if (sdn_context_create(&p, &ctx, &err) != SDN_OK) {
        Line()
            .str("stage", "context")
            .str("backend", backend == SDN_BACKEND_CUDA ? "cuda" : "cpu")
            .boolean("available", false)
            .str("reason", err.message)
            .print();
        return nullptr;
    }
    return ctx;
}

int run_network_benches(sdn_context * ctx, const NetworkBenchOptions & opt) {
    Bench b;
    b.ctx = ctx;
    b.cuda = sdn_context_backend(ctx) == SDN_BACKEND_CUDA;
    b.repeats = opt.repeats < 1 ? 1 : opt.repeats;
    const std::string dir = opt.model_dir;

    std::string info(1 << 16, '\0');
    size_t need = 0;
    if (sdn_backend_info_json(info.data(), info.size(), &need, nullptr) == SDN_OK) std::printf("{\"backendInfo\":%s}\n", info.c_str());

    // Ceilings.
    sdn_error err;
    double gemm_peak = 0, linear_peak = 0;
    if (!b.cuda) {
        if (sdn_measure_gemm_peak(ctx, 1024, opt.peak_seconds, &gemm_peak, &err) == SDN_OK)
            Line().str("stage", "gemm_f32_peak").str("backend", "cpu").integer("size", 1024).integer("threads", sdn_context_n_threads(ctx))
                .num("gflops", gemm_peak).print();
        else
            Line().str("stage", "gemm_f32_peak").str("backend", "cpu").str("error", err.message).print();
    }
    const int64_t linear_size = b.cuda ? 4096 : 1024;
    if (sdn_measure_linear_peak(ctx, linear_size, opt.peak_seconds, &linear_peak, &err) == SDN_OK) {
        Line line;
        line.str("stage", "linear_peak").str("backend", b.backend()).integer("size", linear_size).str("weights", "f16");
        line.num("gflops", linear_peak);
        if (b.cuda) line.num("tflops", linear_peak * 1e-3, 2);
        line.print();
    } else {
        Line().str("stage", "linear_peak").str("backend", b.backend()).str("error", err.message).print();
    }
    b.peak_gflops = b.cuda ? linear_peak : gemm_peak;
    b.peak_ref = b.cuda ? "linear_peak" : "gemm_f32_peak";

    // Stages: the requested list, or the defaults for this model's native resolution.
    const std::string unet_cfg = read_text(dir + "/unet/config.json");
    const bool large = json_number(unet_cfg, "sample_size", 64) >= 96;
    std::set<std::string> stages = split_stages(opt.stages);
    if (stages.empty()) {
        stages = {"text", "unet32", "unet64", "vae256", "vae512"};
        if (large) stages.insert({"unet96", "vae768"});
    }
    auto want = [&](const char * id) { return stages.count(id) > 0; };

    if (want("text")) {
        if (sdn_model * te = load(b, dir + "/text_encoder", "text_encoder", SDN_MODEL_TEXT_ENCODER)) {
            std::string mi(1 << 14, '\0');
            sdn_model_info_json(te, mi.data(), mi.size(), &need, nullptr);
            const int64_t hidden = static_cast<int64_t>(json_number(mi, "hidden", 1024));
            // A short prompt padded with EOS, as the pipelines feed it.
            std::vector<int32_t> ids(77, 49407);
            ids[0] = 49406;
            for (int i = 1; i < 20; ++i) ids[i] = 320 + i;
            std::vector<float> out(static_cast<size_t>(77 * hidden));
            time_stage(b, "text", "text_encoder", "1x77", out, [&](sdn_error & e) {
                return sdn_text_encoder_forward(te, ids.data(), 1, 77, 0, out.data(), nullptr, nullptr, &e) == SDN_OK;
            });
            sdn_model_free(te);
        }
    }
    if (want("unet32") || want("unet64") || want("unet96")) {
        if (sdn_model * unet = load(b, dir + "/unet", "unet", SDN_MODEL_UNET)) {
            std::string mi(1 << 14, '\0');
            sdn_model_info_json(unet, mi.data(), mi.size(), &need, nullptr);
            const int64_t cross = static_cast<int64_t>(json_number(mi, "crossAttentionDim", 768));
            const int64_t in_c = static_cast<int64_t>(json_number(mi, "inChannels", 4));
            const int64_t out_c = static_cast<int64_t>(json_number(mi, "outChannels", 4));
            for (int64_t s : {32, 64, 96}) {
                const std::string id = "unet" + std::to_string(s);
                if (!want(id.c_str())) continue;
                std::vector<float> sample(static_cast<size_t>(2 * in_c * s * s)), out(static_cast<size_t>(2 * out_c * s * s));
                std::vector<float> context(static_cast<size_t>(2 * 77 * cross)), t = {500.0f, 500.0f};
                for (size_t i = 0; i < sample.size(); ++i) sample[i] = std::sin(static_cast<float>(i) * 0.01f);
                for (size_t i = 0; i < context.size(); ++i) context[i] = std::sin(static_cast<float>(i) * 0.37f);
                const std::string shape = "2x" + std::to_string(in_c) + "x" + std::to_string(s) + "x" + std::to_string(s);
                time_stage(b, id.c_str(), "unet", shape, out, [&](sdn_error & e) {
                    return sdn_unet_forward(unet, sample.data(), 2, s, s, t.data(), context.data(), 77, nullptr, out.data(), &e) == SDN_OK;
                });
            }
            sdn_model_free(unet);
        }
    }
    if (want("vae256") || want("vae512") || want("vae768")) {
        if (sdn_model * vae = load(b, dir + "/vae", "vae", SDN_MODEL_VAE)) {
            std::string mi(1 << 14, '\0');
            sdn_model_info_json(vae, mi.data(), mi.size(), &need, nullptr);
            const int64_t latent = static_cast<int64_t>(json_number(mi, "latentChannels", 4));
            const int64_t out_c = static_cast<int64_t>(json_number(mi, "outChannels", 3));
            const int64_t f = static_cast<int64_t>(json_number(mi, "downscale", 8));
            for (int64_t px : {256, 512, 768}) {
                const std::string id = "vae" + std::to_string(px);
                if (!want(id.c_str())) continue;
                const int64_t s = px / f;
                std::vector<float> z(static_cast<size_t>(latent * s * s)), img(static_cast<size_t>(out_c * px * px));
                for (size_t i = 0; i < z.size(); ++i) z[i] = std::cos(static_cast<float>(i) * 0.013f);
                const std::string shape = std::to_string(px) + "x" + std::to_string(px);
                time_stage(b, id.c_str(), "vae_decode", shape, img, [&](sdn_error & e) {
                    return sdn_vae_decode(vae, z.data(), 1, s, s, img.data(), &e) == SDN_OK;
                });
            }
            sdn_model_free(vae);
        }
    }

    // What a user sees: UNet iterations per second (one CFG step = one batch-2 forward) and a 50-step
    // image = text encoder + 50 UNet steps + VAE decode (scheduler and host work excluded: negligible).
    Line derived;
    bool any = false;
    auto has = [&](const char * id) { return b.ms.count(id) > 0; };
    derived.str("stage", "derived").str("backend", b.backend());
    if (has("unet64")) {
        derived.num("unet_it_per_s", 1000.0 / b.ms["unet64"], 3);
        any = true;
    }
    if (has("text") && has("unet64") && has("vae512")) derived.num("image_512_50_steps_ms", b.ms["text"] + 50 * b.ms["unet64"] + b.ms["vae512"]);
    if (has("unet96")) {
        derived.num("unet96_it_per_s", 1000.0 / b.ms["unet96"], 3);
        any = true;
    }
    if (has("text") && has("unet96") && has("vae768")) derived.num("image_768_50_steps_ms", b.ms["text"] + 50 * b.ms["unet96"] + b.ms["vae768"]);
    if (any) derived.print();
    return 0;
}
