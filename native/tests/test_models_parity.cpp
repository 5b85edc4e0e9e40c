// Every network of every tiny reference model against the diffusers goldens
// (../shared/reference/goldens/components/<model>/components.safetensors), through the C API, on the CPU.
// Tolerance: max abs error <= 1e-4 (the reference README's suggestion for float32 components).
// Skipped with a notice when the reference data set is absent.
#include "sd_native.h"
#include "reference_data.h"
#include "test_framework.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

using sdn_test::GoldenFile;
using sdn_test::load_component;
using sdn_test::path_exists;
using sdn_test::reference_dir;

struct Ctx {
    sdn_context * ctx = nullptr;
    Ctx() {
        sdn_context_params p = sdn_context_params_init();
        p.backend = SDN_BACKEND_CPU;
        sdn_context_create(&p, &ctx, nullptr);
    }
    ~Ctx() { sdn_context_free(ctx); }
};


double max_abs_diff(const std::vector<float> & a, const std::vector<float> & b) {
    if (a.size() != b.size()) return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

constexpr double kTol = 1e-4;


void check(const std::string & what, const std::vector<float> & got, const std::vector<float> & want) {
    const double d = max_abs_diff(got, want);
    std::printf("    %-48s max|diff| %.3g\n", what.c_str(), d);
    CHECK_MSG(d <= kTol, what + ": max abs diff " + std::to_string(d));
}

}  // namespace

TEST(models_text_encoder_matches_goldens) {
    const std::string ref = reference_dir();
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    Ctx c;
    for (const std::string & m : sdn_test::tiny_models()) {
        const std::string dir = ref + "/models/" + m + "/text_encoder";
        if (!path_exists(dir)) continue;
        GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
        sdn_model * te = load_component(c.ctx, dir, SDN_MODEL_TEXT_ENCODER, "model.safetensors");
        if (!te) continue;
        const std::vector<int64_t> ids64 = g.i64("te_input_ids");
        const sdn_tensor_info hs = g.info("te_hidden_states");
        const int64_t layers1 = hs.shape[0], B = hs.shape[1], S = hs.shape[2], H = hs.shape[3];
        std::vector<int32_t> ids(ids64.begin(), ids64.end());
        std::vector<float> last(B * S * H), pooled(B * H), hidden(layers1 * B * S * H);
        sdn_error err;
        CHECK_MSG(sdn_text_encoder_forward(te, ids.data(), B, S, 0, last.data(), pooled.data(), hidden.data(), &err) == SDN_OK, err.message);
        check(std::string(m) + " te_last_hidden_state", last, g.f32("te_last_hidden_state"));
        check(std::string(m) + " te_pooler_output", pooled, g.f32("te_pooler_output"));
        check(std::string(m) + " te_hidden_states", hidden, g.f32("te_hidden_states"));
        // clip skip 1 on the first two prompts
        std::vector<float> skip1(2 * S * H);
        CHECK(sdn_text_encoder_forward(te, ids.data(), 2, S, 1, skip1.data(), nullptr, nullptr, &err) == SDN_OK);
        check(std::string(m) + " encode_prompt_clip_skip1", skip1, g.f32("encode_prompt_clip_skip1"));
        sdn_model_free(te);
    }
}

TEST(models_unet_matches_goldens) {
    const std::string ref = reference_dir();
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    Ctx c;
    for (const std::string & m : sdn_test::tiny_models())
        sdn_test::run_unet_goldens(c.ctx, ref, m, [](const std::string & what, const std::vector<float> & got, const std::vector<float> & want) {
            check(what, got, want);
        });
}

TEST(models_vae_matches_goldens) {
    const std::string ref = reference_dir();
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    Ctx c;
    for (const std::string & m : sdn_test::tiny_models()) {
        GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
        sdn_model * vae = load_component(c.ctx, ref + "/models/" + m + "/vae", SDN_MODEL_VAE, "diffusion_pytorch_model.safetensors");
        if (!vae) continue;
        const sdn_tensor_info ei = g.info("vae_encode_input");
        std::vector<float> moments(g.f32("vae_encode_moments").size());
        sdn_error err;
        CHECK_MSG(sdn_vae_encode(vae, g.f32("vae_encode_input").data(), ei.shape[0], ei.shape[2], ei.shape[3], moments.data(), &err) == SDN_OK,
                  err.message);
        check(std::string(m) + " vae_encode_moments", moments, g.f32("vae_encode_moments"));
        const sdn_tensor_info di = g.info("vae_decode_input");
        std::vector<float> image(g.f32("vae_decode_output").size());
        CHECK_MSG(sdn_vae_decode(vae, g.f32("vae_decode_input").data(), di.shape[0], di.shape[2], di.shape[3], image.data(), &err) == SDN_OK,
                  err.message);
        check(std::string(m) + " vae_decode_output", image, g.f32("vae_decode_output"));
        sdn_model_free(vae);
    }
}

TEST(models_vision_encoder_matches_goldens) {
    const std::string ref = reference_dir();
    if (!path_exists(ref + "/README.md")) return sdn_test::skip("reference data set not found at " + ref);
    Ctx c;
    const std::string m = "tiny-sd-imgvar";
    GoldenFile g(ref + "/goldens/components/" + m + "/components.safetensors");
    sdn_model * enc = load_component(c.ctx, ref + "/models/" + m + "/image_encoder", SDN_MODEL_VISION_ENCODER, "model.safetensors");
    if (!enc) return;
    const std::vector<float> pixels = g.f32("image_encoder_pixel_values");
    const sdn_tensor_info lh = g.info("image_encoder_last_hidden_state");
    const int64_t T = lh.shape[1], H = lh.shape[2];
    std::vector<float> embeds(g.f32("image_encoder_image_embeds").size()), last(T * H), hidden(4 * T * H);
    sdn_error err;
    CHECK_MSG(sdn_vision_encoder_forward(enc, pixels.data(), 1, embeds.data(), nullptr, last.data(), hidden.data(), &err) == SDN_OK, err.message);
    check(m + " image_embeds", embeds, g.f32("image_encoder_image_embeds"));
    check(m + " last_hidden_state", last, g.f32("image_encoder_last_hidden_state"));
    std::vector<float> penult(hidden.begin() + 2 * T * H, hidden.begin() + 3 * T * H);
    check(m + " penultimate_hidden_state", penult, g.f32("image_encoder_penultimate_hidden_state"));
    sdn_model_free(enc);
}
