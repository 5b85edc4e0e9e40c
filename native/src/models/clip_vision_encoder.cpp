#include "models/clip_vision_encoder.h"

#include <vector>

namespace sdn {

ClipVisionEncoder::ClipVisionEncoder(Backend & backend, const WeightMap & map, const ClipVisionConfig & cfg)
    : Network(backend, map), cfg_(cfg) {
    ParamLoader p(map_, backend_, weights_);
    const std::string pre = p.has("vision_model.vision_model.embeddings.class_embedding") ? "vision_model.vision_model." : "vision_model.";
    const int64_t H = cfg.hidden;
    patch_.load(p, pre + "embeddings.patch_embedding", cfg.channels, H, cfg.patch, cfg.patch, 0, false);
    class_embedding_ = p.get(pre + "embeddings.class_embedding", {H}, true);
    position_embedding_ = p.get(pre + "embeddings.position_embedding.weight", {tokens(), H}, true);
    pre_ln_.load(p, pre + "pre_layrnorm", H, cfg.eps);
    layers_.resize(static_cast<size_t>(cfg.layers));
    for (int64_t i = 0; i < cfg.layers; ++i)
        layers_[static_cast<size_t>(i)].load(p, pre + "encoder.layers." + std::to_string(i), H, cfg.intermediate, cfg.heads,
                                             cfg.eps, false);
    post_ln_.load(p, pre + "post_layernorm", H, cfg.eps);
    projection_ = p.get("visual_projection.weight", {cfg.projection_dim, H});
    finish_loading(p);
}

void ClipVisionEncoder::forward(const float * pixels, int64_t batch, const ClipVisionOutputs & out, const ExecControl & ctl) {
    require(pixels != nullptr, SDN_ERR_INVALID_ARGUMENT, "vision encoder: pixel_values is NULL");
    require(batch >= 1, SDN_ERR_SHAPE, "vision encoder: batch must be >= 1");
    const int64_t H = cfg_.hidden, S = cfg_.image_size, G = S / cfg_.patch, P = G * G, T = P + 1, rows = batch * T;
    with_pass(arena_, [&] {
        Run r{backend_, arena_, ctl};
        Tensor img = arena_.tensor({batch, cfg_.channels, S, S});
        backend_.upload(img.data, pixels, static_cast<size_t>(img.numel()) * sizeof(float));
        Tensor patches = arena_.tensor({batch, H, G, G});
        patch_.forward(r, img.data, batch, S, S, patches.data);
        // tokens: [class, patches...] + positions
        Tensor x = arena_.tensor({rows, H});
        Tensor pt = arena_.tensor({batch, P, H});
        backend_.nchw_to_nhwc(patches.data, pt.data, batch, H, P);
        for (int64_t b = 0; b < batch; ++b) {
            backend_.copy(class_embedding_.f32(), x.data + b * T * H, H);
            backend_.copy(pt.data + b * P * H, x.data + (b * T + 1) * H, P * H);
            backend_.add(x.data + b * T * H, position_embedding_.f32(), x.data + b * T * H, T * H);
        }
        pre_ln_.forward(r, x.data, x.data, rows);
        const size_t plane = static_cast<size_t>(rows * H) * sizeof(float);
        if (out.hidden_states != nullptr) backend_.download(out.hidden_states, x.data, plane);
        for (int64_t i = 0; i < cfg_.layers; ++i) {
            ctl.poll("vision encoder");
            layers_[static_cast<size_t>(i)].forward(r, x.data, batch, T, cfg_.act);
            if (out.hidden_states != nullptr)
                backend_.download(reinterpret_cast<char *>(out.hidden_states) + static_cast<size_t>(i + 1) * plane, x.data, plane);
            ctl.report(static_cast<int>(i + 1), static_cast<int>(cfg_.layers));
        }
        if (out.last_hidden_state != nullptr) backend_.download(out.last_hidden_state, x.data, plane);
        Tensor cls = arena_.tensor({batch, H});
        for (int64_t b = 0; b < batch; ++b) backend_.copy(x.data + b * T * H, cls.data + b * H, H);
        post_ln_.forward(r, cls.data, cls.data, batch);
        if (out.pooled != nullptr) backend_.download(out.pooled, cls.data, static_cast<size_t>(batch * H) * sizeof(float));
        if (out.image_embeds != nullptr) {
            Tensor emb = arena_.tensor({batch, cfg_.projection_dim});
            backend_.linear(cls.data, batch, H, projection_, nullptr, emb.data, nullptr, ctl);
            backend_.download(out.image_embeds, emb.data, static_cast<size_t>(emb.numel()) * sizeof(float));
        }
    });
}

}  // namespace sdn
