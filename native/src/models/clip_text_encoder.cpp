#include "models/clip_text_encoder.h"

#include <vector>

namespace sdn {

void ClipEncoderLayer::load(ParamLoader & p, const std::string & prefix, int64_t hidden, int64_t intermediate, int64_t heads,
                            float eps, bool causal) {
    ln1.load(p, prefix + ".layer_norm1", hidden, eps);
    attn.load(p, prefix + ".self_attn", hidden, hidden, heads, hidden / heads, true, "q_proj", "k_proj", "v_proj", "out_proj");
    attn.causal = causal;
    ln2.load(p, prefix + ".layer_norm2", hidden, eps);
    fc1.load(p, prefix + ".mlp.fc1", hidden, intermediate);
    fc2.load(p, prefix + ".mlp.fc2", intermediate, hidden);
}

void ClipEncoderLayer::forward(Run & r, float * x, int64_t batch, int64_t seq, HiddenAct act) const {
    Arena::Scope scope(r.arena);
    const int64_t rows = batch * seq, hidden = ln1.dim;
    Tensor h = r.arena.tensor({rows, hidden});
    ln1.forward(r, x, h.data, rows);
    attn.forward(r, h.data, batch, seq, nullptr, seq, x, x);
    ln2.forward(r, x, h.data, rows);
    Tensor mid = r.arena.tensor({rows, fc1.out});
    fc1.forward(r, h.data, rows, mid.data);
    r.be.activation(act == HiddenAct::QuickGelu ? Act::QuickGelu : Act::Gelu, mid.data, mid.data, mid.numel());
    fc2.forward(r, mid.data, rows, x, x);
}

ClipTextEncoder::ClipTextEncoder(Backend & backend, const WeightMap & map, const ClipTextConfig & cfg)
    : Network(backend, map), cfg_(cfg) {
    ParamLoader p(map_, backend_, weights_);
    const std::string pre = "text_model.";
    token_embedding_ = p.get(pre + "embeddings.token_embedding.weight", {cfg.vocab_size, cfg.hidden});
    position_embedding_ = p.get(pre + "embeddings.position_embedding.weight", {cfg.max_positions, cfg.hidden}, true);
    layers_.resize(static_cast<size_t>(cfg.layers));
    for (int64_t i = 0; i < cfg.layers; ++i)
        layers_[static_cast<size_t>(i)].load(p, pre + "encoder.layers." + std::to_string(i), cfg.hidden, cfg.intermediate,
                                             cfg.heads, cfg.eps, true);
    final_ln_.load(p, pre + "final_layer_norm", cfg.hidden, cfg.eps);
    finish_loading(p);
}

void ClipTextEncoder::forward(const int32_t * ids, int64_t batch, int64_t seq, int64_t clip_skip, const ClipTextOutputs & out,
                              const ExecControl & ctl) {
    require(ids != nullptr, SDN_ERR_INVALID_ARGUMENT, "text encoder: ids is NULL");
    require(batch >= 1 && seq >= 1, SDN_ERR_SHAPE, "text encoder: batch and sequence length must be >= 1");
    require(seq <= cfg_.max_positions, SDN_ERR_SHAPE,
            "text encoder: sequence length " + std::to_string(seq) + " exceeds max_position_embeddings " +
                std::to_string(cfg_.max_positions));
    require(clip_skip >= 0 && clip_skip < cfg_.layers, SDN_ERR_INVALID_ARGUMENT,
            "text encoder: clip_skip must be in [0, " + std::to_string(cfg_.layers - 1) + "], got " + std::to_string(clip_skip));
    for (int64_t i = 0; i < batch * seq; ++i)
        require(ids[i] >= 0 && ids[i] < cfg_.vocab_size, SDN_ERR_INVALID_ARGUMENT,
                "text encoder: token id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                    " is outside the vocabulary (" + std::to_string(cfg_.vocab_size) + ")");
    const int64_t H = cfg_.hidden, rows = batch * seq;
    const size_t plane_bytes = static_cast<size_t>(rows * H) * sizeof(float);
    with_pass(arena_, [&] {
        Run r{backend_, arena_, ctl};
        Tensor x = arena_.tensor({rows, H});
        backend_.embedding(ids, rows, token_embedding_, x.data);
        const float * pos = position_embedding_.f32();
        for (int64_t b = 0; b < batch; ++b) backend_.add(x.data + b * seq * H, pos, x.data + b * seq * H, seq * H);
        if (out.hidden_states != nullptr) backend_.download(out.hidden_states, x.data, plane_bytes);
        const int64_t run_layers = cfg_.layers - (out.hidden_states != nullptr ? 0 : clip_skip);
        Tensor keep = arena_.tensor({rows, H});
        for (int64_t i = 0; i < run_layers; ++i) {
            ctl.poll("text encoder");
            layers_[static_cast<size_t>(i)].forward(r, x.data, batch, seq, cfg_.act);
            if (out.hidden_states != nullptr)
                backend_.download(reinterpret_cast<char *>(out.hidden_states) + static_cast<size_t>(i + 1) * plane_bytes, x.data,
                                  plane_bytes);
            if (i + 1 == cfg_.layers - clip_skip) backend_.copy(x.data, keep.data, rows * H);
            ctl.report(static_cast<int>(i + 1), static_cast<int>(run_layers));
        }
        if (out.embeds == nullptr && out.pooled == nullptr) return;
        final_ln_.forward(r, keep.data, keep.data, rows);
        std::vector<float> host(static_cast<size_t>(rows * H));
        backend_.download(host.data(), keep.data, plane_bytes);
        if (out.embeds != nullptr) std::copy(host.begin(), host.end(), out.embeds);
        if (out.pooled != nullptr) {
            for (int64_t b = 0; b < batch; ++b) {
                // transformers: legacy configs (eos_token_id == 2) pool at argmax(ids); others at the first eos id.
                int64_t at = 0;
                if (cfg_.eos_token_id == 2) {
                    for (int64_t s = 1; s < seq; ++s)
                        if (ids[b * seq + s] > ids[b * seq + at]) at = s;
                } else {
                    // argmax of (ids == eos): the first match, or position 0 when there is none.
                    for (int64_t s = 0; s < seq; ++s)
                        if (ids[b * seq + s] == cfg_.eos_token_id) {
                            at = s;
                            break;
                        }
                }
                std::copy(host.begin() + (b * seq + at) * H, host.begin() + (b * seq + at + 1) * H, out.pooled + b * H);
            }
        }
    });
}

}  // namespace sdn
