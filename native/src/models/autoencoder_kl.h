// AutoencoderKL (diffusers): encoder -> quant_conv -> moments (mean ++ logvar); post_quant_conv ->
// decoder. 3 or 4 levels (the x4 upscaler's VAE has 3), mid-block attention, GroupNorm eps 1e-6.
// Scaling by scaling_factor is the caller's business (pipelines), as in diffusers.
#pragma once

#include "models/configs.h"
#include "models/layers.h"
#include "models/network.h"

namespace sdn {

class AutoencoderKL : public Network {
public:
    AutoencoderKL(Backend & backend, const WeightMap & map, const VaeConfig & cfg);
    const VaeConfig & config() const { return cfg_; }
    // Spatial reduction of the latents (2^(levels-1)).
    int64_t downscale() const { return int64_t{1} << (cfg_.block_out_channels.size() - 1); }

    // x [B, in_channels, H, W] (values in [-1, 1]) -> moments [B, 2*latent, H/f, W/f] (host buffers)
    void encode(const float * x, int64_t batch, int64_t h, int64_t w, float * moments, const ExecControl & ctl);
    // z [B, latent, h, w] -> image [B, out_channels, h*f, w*f] (host buffers)
    void decode(const float * z, int64_t batch, int64_t h, int64_t w, float * image, const ExecControl & ctl);

private:
    struct Level {
        std::vector<ResnetBlock> resnets;
        bool has_sample = false;
        Downsample down;
        Upsample up;
    };
    struct Mid {
        ResnetBlock res0, res1;
        VaeAttention attn;
    };
    void load_mid(ParamLoader & p, const std::string & prefix, Mid & m, int64_t c);
    Tensor run_mid(Run & r, const Mid & m, const Tensor & x) const;

    VaeConfig cfg_;
    Conv2d enc_in_, enc_out_, quant_conv_, post_quant_conv_, dec_in_, dec_out_;
    GroupNorm enc_norm_, dec_norm_;
    std::vector<Level> enc_levels_, dec_levels_;
    Mid enc_mid_, dec_mid_;
};

}  // namespace sdn
