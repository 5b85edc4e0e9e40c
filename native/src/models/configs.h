// Network configurations parsed from the config.json of a diffusers / transformers component, with the
// libraries' defaults for absent fields. Fields SD does not use but that would change the network
// (e.g. resnet_time_scale_shift "scale_shift") are rejected with SDN_ERR_UNSUPPORTED naming the field.
#pragma once

#include "io/json.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sdn {

enum class HiddenAct { QuickGelu, Gelu };

struct ClipTextConfig {
    int64_t vocab_size = 49408, hidden = 512, intermediate = 2048, layers = 12, heads = 8, max_positions = 77;
    float eps = 1e-5f;
    HiddenAct act = HiddenAct::QuickGelu;
    int64_t eos_token_id = 49407;
};

struct ClipVisionConfig {
    int64_t hidden = 768, intermediate = 3072, layers = 12, heads = 12, image_size = 224, patch = 32, channels = 3;
    int64_t projection_dim = 512;
    float eps = 1e-5f;
    HiddenAct act = HiddenAct::QuickGelu;
};

struct UNetConfig {
    int64_t in_channels = 4, out_channels = 4, layers_per_block = 2, norm_num_groups = 32, cross_attention_dim = 1280;
    float norm_eps = 1e-5f;
    std::vector<int64_t> block_out_channels{320, 640, 1280, 1280};
    std::vector<std::string> down_block_types{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"};
    std::vector<std::string> up_block_types{"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};
    std::vector<int64_t> heads;                  // per down block (diffusers: num_attention_heads or attention_head_dim)
    std::vector<bool> only_cross_attention;      // per down block
    std::vector<int64_t> transformer_layers;     // per down block
    bool use_linear_projection = false;
    bool upcast_attention = false;
    bool flip_sin_to_cos = true;
    float freq_shift = 0;
    int64_t num_class_embeds = 0;                // 0 = no class embedding
    int64_t downsample_padding = 1;
    bool center_input_sample = false;
    float mid_block_scale_factor = 1.0f;
};

struct VaeConfig {
    int64_t in_channels = 3, out_channels = 3, latent_channels = 4, layers_per_block = 1, norm_num_groups = 32;
    std::vector<int64_t> block_out_channels{64};
    double scaling_factor = 0.18215;
};

ClipTextConfig parse_clip_text_config(const io::JsonValue & j);
// Accepts a CLIPVisionConfig, a CLIPVisionModelWithProjection config, or a safety-checker config
// (vision settings under "vision_config", projection_dim at the top).
ClipVisionConfig parse_clip_vision_config(const io::JsonValue & j);
UNetConfig parse_unet_config(const io::JsonValue & j);
VaeConfig parse_vae_config(const io::JsonValue & j);

// Parses config text (throws SDN_ERR_FORMAT naming `what` on bad JSON).
io::JsonValue parse_config_text(const char * text, const char * what);

}  // namespace sdn
