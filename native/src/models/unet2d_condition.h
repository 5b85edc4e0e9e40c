// UNet2DConditionModel (diffusers) for every SD family: SD1 (conv projections), SD2 (linear projections,
// heads per block, upcast attention), inpainting (9 input channels), depth (5), the x4 upscaler (7 input
// channels, class embedding for the noise level, only_cross_attention per block).
#pragma once

#include "models/configs.h"
#include "models/layers.h"
#include "models/network.h"

namespace sdn {

class UNet2DCondition : public Network {
public:
    UNet2DCondition(Backend & backend, const WeightMap & map, const UNetConfig & cfg);
    const UNetConfig & config() const { return cfg_; }

    // sample [B, in, H, W], timesteps [B] (float; per sample), context [B, S, cross_dim], class_labels [B]
    // (required when the model has a class embedding, else ignored), out [B, out, H, W]. Host buffers.
    void forward(const float * sample, int64_t batch, int64_t h, int64_t w, const float * timesteps, const float * context,
                 int64_t context_len, const int32_t * class_labels, float * out, const ExecControl & ctl);

private:
    struct DownBlock {
        std::vector<ResnetBlock> resnets;
        std::vector<Transformer2D> attentions;
        bool has_down = false;
        Downsample down;
    };
    struct UpBlock {
        std::vector<ResnetBlock> resnets;
        std::vector<Transformer2D> attentions;
        bool has_up = false;
        Upsample up;
        int64_t out_channels = 0;
    };

    UNetConfig cfg_;
    int64_t temb_dim_ = 0;
    Linear time_linear1_, time_linear2_;
    Weight class_embedding_;
    Conv2d conv_in_, conv_out_;
    GroupNorm norm_out_;
    std::vector<DownBlock> down_;
    ResnetBlock mid_res0_, mid_res1_;
    Transformer2D mid_attn_;
    std::vector<UpBlock> up_;
};

}  // namespace sdn
