#include "models/unet2d_condition.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sdn {

UNet2DCondition::UNet2DCondition(Backend & backend, const WeightMap & map, const UNetConfig & cfg)
    : Network(backend, map), cfg_(cfg) {
    ParamLoader p(map_, backend_, weights_);
    const auto & C = cfg.block_out_channels;
    const size_t n = C.size();
    const int64_t groups = cfg.norm_num_groups, L = cfg.layers_per_block, cross = cfg.cross_attention_dim;
    const float eps = cfg.norm_eps;
    temb_dim_ = C[0] * 4;

    time_linear1_.load(p, "time_embedding.linear_1", C[0], temb_dim_);
    time_linear2_.load(p, "time_embedding.linear_2", temb_dim_, temb_dim_);
    if (cfg.num_class_embeds > 0) class_embedding_ = p.get("class_embedding.weight", {cfg.num_class_embeds, temb_dim_}, true);
    conv_in_.load(p, "conv_in", cfg.in_channels, C[0], 3, 1, 1);

    int64_t out_ch = C[0];
    down_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const int64_t in_ch = out_ch;
        out_ch = C[i];
        const std::string pre = "down_blocks." + std::to_string(i);
        const bool attn = cfg.down_block_types[i] == "CrossAttnDownBlock2D";
        auto & blk = down_[i];
        for (int64_t j = 0; j < L; ++j) {
            blk.resnets.emplace_back();
            blk.resnets.back().load(p, pre + ".resnets." + std::to_string(j), j == 0 ? in_ch : out_ch, out_ch, temb_dim_, groups, eps);
            if (attn) {
                blk.attentions.emplace_back();
                blk.attentions.back().load(p, pre + ".attentions." + std::to_string(j), out_ch, cfg.heads[i], cfg.transformer_layers[i],
                                           cross, groups, cfg.only_cross_attention[i]);
            }
        }
        blk.has_down = i + 1 < n;
        if (blk.has_down) {
            blk.down.load(p, pre + ".downsamplers.0", out_ch, false);
            blk.down.conv.pad = cfg.downsample_padding;
        }
    }

    mid_res0_.load(p, "mid_block.resnets.0", C[n - 1], C[n - 1], temb_dim_, groups, eps);
    mid_attn_.load(p, "mid_block.attentions.0", C[n - 1], cfg.heads[n - 1], cfg.transformer_layers[n - 1], cross, groups, false);
    mid_res1_.load(p, "mid_block.resnets.1", C[n - 1], C[n - 1], temb_dim_, groups, eps);

    std::vector<int64_t> rc(C.rbegin(), C.rend());
    std::vector<int64_t> rheads(cfg.heads.rbegin(), cfg.heads.rend());
    std::vector<int64_t> rlayers(cfg.transformer_layers.rbegin(), cfg.transformer_layers.rend());
    std::vector<bool> rcross(cfg.only_cross_attention.rbegin(), cfg.only_cross_attention.rend());
    out_ch = rc[0];
    up_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        const int64_t prev_out = out_ch;
        out_ch = rc[i];
        const int64_t in_ch = rc[std::min(i + 1, n - 1)];
        const std::string pre = "up_blocks." + std::to_string(i);
        const bool attn = cfg.up_block_types[i] == "CrossAttnUpBlock2D";
        auto & blk = up_[i];
        blk.out_channels = out_ch;
        for (int64_t j = 0; j <= L; ++j) {
            const int64_t skip_ch = j == L ? in_ch : out_ch;
            const int64_t res_in = j == 0 ? prev_out : out_ch;
            blk.resnets.emplace_back();
            blk.resnets.back().load(p, pre + ".resnets." + std::to_string(j), res_in + skip_ch, out_ch, temb_dim_, groups, eps);
            if (attn) {
                blk.attentions.emplace_back();
                blk.attentions.back().load(p, pre + ".attentions." + std::to_string(j), out_ch, rheads[i], rlayers[i], cross, groups,
                                           rcross[i]);
            }
        }
        blk.has_up = i + 1 < n;
        if (blk.has_up) blk.up.load(p, pre + ".upsamplers.0", out_ch);
    }
    norm_out_.load(p, "conv_norm_out", C[0], groups, eps);
    conv_out_.load(p, "conv_out", C[0], cfg.out_channels, 3, 1, 1);
    finish_loading(p);
}

void UNet2DCondition::forward(const float * sample, int64_t B, int64_t H, int64_t W, const float * timesteps,
                              const float * context, int64_t S, const int32_t * class_labels, float * out,
                              const ExecControl & ctl) {
    require(sample != nullptr && timesteps != nullptr && out != nullptr, SDN_ERR_INVALID_ARGUMENT,
            "unet: sample, timesteps and out must not be NULL");
    require(B >= 1 && H >= 1 && W >= 1, SDN_ERR_SHAPE, "unet: batch, height and width must be >= 1");
    require(context != nullptr && S >= 1, SDN_ERR_INVALID_ARGUMENT, "unet: encoder_hidden_states are required");
    for (int64_t b = 0; b < B; ++b)
        require(std::isfinite(timesteps[b]), SDN_ERR_INVALID_ARGUMENT, "unet: timestep " + std::to_string(b) + " is not finite");
    if (cfg_.num_class_embeds > 0) {
        require(class_labels != nullptr, SDN_ERR_INVALID_ARGUMENT, "unet: this model needs class_labels (e.g. the upscaler's noise level)");
        for (int64_t b = 0; b < B; ++b)
            require(class_labels[b] >= 0 && class_labels[b] < cfg_.num_class_embeds, SDN_ERR_INVALID_ARGUMENT,
                    "unet: class label " + std::to_string(class_labels[b]) + " is outside [0, " +
                        std::to_string(cfg_.num_class_embeds) + ")");
    }
    const auto & C = cfg_.block_out_channels;
    const size_t n = C.size();
    const int64_t L = cfg_.layers_per_block;
    const int total_units = static_cast<int>(n * (2 * L + 1) + 3);
    int units = 0;
    auto tick = [&] {
        ctl.poll("unet");
        ctl.report(++units, total_units);
    };

    with_pass(arena_, [&] {
        // The op sequence depends only on these (and on the arena's block, stable once it has settled), so a
        // backend may record the forward once and replay it (CUDA graphs, see Backend::begin_replay).
        uint64_t key = 1469598103934665603ull;
        for (uint64_t v : {static_cast<uint64_t>(B), static_cast<uint64_t>(H), static_cast<uint64_t>(W), static_cast<uint64_t>(S),
                           static_cast<uint64_t>(class_embedding_.present()), static_cast<uint64_t>(arena_.capacity()),
                           static_cast<uint64_t>(reinterpret_cast<uintptr_t>(arena_.base()))})
            key = (key ^ v) * 1099511628211ull;
        ReplayScope replay(backend_, this, key);
        Run r{backend_, arena_, ctl};
        // time embedding (+ class embedding), then silu for the resnets' time projections
        Tensor tproj = arena_.tensor({B, C[0]});
        backend_.timestep_embedding(timesteps, B, C[0], cfg_.flip_sin_to_cos, cfg_.freq_shift, tproj.data);
        Tensor emb = arena_.tensor({B, temb_dim_});
        {
            Arena::Scope s(arena_);
            Tensor h = arena_.tensor({B, temb_dim_});
            time_linear1_.forward(r, tproj.data, B, h.data);
            backend_.activation(Act::Silu, h.data, h.data, h.numel());
            time_linear2_.forward(r, h.data, B, emb.data);
        }
        if (class_embedding_.present()) {
            Tensor ce = arena_.tensor({B, temb_dim_});
            std::vector<int32_t> labels(class_labels, class_labels + B);
            backend_.embedding(labels.data(), B, class_embedding_, ce.data);
            backend_.add(emb.data, ce.data, emb.data, emb.numel());
        }
        backend_.activation(Act::Silu, emb.data, emb.data, emb.numel());  // every consumer applies silu first

        Tensor ctx = arena_.tensor({B * S, cfg_.cross_attention_dim});
        backend_.upload(ctx.data, context, static_cast<size_t>(ctx.numel()) * sizeof(float));
        Tensor x = arena_.tensor({B, cfg_.in_channels, H, W});
        backend_.upload(x.data, sample, static_cast<size_t>(x.numel()) * sizeof(float));

        // ---- down path: every output is kept as a skip connection ----
        std::vector<Tensor> skips;
        std::vector<int64_t> level_hw;  // spatial size (h*w) of each level
        Tensor h = arena_.tensor({B, C[0], H, W});
        conv_in_.forward(r, x.data, B, H, W, h.data);
        skips.push_back(h);
        level_hw.push_back(H * W);
        for (size_t i = 0; i < n; ++i) {
            const auto & blk = down_[i];
            for (size_t j = 0; j < blk.resnets.size(); ++j) {
                h = blk.resnets[j].forward(r, h, emb.data);
                if (!blk.attentions.empty()) h = blk.attentions[j].forward(r, h, ctx.data, S);
                skips.push_back(h);
                tick();
            }
            if (blk.has_down) {
                h = blk.down.forward(r, h);
                skips.push_back(h);
                level_hw.push_back(h.dim(2) * h.dim(3));
            }
        }

        // ---- mid and up paths: block outputs alternate between two buffers sized for the largest ----
        // Up block i runs at level n-1-i and upsamples (keeping its channels) to level n-2-i.
        int64_t max_elems = B * C[n - 1] * level_hw[n - 1];
        for (size_t i = 0; i < n; ++i) {
            int64_t hw = level_hw[n - 1 - i];
            if (i + 1 < n) hw = std::max(hw, level_hw[n - 2 - i]);
            max_elems = std::max(max_elems, B * up_[i].out_channels * hw);
        }
        PingPong pp(r, max_elems);
        auto commit = [&](const Tensor & t) { return pp.commit(t); };
        {
            Arena::Scope s(arena_);
            h = commit(mid_res0_.forward(r, h, emb.data));
        }
        {
            Arena::Scope s(arena_);
            h = commit(mid_attn_.forward(r, h, ctx.data, S));
        }
        {
            Arena::Scope s(arena_);
            h = commit(mid_res1_.forward(r, h, emb.data));
        }
        tick();
        if (cfg_.mid_block_scale_factor != 1.0f) backend_.scale(h.data, 1.0f / cfg_.mid_block_scale_factor, h.data, h.numel());

        for (size_t i = 0; i < n; ++i) {
            const auto & blk = up_[i];
            for (size_t j = 0; j < blk.resnets.size(); ++j) {
                const Tensor skip = skips.back();
                skips.pop_back();
                Arena::Scope s(arena_);
                Tensor cat = arena_.tensor({B, h.dim(1) + skip.dim(1), h.dim(2), h.dim(3)});
                require(skip.dim(2) == h.dim(2) && skip.dim(3) == h.dim(3), SDN_ERR_INTERNAL, "unet: skip size mismatch");
                backend_.concat_channels(h.data, h.dim(1), skip.data, skip.dim(1), cat.data, B, h.dim(2) * h.dim(3));
                Tensor y = blk.resnets[j].forward(r, cat, emb.data);
                if (!blk.attentions.empty()) y = blk.attentions[j].forward(r, y, ctx.data, S);
                h = commit(y);
                tick();
            }
            if (blk.has_up) {
                const Tensor & next = skips.back();  // upsample to the size of the next skip (diffusers' upsample_size)
                Arena::Scope s(arena_);
                h = commit(blk.up.forward(r, h, next.dim(2), next.dim(3)));
            }
        }

        Tensor y = arena_.tensor({B, cfg_.out_channels, H, W});
        {
            Arena::Scope s(arena_);
            Tensor normed = arena_.tensor(h.shape);
            norm_out_.forward(r, h.data, normed.data, B, H * W, true);
            conv_out_.forward(r, normed.data, B, H, W, y.data);
        }
        tick();
        backend_.download(out, y.data, static_cast<size_t>(y.numel()) * sizeof(float));
    });
}

}  // namespace sdn
