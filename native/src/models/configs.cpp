#include "models/configs.h"

#include "core/error.h"

#include <cmath>
#include <cstring>

namespace sdn {

namespace {

using io::JsonValue;

const JsonValue * field(const JsonValue & j, const char * key) {
    const JsonValue * v = j.get(key);
    return v != nullptr && v->type != JsonValue::Type::Null ? v : nullptr;
}

int64_t get_int(const JsonValue & j, const char * key, int64_t def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->type == JsonValue::Type::Number && std::floor(v->number) == v->number, SDN_ERR_FORMAT,
            std::string("config field '") + key + "' must be an integer");
    return static_cast<int64_t>(v->number);
}

double get_num(const JsonValue & j, const char * key, double def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->type == JsonValue::Type::Number, SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a number");
    return v->number;
}

bool get_bool(const JsonValue & j, const char * key, bool def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->type == JsonValue::Type::Bool, SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a boolean");
    return v->boolean;
}

std::string get_str(const JsonValue & j, const char * key, const std::string & def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->is_string(), SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a string");
    return v->string;
}

std::vector<int64_t> get_int_list(const JsonValue & j, const char * key, const std::vector<int64_t> & def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->is_array(), SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a list of integers");
    std::vector<int64_t> out;
    for (const auto & e : v->array) {
        require(e.type == JsonValue::Type::Number && std::floor(e.number) == e.number, SDN_ERR_FORMAT,
                std::string("config field '") + key + "' must be a list of integers");
        out.push_back(static_cast<int64_t>(e.number));
    }
    return out;
}

std::vector<std::string> get_str_list(const JsonValue & j, const char * key, const std::vector<std::string> & def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return def;
    require(v->is_array(), SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a list of strings");
    std::vector<std::string> out;
    for (const auto & e : v->array) {
        require(e.is_string(), SDN_ERR_FORMAT, std::string("config field '") + key + "' must be a list of strings");
        out.push_back(e.string);
    }
    return out;
}

// An int, or a list with one entry per block.
std::vector<int64_t> per_block_ints(const JsonValue & j, const char * key, size_t blocks, int64_t def) {
    const JsonValue * v = field(j, key);
    if (v == nullptr) return std::vector<int64_t>(blocks, def);
    if (v->type == JsonValue::Type::Number) return std::vector<int64_t>(blocks, get_int(j, key, def));
    std::vector<int64_t> list = get_int_list(j, key, {});
    require(list.size() == blocks, SDN_ERR_FORMAT,
            std::string("config field '") + key + "' has " + std::to_string(list.size()) + " entries for " +
                std::to_string(blocks) + " blocks");
    return list;
}

HiddenAct parse_act(const std::string & s) {
    if (s == "quick_gelu") return HiddenAct::QuickGelu;
    if (s == "gelu") return HiddenAct::Gelu;
    fail(SDN_ERR_UNSUPPORTED, "hidden_act '" + s + "' is not supported (quick_gelu or gelu)");
}

void expect_value(bool ok, const char * key, const std::string & found) {
    require(ok, SDN_ERR_UNSUPPORTED, std::string("config field '") + key + "' = " + found + " is not supported by sd-native");
}

}  // namespace

JsonValue parse_config_text(const char * text, const char * what) {
    require(text != nullptr, SDN_ERR_INVALID_ARGUMENT, std::string(what) + ": config text is NULL");
    try {
        JsonValue j = io::parse_json(text, std::strlen(text));
        require(j.is_object(), SDN_ERR_FORMAT, "config is not a JSON object");
        return j;
    } catch (const Error & e) {
        fail(e.status(), std::string(what) + " config: " + e.what());
    }
}

ClipTextConfig parse_clip_text_config(const JsonValue & j) {
    ClipTextConfig c;
    c.vocab_size = get_int(j, "vocab_size", c.vocab_size);
    c.hidden = get_int(j, "hidden_size", c.hidden);
    c.intermediate = get_int(j, "intermediate_size", c.intermediate);
    c.layers = get_int(j, "num_hidden_layers", c.layers);
    c.heads = get_int(j, "num_attention_heads", c.heads);
    c.max_positions = get_int(j, "max_position_embeddings", c.max_positions);
    c.eps = static_cast<float>(get_num(j, "layer_norm_eps", c.eps));
    c.act = parse_act(get_str(j, "hidden_act", "quick_gelu"));
    c.eos_token_id = get_int(j, "eos_token_id", c.eos_token_id);
    require(c.hidden > 0 && c.heads > 0 && c.hidden % c.heads == 0 && c.layers > 0 && c.max_positions > 0 && c.vocab_size > 0,
            SDN_ERR_FORMAT, "text encoder config: inconsistent sizes (hidden_size must split into num_attention_heads)");
    return c;
}

ClipVisionConfig parse_clip_vision_config(const JsonValue & top) {
    const JsonValue * nested = field(top, "vision_config");
    const JsonValue & j = nested != nullptr ? *nested : top;
    ClipVisionConfig c;
    c.hidden = get_int(j, "hidden_size", c.hidden);
    c.intermediate = get_int(j, "intermediate_size", c.intermediate);
    c.layers = get_int(j, "num_hidden_layers", c.layers);
    c.heads = get_int(j, "num_attention_heads", c.heads);
    c.image_size = get_int(j, "image_size", c.image_size);
    c.patch = get_int(j, "patch_size", c.patch);
    c.channels = get_int(j, "num_channels", c.channels);
    c.eps = static_cast<float>(get_num(j, "layer_norm_eps", c.eps));
    c.act = parse_act(get_str(j, "hidden_act", "quick_gelu"));
    c.projection_dim = get_int(top, "projection_dim", get_int(j, "projection_dim", c.projection_dim));
    require(c.hidden > 0 && c.heads > 0 && c.hidden % c.heads == 0 && c.patch > 0 && c.image_size % c.patch == 0,
            SDN_ERR_FORMAT, "vision encoder config: inconsistent sizes");
    return c;
}

UNetConfig parse_unet_config(const JsonValue & j) {
    UNetConfig c;
    c.in_channels = get_int(j, "in_channels", c.in_channels);
    c.out_channels = get_int(j, "out_channels", c.out_channels);
    c.layers_per_block = get_int(j, "layers_per_block", c.layers_per_block);
    c.norm_num_groups = get_int(j, "norm_num_groups", c.norm_num_groups);
    c.norm_eps = static_cast<float>(get_num(j, "norm_eps", c.norm_eps));
    c.cross_attention_dim = get_int(j, "cross_attention_dim", c.cross_attention_dim);
    c.block_out_channels = get_int_list(j, "block_out_channels", c.block_out_channels);
    c.down_block_types = get_str_list(j, "down_block_types", c.down_block_types);
    c.up_block_types = get_str_list(j, "up_block_types", c.up_block_types);
    const size_t n = c.block_out_channels.size();
    require(n >= 1 && c.down_block_types.size() == n && c.up_block_types.size() == n, SDN_ERR_FORMAT,
            "UNet config: block_out_channels, down_block_types and up_block_types must have the same length");
    // diffusers: num_attention_heads defaults to attention_head_dim (which SD configs use to mean heads).
    const JsonValue * nah = field(j, "num_attention_heads");
    c.heads = per_block_ints(j, nah != nullptr ? "num_attention_heads" : "attention_head_dim", n, 8);
    const JsonValue * oca = field(j, "only_cross_attention");
    if (oca != nullptr && oca->is_array()) {
        require(oca->array.size() == n, SDN_ERR_FORMAT, "UNet config: only_cross_attention needs one entry per block");
        for (const auto & e : oca->array) {
            require(e.type == JsonValue::Type::Bool, SDN_ERR_FORMAT, "UNet config: only_cross_attention entries must be booleans");
            c.only_cross_attention.push_back(e.boolean);
        }
    } else {
        c.only_cross_attention.assign(n, get_bool(j, "only_cross_attention", false));
    }
    c.transformer_layers = per_block_ints(j, "transformer_layers_per_block", n, 1);
    c.use_linear_projection = get_bool(j, "use_linear_projection", false);
    c.upcast_attention = get_bool(j, "upcast_attention", false);
    c.flip_sin_to_cos = get_bool(j, "flip_sin_to_cos", true);
    c.freq_shift = static_cast<float>(get_num(j, "freq_shift", 0));
    c.num_class_embeds = get_int(j, "num_class_embeds", 0);
    c.downsample_padding = get_int(j, "downsample_padding", 1);
    c.center_input_sample = get_bool(j, "center_input_sample", false);
    expect_value(!c.center_input_sample, "center_input_sample", "true");
    c.mid_block_scale_factor = static_cast<float>(get_num(j, "mid_block_scale_factor", 1.0));

    for (const auto & t : c.down_block_types)
        expect_value(t == "CrossAttnDownBlock2D" || t == "DownBlock2D", "down_block_types", t);
    for (const auto & t : c.up_block_types) expect_value(t == "CrossAttnUpBlock2D" || t == "UpBlock2D", "up_block_types", t);
    const std::string mid = get_str(j, "mid_block_type", "UNetMidBlock2DCrossAttn");
    expect_value(mid == "UNetMidBlock2DCrossAttn", "mid_block_type", mid);
    const std::string shift = get_str(j, "resnet_time_scale_shift", "default");
    expect_value(shift == "default", "resnet_time_scale_shift", shift);
    const std::string tet = get_str(j, "time_embedding_type", "positional");
    expect_value(tet == "positional", "time_embedding_type", tet);
    const std::string act = get_str(j, "act_fn", "silu");
    expect_value(act == "silu", "act_fn", act);
    expect_value(field(j, "class_embed_type") == nullptr, "class_embed_type", get_str(j, "class_embed_type", ""));
    expect_value(field(j, "addition_embed_type") == nullptr, "addition_embed_type", get_str(j, "addition_embed_type", ""));
    expect_value(!get_bool(j, "dual_cross_attention", false), "dual_cross_attention", "true");
    expect_value(get_int(j, "conv_in_kernel", 3) == 3, "conv_in_kernel", std::to_string(get_int(j, "conv_in_kernel", 3)));
    expect_value(get_int(j, "conv_out_kernel", 3) == 3, "conv_out_kernel", std::to_string(get_int(j, "conv_out_kernel", 3)));
    expect_value(get_num(j, "resnet_out_scale_factor", 1.0) == 1.0, "resnet_out_scale_factor", "!= 1");
    expect_value(field(j, "encoder_hid_dim") == nullptr, "encoder_hid_dim", "set");
    expect_value(field(j, "time_cond_proj_dim") == nullptr, "time_cond_proj_dim", "set");
    require(c.in_channels > 0 && c.out_channels > 0 && c.layers_per_block > 0 && c.norm_num_groups > 0, SDN_ERR_FORMAT,
            "UNet config: channel counts must be positive");
    return c;
}

VaeConfig parse_vae_config(const JsonValue & j) {
    VaeConfig c;
    c.in_channels = get_int(j, "in_channels", c.in_channels);
    c.out_channels = get_int(j, "out_channels", c.out_channels);
    c.latent_channels = get_int(j, "latent_channels", c.latent_channels);
    c.layers_per_block = get_int(j, "layers_per_block", c.layers_per_block);
    c.norm_num_groups = get_int(j, "norm_num_groups", c.norm_num_groups);
    c.block_out_channels = get_int_list(j, "block_out_channels", c.block_out_channels);
    c.scaling_factor = get_num(j, "scaling_factor", c.scaling_factor);
    for (const auto & t : get_str_list(j, "down_block_types", {"DownEncoderBlock2D"}))
        expect_value(t == "DownEncoderBlock2D", "down_block_types", t);
    for (const auto & t : get_str_list(j, "up_block_types", {"UpDecoderBlock2D"})) expect_value(t == "UpDecoderBlock2D", "up_block_types", t);
    const std::string act = get_str(j, "act_fn", "silu");
    expect_value(act == "silu", "act_fn", act);
    require(!c.block_out_channels.empty() && c.latent_channels > 0, SDN_ERR_FORMAT, "VAE config: block_out_channels is empty");
    return c;
}

}  // namespace sdn
