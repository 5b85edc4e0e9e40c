// CLIPVisionModelWithProjection (transformers), also the vision tower of diffusers' safety checker:
// patch embedding + class token + positions, pre_layrnorm, encoder layers, post_layernorm on the class
// token, visual_projection. Weight names under "vision_model." (image encoder) or
// "vision_model.vision_model." (StableDiffusionSafetyChecker) are both recognised.
#pragma once

#include "models/clip_text_encoder.h"
#include "models/configs.h"
#include "models/layers.h"
#include "models/network.h"

namespace sdn {

struct ClipVisionOutputs {
    float * image_embeds = nullptr;      // [B, projection_dim]
    float * pooled = nullptr;            // [B, H]: post_layernorm(class token)
    float * last_hidden_state = nullptr; // [B, T, H]
    float * hidden_states = nullptr;     // [layers + 1, B, T, H]
};

class ClipVisionEncoder : public Network {
public:
    ClipVisionEncoder(Backend & backend, const WeightMap & map, const ClipVisionConfig & cfg);
    const ClipVisionConfig & config() const { return cfg_; }
    int64_t tokens() const { return (cfg_.image_size / cfg_.patch) * (cfg_.image_size / cfg_.patch) + 1; }
    // pixel_values [B, 3, image_size, image_size] (host, already normalised)
    void forward(const float * pixels, int64_t batch, const ClipVisionOutputs & out, const ExecControl & ctl);

private:
    ClipVisionConfig cfg_;
    Conv2d patch_;
    Weight class_embedding_, position_embedding_, projection_;
    LayerNorm pre_ln_, post_ln_;
    std::vector<ClipEncoderLayer> layers_;
};

}  // namespace sdn
