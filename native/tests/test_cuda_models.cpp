// Every network of every tiny reference model on the CUDA backend against the diffusers goldens
// (../shared/reference/goldens/components/<model>/components.safetensors), through the C API with
// backend SDN_BACKEND_CUDA and allow_fallback 0, in both weight modes:
//   f32 (SDN_CUDA_WEIGHTS=f32): max abs error <= 1e-3
//   f16 (default storage; linear/conv on tensor cores): max abs error <= 3e-2 * max(1, max|golden|)
//        (f16 rounding of weights and GEMM activations; a stated bound, not yet measured on a GPU)
// Skipped with a notice when no CUDA device is usable or the reference data set is absent.
#include "sd_native.h"
#include "reference_data.h"
#include "test_framework.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using sdn_test::GoldenFile;
using sdn_test::load_component;
using sdn_test::path_exists;
using sdn_test::reference_dir;

enum class Mode { F32, F16 };

const char * mode_name(Mode m) { return m == Mode::F32 ? "f32" : "f16"; }

// A CUDA context in the given weight mode (no fallback). ctx stays null (with `reason`) when CUDA is
// not usable.
struct CudaCtx {
    sdn_context * ctx = nullptr;
    std::string reason;
    explicit CudaCtx(Mode m, bool graphs = false) {
        setenv("SDN_CUDA_WEIGHTS", m == Mode::F32 ? "f32" : "f16", 1);
        setenv("SDN_CUDA_GRAPHS", graphs ? "1" : "0", 1);
        sdn_context_params p = sdn_context_params_init();
        p.backend = SDN_BACKEND_CUDA;
        p.allow_fallback = 0;
        sdn_error err;
        if (sdn_context_create(&p, &ctx, &err) != SDN_OK) {
            reason = err.message;
            ctx = nullptr;
        }
        unsetenv("SDN_CUDA_WEIGHTS");
        unsetenv("SDN_CUDA_GRAPHS");
    }
    ~CudaCtx() { sdn_context_free(ctx); }
    CudaCtx(const CudaCtx &) = delete;
    CudaCtx & operator=(const CudaCtx &) = delete;
};



void check(Mode mode, const std::string & what, const std::vector<float> & got, const std::vector<float> & want) {
    double worst = got.size() == want.size() ? 0.0 : INFINITY, peak = 0;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        if (!(d <= worst)) worst = d;
        peak = std::max(peak, std::fabs(static_cast<double>(want[i])));
    }
    const double tol = mode == Mode::F32 ? 1e-3 : 3e-2 * std::max(1.0, peak);
    std::printf("    [%s] %-48s max|diff| %.3g (tol %.3g)\n", mode_name(mode), what.c_str(), worst, tol);
    CHECK_MSG(worst <= tol, std::string(mode_name(mode)) + " " + what + ": max abs diff " + std::to_string(worst));
}

// Runs body(mode, ctx, ref) for both modes; skips when CUDA or the reference data is missing.
template <typename F>
void for_each_mode(F && body) {
    const std::string ref = reference_dir();
    {
        CudaCtx probe(Mode::F32);
        if (!probe.ctx) return sdn_test::skip(probe.reason);
    }
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    for (Mode mode : {Mode::F32, Mode::F16}) {
        CudaCtx c(mode);
        CHECK_MSG(c.ctx != nullptr, c.reason);
        if (c.ctx) body(mode, c.ctx, ref);
    }
}

}  // namespace

TEST(cuda_models_text_encoder_matches_goldens) {
    for_each_mode([](Mode mode, sdn_context * ctx, const std::string & ref) {
        for (const std::string & m : sdn_test::tiny_models()) {
            const std::string dir = ref + "/models/" + m + "/text_encoder";
            if (!path_exists(dir)) continue;
            GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
            sdn_model * te = load_component(ctx, dir, SDN_MODEL_TEXT_ENCODER, "model.safetensors");
            if (!te) continue;
            const std::vector<int64_t> ids64 = g.i64("te_input_ids");
            const sdn_tensor_info hs = g.info("te_hidden_states");
            const int64_t layers1 = hs.shape[0], B = hs.shape[1], S = hs.shape[2], H = hs.shape[3];
            std::vector<int32_t> ids(ids64.begin(), ids64.end());
            std::vector<float> last(B * S * H), pooled(B * H), hidden(layers1 * B * S * H);
            sdn_error err;
            CHECK_MSG(sdn_text_encoder_forward(te, ids.data(), B, S, 0, last.data(), pooled.data(), hidden.data(), &err) == SDN_OK,
                      err.message);
            check(mode, std::string(m) + " te_last_hidden_state", last, g.f32("te_last_hidden_state"));
            check(mode, std::string(m) + " te_pooler_output", pooled, g.f32("te_pooler_output"));
            check(mode, std::string(m) + " te_hidden_states", hidden, g.f32("te_hidden_states"));
            std::vector<float> skip1(2 * S * H);
            CHECK(sdn_text_encoder_forward(te, ids.data(), 2, S, 1, skip1.data(), nullptr, nullptr, &err) == SDN_OK);
            check(mode, std::string(m) + " encode_prompt_clip_skip1", skip1, g.f32("encode_prompt_clip_skip1"));
            sdn_model_free(te);
        }
    });
}

TEST(cuda_models_unet_matches_goldens) {
    for_each_mode([](Mode mode, sdn_context * ctx, const std::string & ref) {
        for (const std::string & m : sdn_test::tiny_models())
            sdn_test::run_unet_goldens(ctx, ref, m, [mode](const std::string & what, const std::vector<float> & got, const std::vector<float> & want) {
                check(mode, what, got, want);
            });
    });
}

// The same UNet cases with CUDA graphs on: run_unet_goldens makes five forwards of one shape per model
// with different timesteps, so the first runs eagerly, the second is captured and the last three replay
// the recording with new inputs (the timestep embedding is a recorded upload) — each must still match.
TEST(cuda_models_unet_with_cuda_graphs_matches_goldens) {
    const std::string ref = reference_dir();
    CudaCtx c(Mode::F16, true);
    if (!c.ctx) return sdn_test::skip(c.reason);
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    for (const std::string & m : sdn_test::tiny_models())
        sdn_test::run_unet_goldens(c.ctx, ref, m, [](const std::string & what, const std::vector<float> & got, const std::vector<float> & want) {
            check(Mode::F16, what + " (graphs)", got, want);
        });
    const std::string description = sdn_context_backend_description(c.ctx);
    std::printf("    %s\n", description.c_str());
    CHECK_MSG(description.find("CUDA graphs: on") != std::string::npos && description.find("(0 recorded)") == std::string::npos,
              "no CUDA graph was recorded: " + description);
}

TEST(cuda_models_vae_matches_goldens) {
    for_each_mode([](Mode mode, sdn_context * ctx, const std::string & ref) {
        for (const std::string & m : sdn_test::tiny_models()) {
            GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
            sdn_model * vae = load_component(ctx, ref + "/models/" + m + "/vae", SDN_MODEL_VAE, "diffusion_pytorch_model.safetensors");
            if (!vae) continue;
            const sdn_tensor_info ei = g.info("vae_encode_input");
            std::vector<float> moments(g.f32("vae_encode_moments").size());
            sdn_error err;
            CHECK_MSG(sdn_vae_encode(vae, g.f32("vae_encode_input").data(), ei.shape[0], ei.shape[2], ei.shape[3], moments.data(), &err) ==
                          SDN_OK,
                      err.message);
            check(mode, std::string(m) + " vae_encode_moments", moments, g.f32("vae_encode_moments"));
            const sdn_tensor_info di = g.info("vae_decode_input");
            std::vector<float> image(g.f32("vae_decode_output").size());
            CHECK_MSG(sdn_vae_decode(vae, g.f32("vae_decode_input").data(), di.shape[0], di.shape[2], di.shape[3], image.data(), &err) ==
                          SDN_OK,
                      err.message);
            check(mode, std::string(m) + " vae_decode_output", image, g.f32("vae_decode_output"));
            sdn_model_free(vae);
        }
    });
}

TEST(cuda_models_vision_encoder_matches_goldens) {
    for_each_mode([](Mode mode, sdn_context * ctx, const std::string & ref) {
        const std::string m = "tiny-sd-imgvar";
        GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
        sdn_model * enc = load_component(ctx, ref + "/models/" + m + "/image_encoder", SDN_MODEL_VISION_ENCODER, "model.safetensors");
        if (!enc) return;
        const std::vector<float> pixels = g.f32("image_encoder_pixel_values");
        const sdn_tensor_info lh = g.info("image_encoder_last_hidden_state");
        const int64_t T = lh.shape[1], H = lh.shape[2];
        std::vector<float> embeds(g.f32("image_encoder_image_embeds").size()), last(T * H), hidden(4 * T * H);
        sdn_error err;
        CHECK_MSG(sdn_vision_encoder_forward(enc, pixels.data(), 1, embeds.data(), nullptr, last.data(), hidden.data(), &err) == SDN_OK,
                  err.message);
        check(mode, m + " image_embeds", embeds, g.f32("image_encoder_image_embeds"));
        check(mode, m + " last_hidden_state", last, g.f32("image_encoder_last_hidden_state"));
        std::vector<float> penult(hidden.begin() + 2 * T * H, hidden.begin() + 3 * T * H);
        check(mode, m + " penultimate_hidden_state", penult, g.f32("image_encoder_penultimate_hidden_state"));
        sdn_model_free(enc);
    });
}
