#include "models/autoencoder_kl.h"

#include <algorithm>

namespace sdn {

namespace {
constexpr float kVaeEps = 1e-6f;
}

void AutoencoderKL::load_mid(ParamLoader & p, const std::string & prefix, Mid & m, int64_t c) {
    m.res0.load(p, prefix + ".resnets.0", c, c, 0, cfg_.norm_num_groups, kVaeEps);
    m.attn.load(p, prefix + ".attentions.0", c, cfg_.norm_num_groups, kVaeEps);
    m.res1.load(p, prefix + ".resnets.1", c, c, 0, cfg_.norm_num_groups, kVaeEps);
}

Tensor AutoencoderKL::run_mid(Run & r, const Mid & m, const Tensor & x) const {
    Tensor a = m.res0.forward(r, x, nullptr);
    Tensor b = m.attn.forward(r, a);
    return m.res1.forward(r, b, nullptr);
}

AutoencoderKL::AutoencoderKL(Backend & backend, const WeightMap & map, const VaeConfig & cfg) : Network(backend, map), cfg_(cfg) {
    ParamLoader p(map_, backend_, weights_);
    const auto & C = cfg.block_out_channels;
    const size_t n = C.size();
    const int64_t G = cfg.norm_num_groups, L = cfg.layers_per_block;

    enc_in_.load(p, "encoder.conv_in", cfg.in_channels, C[0], 3, 1, 1);
    enc_levels_.resize(n);
    int64_t out_ch = C[0];
    for (size_t i = 0; i < n; ++i) {
        const int64_t in_ch = out_ch;
        out_ch = C[i];
        auto & lvl = enc_levels_[i];
        for (int64_t j = 0; j < L; ++j) {
            lvl.resnets.emplace_back();
            lvl.resnets.back().load(p, "encoder.down_blocks." + std::to_string(i) + ".resnets." + std::to_string(j),
                                    j == 0 ? in_ch : out_ch, out_ch, 0, G, kVaeEps);
        }
        lvl.has_sample = i + 1 < n;
        if (lvl.has_sample) lvl.down.load(p, "encoder.down_blocks." + std::to_string(i) + ".downsamplers.0", out_ch, true);
    }
    load_mid(p, "encoder.mid_block", enc_mid_, C[n - 1]);
    enc_norm_.load(p, "encoder.conv_norm_out", C[n - 1], G, kVaeEps);
    enc_out_.load(p, "encoder.conv_out", C[n - 1], 2 * cfg.latent_channels, 3, 1, 1);
    quant_conv_.load(p, "quant_conv", 2 * cfg.latent_channels, 2 * cfg.latent_channels, 1, 1, 0);

    post_quant_conv_.load(p, "post_quant_conv", cfg.latent_channels, cfg.latent_channels, 1, 1, 0);
    dec_in_.load(p, "decoder.conv_in", cfg.latent_channels, C[n - 1], 3, 1, 1);
    load_mid(p, "decoder.mid_block", dec_mid_, C[n - 1]);
    dec_levels_.resize(n);
    out_ch = C[n - 1];
    for (size_t i = 0; i < n; ++i) {
        const int64_t prev = out_ch;
        out_ch = C[n - 1 - i];
        auto & lvl = dec_levels_[i];
        for (int64_t j = 0; j <= L; ++j) {
            lvl.resnets.emplace_back();
            lvl.resnets.back().load(p, "decoder.up_blocks." + std::to_string(i) + ".resnets." + std::to_string(j),
                                    j == 0 ? prev : out_ch, out_ch, 0, G, kVaeEps);
        }
        lvl.has_sample = i + 1 < n;
        if (lvl.has_sample) lvl.up.load(p, "decoder.up_blocks." + std::to_string(i) + ".upsamplers.0", out_ch);
    }
    dec_norm_.load(p, "decoder.conv_norm_out", C[0], G, kVaeEps);
    dec_out_.load(p, "decoder.conv_out", C[0], cfg.out_channels, 3, 1, 1);
    finish_loading(p);
}

void AutoencoderKL::encode(const float * x, int64_t B, int64_t H, int64_t W, float * moments, const ExecControl & ctl) {
    require(x != nullptr && moments != nullptr, SDN_ERR_INVALID_ARGUMENT, "vae encode: NULL buffer");
    const int64_t f = downscale();
    require(B >= 1 && H >= f && W >= f && H % f == 0 && W % f == 0, SDN_ERR_SHAPE,
            "vae encode: image size " + std::to_string(H) + "x" + std::to_string(W) + " must be a positive multiple of " +
                std::to_string(f));
    const auto & C = cfg_.block_out_channels;
    const int total = static_cast<int>(enc_levels_.size() + 2);
    int units = 0;
    with_pass(arena_, [&] {
        Run r{backend_, arena_, ctl};
        Tensor in = arena_.tensor({B, cfg_.in_channels, H, W});
        backend_.upload(in.data, x, static_cast<size_t>(in.numel()) * sizeof(float));
        int64_t max_elems = 0, hw = H * W;
        for (size_t i = 0; i < C.size(); ++i) {
            max_elems = std::max(max_elems, B * std::max(C[i], i > 0 ? C[i - 1] : C[0]) * hw);
            hw /= (i + 1 < C.size()) ? 4 : 1;
        }
        PingPong pp(r, max_elems);
        Tensor h;
        {
            Arena::Scope s(arena_);
            Tensor t = arena_.tensor({B, C[0], H, W});
            enc_in_.forward(r, in.data, B, H, W, t.data);
            h = pp.commit(t);
        }
        for (const auto & lvl : enc_levels_) {
            ctl.poll("vae encode");
            for (const auto & res : lvl.resnets) {
                Arena::Scope s(arena_);
                h = pp.commit(res.forward(r, h, nullptr));
            }
            if (lvl.has_sample) {
                Arena::Scope s(arena_);
                h = pp.commit(lvl.down.forward(r, h));
            }
            ctl.report(++units, total);
        }
        h = run_mid(r, enc_mid_, h);
        ctl.report(++units, total);
        const int64_t lh = h.dim(2), lw = h.dim(3), c2 = 2 * cfg_.latent_channels;
        Tensor normed = arena_.tensor(h.shape);
        enc_norm_.forward(r, h.data, normed.data, B, lh * lw, true);
        Tensor mo = arena_.tensor({B, c2, lh, lw});
        enc_out_.forward(r, normed.data, B, lh, lw, mo.data);
        Tensor q = arena_.tensor({B, c2, lh, lw});
        quant_conv_.forward(r, mo.data, B, lh, lw, q.data);
        ctl.report(++units, total);
        backend_.download(moments, q.data, static_cast<size_t>(q.numel()) * sizeof(float));
    });
}

void AutoencoderKL::decode(const float * z, int64_t B, int64_t h0, int64_t w0, float * image, const ExecControl & ctl) {
    require(z != nullptr && image != nullptr, SDN_ERR_INVALID_ARGUMENT, "vae decode: NULL buffer");
    require(B >= 1 && h0 >= 1 && w0 >= 1, SDN_ERR_SHAPE, "vae decode: batch and latent size must be >= 1");
    const auto & C = cfg_.block_out_channels;
    const int64_t n = static_cast<int64_t>(C.size());
    const int total = static_cast<int>(dec_levels_.size() + 2);
    int units = 0;
    with_pass(arena_, [&] {
        Run r{backend_, arena_, ctl};
        Tensor zin = arena_.tensor({B, cfg_.latent_channels, h0, w0});
        backend_.upload(zin.data, z, static_cast<size_t>(zin.numel()) * sizeof(float));
        Tensor zq = arena_.tensor(zin.shape);
        post_quant_conv_.forward(r, zin.data, B, h0, w0, zq.data);
        Tensor h = arena_.tensor({B, C[static_cast<size_t>(n - 1)], h0, w0});
        dec_in_.forward(r, zq.data, B, h0, w0, h.data);
        h = run_mid(r, dec_mid_, h);
        ctl.report(++units, total);
        // Decoder levels: block outputs alternate between two buffers sized for the largest.
        int64_t max_elems = B * C[static_cast<size_t>(n - 1)] * h0 * w0, hw = h0 * w0;
        for (int64_t i = 0; i < n; ++i) {
            const int64_t c = C[static_cast<size_t>(n - 1 - i)];
            max_elems = std::max(max_elems, B * c * hw * (dec_levels_[static_cast<size_t>(i)].has_sample ? 4 : 1));
            if (dec_levels_[static_cast<size_t>(i)].has_sample) hw *= 4;
        }
        PingPong pp(r, max_elems);
        for (const auto & lvl : dec_levels_) {
            ctl.poll("vae decode");
            for (const auto & res : lvl.resnets) {
                Arena::Scope s(arena_);
                h = pp.commit(res.forward(r, h, nullptr));
            }
            if (lvl.has_sample) {
                Arena::Scope s(arena_);
                h = pp.commit(lvl.up.forward(r, h, h.dim(2) * 2, h.dim(3) * 2));
            }
            ctl.report(++units, total);
        }
        const int64_t H = h.dim(2), W = h.dim(3);
        Tensor normed = arena_.tensor(h.shape);
        dec_norm_.forward(r, h.data, normed.data, B, H * W, true);
        Tensor out = arena_.tensor({B, cfg_.out_channels, H, W});
        dec_out_.forward(r, normed.data, B, H, W, out.data);
        ctl.report(++units, total);
        backend_.download(image, out.data, static_cast<size_t>(out.numel()) * sizeof(float));
    });
}

}  // namespace sdn
