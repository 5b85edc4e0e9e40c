// C API: weight maps and networks (text encoder, vision encoder, UNet, VAE) on a context's backend.
#include "api/weight_file_internal.h"
#include "core/context.h"
#include "core/error.h"
#include "core/json_writer.h"
#include "models/autoencoder_kl.h"
#include "models/clip_text_encoder.h"
#include "models/clip_vision_encoder.h"
#include "models/configs.h"
#include "models/unet2d_condition.h"

#include <cstring>
#include <memory>
#include <string>

using namespace sdn;

struct sdn_weight_map {
    WeightMap map;
};

struct sdn_model {
    sdn_context * ctx = nullptr;
    sdn_model_kind kind = SDN_MODEL_TEXT_ENCODER;
    std::unique_ptr<Network> net;
    template <typename T>
    T & as(sdn_model_kind want, const char * fn) {
        require(kind == want, SDN_ERR_INVALID_ARGUMENT, std::string(fn) + ": the model is not of the right kind");
        return static_cast<T &>(*net);
    }
};

extern "C" {

sdn_status sdn_weight_map_create(sdn_weight_map ** out, sdn_error * err) {
    return guarded(err, [&] {
        require(out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_weight_map_create: out is NULL");
        *out = new sdn_weight_map();
    });
}

void sdn_weight_map_free(sdn_weight_map * map) { delete map; }

size_t sdn_weight_map_count(const sdn_weight_map * map) { return map != nullptr ? map->map.size() : 0; }

sdn_status sdn_weight_map_add(sdn_weight_map * map, const char * name, const sdn_weight_file * file, const char * tensor,
                              int64_t row_begin, int64_t row_end, sdn_error * err) {
    return guarded(err, [&] {
        require(map != nullptr && name != nullptr && file != nullptr && tensor != nullptr, SDN_ERR_INVALID_ARGUMENT,
                "sdn_weight_map_add: NULL argument");
        std::shared_ptr<const io::TensorSet> set = weight_file_tensor_set(file);
        const io::TensorView * view = set->find(tensor);
        require(view != nullptr, SDN_ERR_NOT_FOUND, "tensor '" + std::string(tensor) + "' is not in " + set->path);
        map->map.add(name, set, *view, row_begin, row_begin >= 0 ? row_end : -1);
    });
}

sdn_status sdn_model_create(sdn_context * ctx, sdn_model_kind kind, const char * config_json, const sdn_weight_map * weights,
                            sdn_model ** out, sdn_error * err) {
    return guarded(err, [&] {
        require(out != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_model_create: out is NULL");
        *out = nullptr;
        require(ctx != nullptr && weights != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_model_create: ctx and weights are required");
        auto model = std::make_unique<sdn_model>();
        model->ctx = ctx;
        model->kind = kind;
        Backend & be = *ctx->backend;  // CPU or CUDA: every network op is implemented by both
        switch (kind) {
            case SDN_MODEL_TEXT_ENCODER: {
                const auto cfg = parse_clip_text_config(parse_config_text(config_json, "text encoder"));
                model->net = std::make_unique<ClipTextEncoder>(be, weights->map, cfg);
                break;
            }
            case SDN_MODEL_VISION_ENCODER: {
                const auto cfg = parse_clip_vision_config(parse_config_text(config_json, "vision encoder"));
                model->net = std::make_unique<ClipVisionEncoder>(be, weights->map, cfg);
                break;
            }
            case SDN_MODEL_UNET: {
                const auto cfg = parse_unet_config(parse_config_text(config_json, "unet"));
                model->net = std::make_unique<UNet2DCondition>(be, weights->map, cfg);
                break;
            }
            case SDN_MODEL_VAE: {
                const auto cfg = parse_vae_config(parse_config_text(config_json, "vae"));
                model->net = std::make_unique<AutoencoderKL>(be, weights->map, cfg);
                break;
            }
            default:
                fail(SDN_ERR_INVALID_ARGUMENT, "sdn_model_create: unknown model kind " + std::to_string(static_cast<int>(kind)));
        }
        *out = model.release();
    });
}

void sdn_model_free(sdn_model * model) { delete model; }

sdn_model_kind sdn_model_get_kind(const sdn_model * model) { return model != nullptr ? model->kind : SDN_MODEL_TEXT_ENCODER; }

size_t sdn_model_unused_tensor_count(const sdn_model * model) {
    return model != nullptr && model->net ? model->net->unused_tensors().size() : 0;
}

const char * sdn_model_unused_tensor(const sdn_model * model, size_t index) {
    if (model == nullptr || !model->net || index >= model->net->unused_tensors().size()) return nullptr;
    return model->net->unused_tensors()[index].c_str();
}

size_t sdn_model_workspace_bytes(const sdn_model * model) { return model != nullptr && model->net ? model->net->arena_bytes() : 0; }

sdn_status sdn_model_info_json(const sdn_model * model, char * buffer, size_t capacity, size_t * required, sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr && model->net, SDN_ERR_INVALID_ARGUMENT, "sdn_model_info_json: model is NULL");
        JsonWriter w;
        w.begin_object();
        switch (model->kind) {
            case SDN_MODEL_TEXT_ENCODER: {
                const auto & c = static_cast<const ClipTextEncoder &>(*model->net).config();
                w.field("kind", "text_encoder").field("hidden", c.hidden).field("layers", c.layers);
                w.field("maxPositions", c.max_positions).field("vocabSize", c.vocab_size);
                break;
            }
            case SDN_MODEL_VISION_ENCODER: {
                const auto & net = static_cast<const ClipVisionEncoder &>(*model->net);
                const auto & c = net.config();
                w.field("kind", "vision_encoder").field("hidden", c.hidden).field("layers", c.layers);
                w.field("tokens", net.tokens()).field("imageSize", c.image_size).field("channels", c.channels);
                w.field("projectionDim", c.projection_dim);
                break;
            }
            case SDN_MODEL_UNET: {
                const auto & c = static_cast<const UNet2DCondition &>(*model->net).config();
                w.field("kind", "unet").field("inChannels", c.in_channels).field("outChannels", c.out_channels);
                w.field("crossAttentionDim", c.cross_attention_dim).field("numClassEmbeds", c.num_class_embeds);
                break;
            }
            case SDN_MODEL_VAE: {
                const auto & net = static_cast<const AutoencoderKL &>(*model->net);
                const auto & c = net.config();
                w.field("kind", "vae").field("inChannels", c.in_channels).field("outChannels", c.out_channels);
                w.field("latentChannels", c.latent_channels).field("downscale", net.downscale());
                w.field("scalingFactor", c.scaling_factor);
                break;
            }
        }
        w.key("unusedTensors").begin_array();
        for (const auto & n : model->net->unused_tensors()) w.value(n);
        w.end_array();
        w.end_object();
        const std::string & json = w.str();
        if (required != nullptr) *required = json.size() + 1;
        require(buffer != nullptr && capacity >= json.size() + 1, SDN_ERR_INVALID_ARGUMENT,
                "sdn_model_info_json: buffer too small (need " + std::to_string(json.size() + 1) + " bytes)");
        std::memcpy(buffer, json.c_str(), json.size() + 1);
    });
}

sdn_status sdn_text_encoder_forward(sdn_model * model, const int32_t * ids, int64_t batch, int64_t seq, int clip_skip,
                                    float * embeds, float * pooled, float * hidden_states, sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_text_encoder_forward: model is NULL");
        auto & net = model->as<ClipTextEncoder>(SDN_MODEL_TEXT_ENCODER, "sdn_text_encoder_forward");
        ClipTextOutputs o;
        o.embeds = embeds;
        o.pooled = pooled;
        o.hidden_states = hidden_states;
        net.forward(ids, batch, seq, clip_skip, o, model->ctx->control);
    });
}

sdn_status sdn_vision_encoder_forward(sdn_model * model, const float * pixel_values, int64_t batch, float * image_embeds,
                                      float * pooled, float * last_hidden_state, float * hidden_states, sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_vision_encoder_forward: model is NULL");
        auto & net = model->as<ClipVisionEncoder>(SDN_MODEL_VISION_ENCODER, "sdn_vision_encoder_forward");
        ClipVisionOutputs o;
        o.image_embeds = image_embeds;
        o.pooled = pooled;
        o.last_hidden_state = last_hidden_state;
        o.hidden_states = hidden_states;
        net.forward(pixel_values, batch, o, model->ctx->control);
    });
}

sdn_status sdn_unet_forward(sdn_model * model, const float * sample, int64_t batch, int64_t height, int64_t width,
                            const float * timesteps, const float * context, int64_t context_len, const int32_t * class_labels,
                            float * out, sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_unet_forward: model is NULL");
        auto & net = model->as<UNet2DCondition>(SDN_MODEL_UNET, "sdn_unet_forward");
        net.forward(sample, batch, height, width, timesteps, context, context_len, class_labels, out, model->ctx->control);
    });
}

sdn_status sdn_vae_encode(sdn_model * model, const float * x, int64_t batch, int64_t height, int64_t width, float * moments,
                          sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_vae_encode: model is NULL");
        model->as<AutoencoderKL>(SDN_MODEL_VAE, "sdn_vae_encode").encode(x, batch, height, width, moments, model->ctx->control);
    });
}

sdn_status sdn_vae_decode(sdn_model * model, const float * z, int64_t batch, int64_t height, int64_t width, float * image,
                          sdn_error * err) {
    return guarded(err, [&] {
        require(model != nullptr, SDN_ERR_INVALID_ARGUMENT, "sdn_vae_decode: model is NULL");
        model->as<AutoencoderKL>(SDN_MODEL_VAE, "sdn_vae_decode").decode(z, batch, height, width, image, model->ctx->control);
    });
}

}  // extern "C"
