#include "models/layers.h"

#include <cmath>

namespace sdn {

void Linear::load(ParamLoader & p, const std::string & prefix, int64_t in_f, int64_t out_f, bool bias) {
    in = in_f;
    out = out_f;
    w = p.get(prefix + ".weight", {out_f, in_f});
    if (bias) b = p.get(prefix + ".bias", {out_f}, true);
}

void Linear::forward(Run & r, const float * x, int64_t rows, float * y, const float * residual) const {
    r.be.linear(x, rows, in, w, b.present() ? &b : nullptr, y, residual, r.ctl);
}

void Conv2d::load(ParamLoader & p, const std::string & prefix, int64_t in_c, int64_t out_c, int64_t k, int64_t s,
                  int64_t pd, bool bias) {
    in = in_c;
    out = out_c;
    kernel = k;
    stride = s;
    pad = pd;
    w = p.get(prefix + ".weight", {out_c, in_c, k, k});
    if (bias) b = p.get(prefix + ".bias", {out_c}, true);
}

void Conv2d::forward(Run & r, const float * x, int64_t batch, int64_t h, int64_t w_, float * y, const float * residual) const {
    r.be.conv2d(x, batch, in, h, w_, w, b.present() ? &b : nullptr, stride, pad, y, residual, r.ctl);
}

void GroupNorm::load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t g, float e) {
    channels = c;
    groups = g;
    eps = e;
    require(g > 0 && c % g == 0, SDN_ERR_SHAPE,
            prefix + ": " + std::to_string(c) + " channels do not split into " + std::to_string(g) + " groups");
    gamma = p.get(prefix + ".weight", {c}, true);
    beta = p.get(prefix + ".bias", {c}, true);
}

void GroupNorm::forward(Run & r, const float * x, float * y, int64_t batch, int64_t hw, bool silu) const {
    r.be.group_norm(x, y, batch, channels, hw, groups, gamma, beta, eps, silu, r.ctl);
}

void LayerNorm::load(ParamLoader & p, const std::string & prefix, int64_t d, float e) {
    dim = d;
    eps = e;
    gamma = p.get(prefix + ".weight", {d}, true);
    beta = p.get(prefix + ".bias", {d}, true);
}

void LayerNorm::forward(Run & r, const float * x, float * y, int64_t rows) const {
    r.be.layer_norm(x, y, rows, dim, gamma, beta, eps);
}

void ResnetBlock::load(ParamLoader & p, const std::string & prefix, int64_t in_c, int64_t out_c, int64_t temb_dim,
                       int64_t groups, float eps) {
    in = in_c;
    out = out_c;
    norm1.load(p, prefix + ".norm1", in_c, groups, eps);
    conv1.load(p, prefix + ".conv1", in_c, out_c, 3, 1, 1);
    has_time = temb_dim > 0;
    if (has_time) time_proj.load(p, prefix + ".time_emb_proj", temb_dim, out_c);
    norm2.load(p, prefix + ".norm2", out_c, groups, eps);
    conv2.load(p, prefix + ".conv2", out_c, out_c, 3, 1, 1);
    has_shortcut = in_c != out_c;
    if (has_shortcut) shortcut.load(p, prefix + ".conv_shortcut", in_c, out_c, 1, 1, 0);
}

Tensor ResnetBlock::forward(Run & r, const Tensor & x, const float * temb_act) const {
    const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3), HW = H * W;
    Tensor y = r.arena.tensor({B, out, H, W});
    Arena::Scope scope(r.arena);
    Tensor h = r.arena.tensor({B, in, H, W});
    norm1.forward(r, x.data, h.data, B, HW, true);
    Tensor h2 = r.arena.tensor({B, out, H, W});
    conv1.forward(r, h.data, B, H, W, h2.data);
    if (has_time && temb_act != nullptr) {
        Tensor t = r.arena.tensor({B, out});
        time_proj.forward(r, temb_act, B, t.data);
        r.be.add_channel_bias(h2.data, t.data, h2.data, B, out, HW);
    }
    norm2.forward(r, h2.data, h2.data, B, HW, true);
    // y = shortcut(x) + conv2(h2)
    const float * skip = x.data;
    if (has_shortcut) {
        Tensor sc = r.arena.tensor({B, out, H, W});
        shortcut.forward(r, x.data, B, H, W, sc.data);
        skip = sc.data;
    }
    conv2.forward(r, h2.data, B, H, W, y.data, skip);
    return y;
}

void MultiHeadAttention::load(ParamLoader & p, const std::string & prefix, int64_t query_dim, int64_t ctx_dim,
                              int64_t n_heads, int64_t dim_head, bool qkv_bias, const char * qn, const char * kn,
                              const char * vn, const char * on) {
    heads = n_heads;
    head_dim = dim_head;
    dim = query_dim;
    context_dim = ctx_dim;
    const int64_t inner = n_heads * dim_head;
    q.load(p, prefix + "." + qn, query_dim, inner, qkv_bias);
    k.load(p, prefix + "." + kn, ctx_dim, inner, qkv_bias);
    v.load(p, prefix + "." + vn, ctx_dim, inner, qkv_bias);
    o.load(p, prefix + "." + on, inner, query_dim, true);
}

void MultiHeadAttention::forward(Run & r, const float * x, int64_t batch, int64_t n, const float * ctx, int64_t m,
                                 float * out, const float * residual) const {
    Arena::Scope scope(r.arena);
    const int64_t inner = heads * head_dim;
    if (ctx == nullptr) {
        ctx = x;
        m = n;
    }
    Tensor tq = r.arena.tensor({batch * n, inner});
    Tensor tk = r.arena.tensor({batch * m, inner});
    Tensor tv = r.arena.tensor({batch * m, inner});
    q.forward(r, x, batch * n, tq.data);
    k.forward(r, ctx, batch * m, tk.data);
    v.forward(r, ctx, batch * m, tv.data);
    Tensor att = r.arena.tensor({batch * n, inner});
    r.be.attention({tq.data, inner}, {tk.data, inner}, {tv.data, inner}, att.data, batch, heads, n, m, head_dim,
                   1.0f / std::sqrt(static_cast<float>(head_dim)), causal, r.ctl);
    o.forward(r, att.data, batch * n, out, residual);
}

void TransformerBlock::load(ParamLoader & p, const std::string & prefix, int64_t dim_, int64_t heads, int64_t head_dim,
                            int64_t cross_dim, bool only_cross_attention) {
    dim = dim_;
    only_cross = only_cross_attention;
    norm1.load(p, prefix + ".norm1", dim, 1e-5f);
    attn1.load(p, prefix + ".attn1", dim, only_cross ? cross_dim : dim, heads, head_dim, false, "to_q", "to_k", "to_v", "to_out.0");
    has_attn2 = cross_dim > 0;
    if (has_attn2) {
        norm2.load(p, prefix + ".norm2", dim, 1e-5f);
        attn2.load(p, prefix + ".attn2", dim, cross_dim, heads, head_dim, false, "to_q", "to_k", "to_v", "to_out.0");
    }
    norm3.load(p, prefix + ".norm3", dim, 1e-5f);
    inner_ff = 4 * dim;
    ff_in.load(p, prefix + ".ff.net.0.proj", dim, 2 * inner_ff);
    ff_out.load(p, prefix + ".ff.net.2", inner_ff, dim);
}

void TransformerBlock::forward(Run & r, float * x, int64_t batch, int64_t n, const float * ctx, int64_t m) const {
    Arena::Scope scope(r.arena);
    const int64_t rows = batch * n;
    Tensor h = r.arena.tensor({rows, dim});
    norm1.forward(r, x, h.data, rows);
    attn1.forward(r, h.data, batch, n, only_cross ? ctx : nullptr, only_cross ? m : n, x, x);
    if (has_attn2) {
        norm2.forward(r, x, h.data, rows);
        attn2.forward(r, h.data, batch, n, ctx, m, x, x);
    }
    norm3.forward(r, x, h.data, rows);
    Tensor proj = r.arena.tensor({rows, 2 * inner_ff});
    ff_in.forward(r, h.data, rows, proj.data);
    Tensor act = r.arena.tensor({rows, inner_ff});
    r.be.geglu(proj.data, act.data, rows, inner_ff);
    ff_out.forward(r, act.data, rows, x, x);
}

void Transformer2D::load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t heads, int64_t layers,
                         int64_t cross_dim, int64_t groups, bool only_cross_attention) {
    channels = c;
    inner = c;
    require(heads > 0 && c % heads == 0, SDN_ERR_SHAPE,
            prefix + ": " + std::to_string(c) + " channels do not split into " + std::to_string(heads) + " heads");
    norm.load(p, prefix + ".norm", c, groups, 1e-6f);
    proj_in.load(p, prefix + ".proj_in", c, inner);
    blocks.resize(static_cast<size_t>(layers));
    for (int64_t i = 0; i < layers; ++i)
        blocks[static_cast<size_t>(i)].load(p, prefix + ".transformer_blocks." + std::to_string(i), inner, heads, inner / heads,
                                             cross_dim, only_cross_attention);
    proj_out.load(p, prefix + ".proj_out", inner, c);
}

Tensor Transformer2D::forward(Run & r, const Tensor & x, const float * ctx, int64_t ctx_len) const {
    const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3), HW = H * W;
    Tensor y = r.arena.tensor({B, channels, H, W});
    Arena::Scope scope(r.arena);
    Tensor normed = r.arena.tensor({B, channels, H, W});
    norm.forward(r, x.data, normed.data, B, HW, false);
    Tensor rows = r.arena.tensor({B * HW, channels});
    r.be.nchw_to_nhwc(normed.data, rows.data, B, channels, HW);
    Tensor hidden = r.arena.tensor({B * HW, inner});
    proj_in.forward(r, rows.data, B * HW, hidden.data);
    for (const auto & blk : blocks) blk.forward(r, hidden.data, B, HW, ctx, ctx_len);
    // rows = proj_out(hidden) + x (as rows): the residual is added in NHWC, then transposed back.
    r.be.nchw_to_nhwc(x.data, rows.data, B, channels, HW);
    proj_out.forward(r, hidden.data, B * HW, rows.data, rows.data);
    r.be.nhwc_to_nchw(rows.data, y.data, B, channels, HW);
    return y;
}

void VaeAttention::load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t groups, float eps) {
    channels = c;
    norm.load(p, prefix + ".group_norm", c, groups, eps);
    q.load(p, prefix + ".to_q", c, c);
    k.load(p, prefix + ".to_k", c, c);
    v.load(p, prefix + ".to_v", c, c);
    o.load(p, prefix + ".to_out.0", c, c);
}

Tensor VaeAttention::forward(Run & r, const Tensor & x) const {
    const int64_t B = x.dim(0), H = x.dim(2), W = x.dim(3), HW = H * W, C = channels;
    Tensor y = r.arena.tensor({B, C, H, W});
    Arena::Scope scope(r.arena);
    Tensor normed = r.arena.tensor({B, C, H, W});
    norm.forward(r, x.data, normed.data, B, HW, false);
    Tensor rows = r.arena.tensor({B * HW, C});
    r.be.nchw_to_nhwc(normed.data, rows.data, B, C, HW);
    Tensor tq = r.arena.tensor({B * HW, C}), tk = r.arena.tensor({B * HW, C}), tv = r.arena.tensor({B * HW, C});
    q.forward(r, rows.data, B * HW, tq.data);
    k.forward(r, rows.data, B * HW, tk.data);
    v.forward(r, rows.data, B * HW, tv.data);
    Tensor att = r.arena.tensor({B * HW, C});
    r.be.attention({tq.data, C}, {tk.data, C}, {tv.data, C}, att.data, B, 1, HW, HW, C, 1.0f / std::sqrt(static_cast<float>(C)),
                   false, r.ctl);
    r.be.nchw_to_nhwc(x.data, rows.data, B, C, HW);
    o.forward(r, att.data, B * HW, rows.data, rows.data);
    r.be.nhwc_to_nchw(rows.data, y.data, B, C, HW);
    return y;
}

void Upsample::load(ParamLoader & p, const std::string & prefix, int64_t c) { conv.load(p, prefix + ".conv", c, c, 3, 1, 1); }

Tensor Upsample::forward(Run & r, const Tensor & x, int64_t oh, int64_t ow) const {
    const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    Tensor y = r.arena.tensor({B, C, oh, ow});
    Arena::Scope scope(r.arena);
    Tensor up = r.arena.tensor({B, C, oh, ow});
    r.be.resize_nearest(x.data, up.data, B * C, H, W, oh, ow);
    conv.forward(r, up.data, B, oh, ow, y.data);
    return y;
}

void Downsample::load(ParamLoader & p, const std::string & prefix, int64_t c, bool vae_style) {
    asymmetric = vae_style;
    conv.load(p, prefix + ".conv", c, c, 3, 2, vae_style ? 0 : 1);
}

Tensor Downsample::forward(Run & r, const Tensor & x) const {
    const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
    if (!asymmetric) {
        const int64_t oh = conv.out_size(H), ow = conv.out_size(W);
        Tensor y = r.arena.tensor({B, C, oh, ow});
        conv.forward(r, x.data, B, H, W, y.data);
        return y;
    }
    const int64_t ph = H + 1, pw = W + 1;
    const int64_t oh = (ph - 3) / 2 + 1, ow = (pw - 3) / 2 + 1;
    Tensor y = r.arena.tensor({B, C, oh, ow});
    Arena::Scope scope(r.arena);
    Tensor padded = r.arena.tensor({B, C, ph, pw});
    r.be.pad2d(x.data, padded.data, B * C, H, W, 0, 0, 1, 1);
    conv.forward(r, padded.data, B, ph, pw, y.data);
    return y;
}

}  // namespace sdn
