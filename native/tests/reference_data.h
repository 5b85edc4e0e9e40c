// Shared by the parity tests: locating ../shared/reference, reading golden tensors through the C API,
// and building a network from a diffusers component folder of a tiny reference model.
#pragma once

#include "sd_native.h"
#include "test_framework.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace sdn_test {

inline std::string reference_dir() {
    if (const char * env = std::getenv("SDN_REFERENCE_DIR")) return env;
#ifdef SDN_SOURCE_DIR
    return std::string(SDN_SOURCE_DIR) + "/../shared/reference";
#else
    return "../shared/reference";
#endif
}

inline bool path_exists(const std::string & p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0;
}

inline std::string read_text(const std::string & p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A golden / weight file opened through the C API (failures are recorded as test failures).
struct GoldenFile {
    sdn_weight_file * f = nullptr;
    explicit GoldenFile(const std::string & path) {
        sdn_error err;
        if (sdn_weight_file_open(path.c_str(), &f, &err) != SDN_OK) record_failure(__FILE__, __LINE__, err.message);
    }
    ~GoldenFile() { sdn_weight_file_free(f); }
    GoldenFile(const GoldenFile &) = delete;
    GoldenFile & operator=(const GoldenFile &) = delete;
    bool has(const std::string & name) const {
        size_t i;
        return f && sdn_weight_file_find(f, name.c_str(), &i, nullptr) == SDN_OK;
    }
    sdn_tensor_info info(const std::string & name) const {
        sdn_tensor_info t {};
        size_t i = 0;
        if (!f || sdn_weight_file_find(f, name.c_str(), &i, nullptr) != SDN_OK) {
            record_failure(__FILE__, __LINE__, "golden tensor missing: " + name);
            return t;
        }
        sdn_weight_file_tensor_info(f, i, &t, nullptr);
        return t;
    }
    std::vector<float> f32(const std::string & name) const {
        sdn_tensor_info t = info(name);
        std::vector<float> out(t.nbytes / 4);
        if (t.data) std::memcpy(out.data(), t.data, t.nbytes);
        return out;
    }
    std::vector<int64_t> i64(const std::string & name) const {
        sdn_tensor_info t = info(name);
        std::vector<int64_t> out(t.nbytes / 8);
        if (t.data) std::memcpy(out.data(), t.data, t.nbytes);
        return out;
    }
    // "unet_<h>x<w>": the golden's UNet case prefix ("" when there is none).
    std::string unet_prefix() const {
        std::string pre;
        for (size_t i = 0; f && i < sdn_weight_file_count(f); ++i) {
            sdn_tensor_info t;
            sdn_weight_file_tensor_info(f, i, &t, nullptr);
            const std::string name = t.name;
            if (name.rfind("unet_", 0) == 0 && name.size() > 7 && name.compare(name.size() - 7, 7, "_sample") == 0)
                pre = name.substr(0, name.size() - 7);
        }
        return pre;
    }
};

// Builds a network from <dir>/config.json and <dir>/<weights_file> (every F32 tensor under its own name).
inline sdn_model * load_component(sdn_context * ctx, const std::string & dir, sdn_model_kind kind, const char * weights_file) {
    GoldenFile file(dir + "/" + weights_file);
    if (!file.f) return nullptr;
    sdn_weight_map * map = nullptr;
    sdn_weight_map_create(&map, nullptr);
    const size_t n = sdn_weight_file_count(file.f);
    for (size_t i = 0; i < n; ++i) {
        sdn_tensor_info t;
        sdn_weight_file_tensor_info(file.f, i, &t, nullptr);
        if (t.dtype != SDN_DTYPE_F32) continue;
        sdn_weight_map_add(map, t.name, file.f, t.name, -1, -1, nullptr);
    }
    const std::string config = read_text(dir + "/config.json");
    sdn_model * model = nullptr;
    sdn_error err;
    if (sdn_model_create(ctx, kind, config.c_str(), map, &model, &err) != SDN_OK) record_failure(__FILE__, __LINE__, dir + ": " + err.message);
    sdn_weight_map_free(map);
    return model;
}

// Runs every UNet golden case of tiny model `m` (timesteps 0, 999, 500, 945.7 and per-sample [10, 700])
// on `ctx` and hands each output with its golden to `check(name, got, want)`.
inline void run_unet_goldens(sdn_context * ctx, const std::string & ref, const std::string & m,
                             const std::function<void(const std::string &, const std::vector<float> &, const std::vector<float> &)> & check) {
    GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
    sdn_model * unet = load_component(ctx, ref + "/models/" + m + "/unet", SDN_MODEL_UNET, "diffusion_pytorch_model.safetensors");
    if (!unet) return;
    const std::string pre = g.unet_prefix();  // "unet_<h>x<w>": the golden's latent size
    if (pre.empty()) record_failure(__FILE__, __LINE__, m + ": no unet golden");
    const sdn_tensor_info si = g.info(pre + "_sample");
    const int64_t B = si.shape[0], H = si.shape[2], W = si.shape[3];
    const sdn_tensor_info ci = g.info(pre + "_encoder_hidden_states");
    const std::vector<float> sample = g.f32(pre + "_sample"), context = g.f32(pre + "_encoder_hidden_states");
    std::vector<int32_t> labels;
    if (g.has(pre + "_class_labels")) {
        const auto l = g.i64(pre + "_class_labels");
        labels.assign(l.begin(), l.end());
    }
    const std::pair<const char *, std::vector<float>> cases[] = {
        {"_t0", {0, 0}}, {"_t999", {999, 999}}, {"_t500", {500, 500}}, {"_t945.7", {945.7f, 945.7f}}, {"_t10_700", {10, 700}}};
    for (const auto & cs : cases) {
        const std::vector<float> want = g.f32(pre + cs.first);
        std::vector<float> out(want.size());
        sdn_error err;
        if (sdn_unet_forward(unet, sample.data(), B, H, W, cs.second.data(), context.data(), ci.shape[1],
                             labels.empty() ? nullptr : labels.data(), out.data(), &err) != SDN_OK)
            record_failure(__FILE__, __LINE__, m + " " + pre + cs.first + ": " + err.message);
        check(m + " " + pre + cs.first, out, want);
    }
    sdn_model_free(unet);
}

// The seven tiny reference models.
inline const std::vector<std::string> & tiny_models() {
    static const std::vector<std::string> models = {"tiny-sd1",        "tiny-sd2-v",    "tiny-sd2-base",  "tiny-sd-imgvar",
                                                    "tiny-sd-inpaint", "tiny-sd-depth", "tiny-sd-upscale"};
    return models;
}

}  // namespace sdn_test
