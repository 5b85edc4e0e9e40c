// CLIPTextModel (transformers): token + position embeddings, pre-LN transformer layers with a causal
// mask, final LayerNorm; pooled output at the EOS position.
#pragma once

#include "models/configs.h"
#include "models/layers.h"
#include "models/network.h"

namespace sdn {

struct ClipEncoderLayer {
    LayerNorm ln1, ln2;
    MultiHeadAttention attn;
    Linear fc1, fc2;
    void load(ParamLoader & p, const std::string & prefix, int64_t hidden, int64_t intermediate, int64_t heads, float eps,
              bool causal);
    // x [B*S, hidden] in place
    void forward(Run & r, float * x, int64_t batch, int64_t seq, HiddenAct act) const;
};

struct ClipTextOutputs {
    float * embeds = nullptr;         // [B, S, H]: final LayerNorm of the output of layer (layers - clip_skip)
    float * pooled = nullptr;         // [B, H]: embeds at the EOS position
    float * hidden_states = nullptr;  // [layers + 1, B, S, H]: embeddings and every layer's output, before the final LN
};

class ClipTextEncoder : public Network {
public:
    ClipTextEncoder(Backend & backend, const WeightMap & map, const ClipTextConfig & cfg);
    const ClipTextConfig & config() const { return cfg_; }
    // ids [B, S] (host); outputs are host buffers (null to skip). clip_skip in [0, layers - 1].
    void forward(const int32_t * ids, int64_t batch, int64_t seq, int64_t clip_skip, const ClipTextOutputs & out,
                 const ExecControl & ctl);

private:
    ClipTextConfig cfg_;
    Weight token_embedding_, position_embedding_;
    std::vector<ClipEncoderLayer> layers_;
    LayerNorm final_ln_;
};

}  // namespace sdn
