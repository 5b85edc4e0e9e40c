// Building blocks shared by the networks (diffusers / transformers module structure and parameter
// names): Linear, Conv2d, norms, ResnetBlock2D, attention, the SD transformer block, VAE attention,
// down/up sampling. Each block loads its parameters through a ParamLoader (shape-checked) and runs on a
// Backend with activations from the forward pass's Arena.
#pragma once

#include "core/arena.h"
#include "core/backend.h"
#include "models/weight_map.h"

#include <string>
#include <vector>

namespace sdn {

// What a forward pass runs with.
struct Run {
    Backend & be;
    Arena & arena;
    const ExecControl & ctl;
};

struct Linear {
    Weight w, b;
    int64_t in = 0, out = 0;
    void load(ParamLoader & p, const std::string & prefix, int64_t in_features, int64_t out_features, bool bias = true);
    // y [rows, out] = x [rows, in] W^T + b (+ residual, which may alias y)
    void forward(Run & r, const float * x, int64_t rows, float * y, const float * residual = nullptr) const;
};

struct Conv2d {
    Weight w, b;
    int64_t in = 0, out = 0, kernel = 3, stride = 1, pad = 1;
    void load(ParamLoader & p, const std::string & prefix, int64_t in_c, int64_t out_c, int64_t k, int64_t stride_,
              int64_t pad_, bool bias = true);
    int64_t out_size(int64_t s) const { return (s + 2 * pad - kernel) / stride + 1; }
    void forward(Run & r, const float * x, int64_t batch, int64_t h, int64_t w_, float * y, const float * residual = nullptr) const;
};

struct GroupNorm {
    Weight gamma, beta;
    int64_t channels = 0, groups = 32;
    float eps = 1e-5f;
    void load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t g, float eps_);
    void forward(Run & r, const float * x, float * y, int64_t batch, int64_t hw, bool silu) const;
};

struct LayerNorm {
    Weight gamma, beta;
    int64_t dim = 0;
    float eps = 1e-5f;
    void load(ParamLoader & p, const std::string & prefix, int64_t d, float eps_);
    void forward(Run & r, const float * x, float * y, int64_t rows) const;
};

// diffusers ResnetBlock2D (time_embedding_norm "default", output_scale_factor 1).
struct ResnetBlock {
    GroupNorm norm1, norm2;
    Conv2d conv1, conv2, shortcut;
    Linear time_proj;
    bool has_shortcut = false, has_time = false;
    int64_t in = 0, out = 0;
    void load(ParamLoader & p, const std::string & prefix, int64_t in_c, int64_t out_c, int64_t temb_dim, int64_t groups,
              float eps);
    // out [B, out, H, W]; temb_act = silu(temb) [B, temb_dim] (null when the block has no time input)
    Tensor forward(Run & r, const Tensor & x, const float * temb_act) const;
};

// Multi-head attention with separate q/k/v projections (diffusers Attention / CLIP attention).
struct MultiHeadAttention {
    Linear q, k, v, o;
    int64_t heads = 1, head_dim = 0, dim = 0, context_dim = 0;
    bool causal = false;
    // names: <prefix>.<q_name>, ..., e.g. to_q/to_k/to_v/to_out.0 or q_proj/k_proj/v_proj/out_proj
    void load(ParamLoader & p, const std::string & prefix, int64_t query_dim, int64_t ctx_dim, int64_t n_heads,
              int64_t dim_head, bool qkv_bias, const char * qn, const char * kn, const char * vn, const char * on);
    // out [B*N, dim] = residual + o(attn(q(x), k(ctx), v(ctx))); x [B*N, dim], ctx [B*M, ctx_dim] (x when null)
    void forward(Run & r, const float * x, int64_t batch, int64_t n, const float * ctx, int64_t m, float * out,
                 const float * residual) const;
};

// diffusers BasicTransformerBlock (layer norms, attn1, attn2, GEGLU feed-forward).
struct TransformerBlock {
    LayerNorm norm1, norm2, norm3;
    MultiHeadAttention attn1, attn2;
    Linear ff_in, ff_out;
    int64_t dim = 0, inner_ff = 0;
    bool only_cross = false, has_attn2 = true;
    void load(ParamLoader & p, const std::string & prefix, int64_t dim_, int64_t heads, int64_t head_dim,
              int64_t cross_dim, bool only_cross_attention);
    // x [B*N, dim] in place
    void forward(Run & r, float * x, int64_t batch, int64_t n, const float * ctx, int64_t m) const;
};

// diffusers Transformer2DModel as used by SD (continuous input, conv or linear projections).
struct Transformer2D {
    GroupNorm norm;
    Linear proj_in, proj_out;  // 1x1 convs are the same matrices
    std::vector<TransformerBlock> blocks;
    int64_t channels = 0, inner = 0;
    void load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t heads, int64_t layers, int64_t cross_dim,
              int64_t groups, bool only_cross_attention);
    Tensor forward(Run & r, const Tensor & x, const float * ctx, int64_t ctx_len) const;
};

// The VAE's single-head spatial self-attention (GroupNorm, q/k/v/out with bias, residual).
struct VaeAttention {
    GroupNorm norm;
    Linear q, k, v, o;
    int64_t channels = 0;
    void load(ParamLoader & p, const std::string & prefix, int64_t c, int64_t groups, float eps);
    Tensor forward(Run & r, const Tensor & x) const;
};

// Resize `x` [B, C, H, W] to (oh, ow) nearest, then conv (diffusers Upsample2D).
struct Upsample {
    Conv2d conv;
    void load(ParamLoader & p, const std::string & prefix, int64_t c);
    Tensor forward(Run & r, const Tensor & x, int64_t oh, int64_t ow) const;
};

// diffusers Downsample2D: 3x3 stride-2 conv, padding 1 (UNet) or asymmetric (0,1,0,1) with padding 0 (VAE).
struct Downsample {
    Conv2d conv;
    bool asymmetric = false;
    void load(ParamLoader & p, const std::string & prefix, int64_t c, bool vae_style);
    Tensor forward(Run & r, const Tensor & x) const;
};

// Two arena buffers that block outputs alternate between, so a long chain of blocks needs memory for
// only two activations at a time (the arena is a stack; this keeps it flat).
class PingPong {
public:
    PingPong(Run & r, int64_t max_elems) : r_(r), max_(max_elems) {
        bufs_[0] = r.arena.alloc_floats(max_elems);
        bufs_[1] = r.arena.alloc_floats(max_elems);
    }
    // Copies `t` into the buffer not holding the previous result and returns it there.
    Tensor commit(const Tensor & t) {
        require(t.numel() <= max_, SDN_ERR_INTERNAL, "ping-pong buffer too small for " + t.shape.str());
        Tensor kept;
        kept.shape = t.shape;
        kept.data = bufs_[which_];
        which_ ^= 1;
        r_.be.copy(t.data, kept.data, t.numel());
        return kept;
    }

private:
    Run & r_;
    int64_t max_;
    float * bufs_[2] = {nullptr, nullptr};
    int which_ = 0;
};

}  // namespace sdn
