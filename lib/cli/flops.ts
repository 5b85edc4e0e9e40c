/**
 * A small FLOP counter for the networks, driven by the expected parameter list of a config: every conv
 * weight [out, in, k, k] costs 2*in*out*k*k per output pixel, every linear weight [out, in] 2*in*out per
 * row (token), and every attention 4*N*M*d per head (QK^T and AV) = 4*N*M*inner. Norms, activations and
 * additions are left out (a few percent at most).
 */
import {
  expectedClipTextParams, expectedUNetParams, expectedVaeParams, type AutoencoderKLConfig, type ClipTextConfig, type ParamSpec,
  type UNet2DConditionConfig,
} from "../models/index.js";

interface Where {
  /** pixels (conv) / tokens (linear) at this parameter */
  pixels: number;
}

function countFlops(params: readonly ParamSpec[], where: (name: string) => Where | null, contextLen: number, batch: number): number {
  const shapes = new Map(params.map((p) => [p.name, p.shape]));
  let total = 0;
  for (const p of params) {
    if (!p.name.endsWith(".weight")) continue;
    const w = where(p.name);
    if (!w) continue;
    const s = p.shape;
    if (s.length === 4) {
      total += 2 * s[0]! * s[1]! * s[2]! * s[3]! * w.pixels;
    } else if (s.length === 2) {
      let rows = w.pixels;
      const m = /^(.*\.attn\d)\.to_(q|k|v)\.weight$/.exec(p.name);
      if (m && (m[2] === "k" || m[2] === "v") && isCross(shapes, m[1]!)) rows = contextLen;
      if (/time_emb_proj|time_embedding|class_embedding|add_embedding/.test(p.name)) rows = 1;
      total += 2 * s[0]! * s[1]! * rows;
      // attention scores + weighted sum, counted once per attention at its query projection
      const q = /^(.*)\.to_q\.weight$/.exec(p.name) ?? /^(.*)\.q_proj\.weight$/.exec(p.name);
      if (q) {
        const n = w.pixels;
        const mlen = /\.to_q\.weight$/.test(p.name) && isCross(shapes, q[1]!) ? contextLen : n;
        total += 4 * n * mlen * s[0]!;
      }
    }
  }
  return total * batch;
}

function isCross(shapes: Map<string, number[]>, prefix: string): boolean {
  const q = shapes.get(`${prefix}.to_q.weight`), k = shapes.get(`${prefix}.to_k.weight`);
  if (!q || !k) return false;
  if (/\.attn2$/.test(prefix)) return true;
  return q[1] !== k[1];
}

/** UNet forward FLOPs for `batch` samples of a latent of latentH x latentW. */
export function unetFlops(c: UNet2DConditionConfig, latentH: number, latentW: number, batch: number, contextLen = 77): number {
  const n = c.block_out_channels.length;
  const px = (level: number) => Math.ceil(latentH / 2 ** level) * Math.ceil(latentW / 2 ** level);
  const where = (name: string): Where | null => {
    let m: RegExpExecArray | null;
    if ((m = /^down_blocks\.(\d+)\.downsamplers\./.exec(name))) return { pixels: px(Number(m[1]) + 1) };
    if ((m = /^down_blocks\.(\d+)\./.exec(name))) return { pixels: px(Number(m[1])) };
    if ((m = /^up_blocks\.(\d+)\.upsamplers\./.exec(name))) return { pixels: px(n - 2 - Number(m[1])) };
    if ((m = /^up_blocks\.(\d+)\./.exec(name))) return { pixels: px(n - 1 - Number(m[1])) };
    if (name.startsWith("mid_block.")) return { pixels: px(n - 1) };
    return { pixels: px(0) };
  };
  return countFlops(expectedUNetParams(c), where, contextLen, batch);
}

/** VAE decoder FLOPs (post_quant_conv + decoder) for `batch` latents of latentH x latentW. */
export function vaeDecodeFlops(c: AutoencoderKLConfig, latentH: number, latentW: number, batch: number): number {
  const n = c.block_out_channels.length;
  const px = (up: number) => latentH * 2 ** up * latentW * 2 ** up;
  const where = (name: string): Where | null => {
    if (name.startsWith("post_quant_conv.")) return { pixels: px(0) };
    if (!name.startsWith("decoder.")) return null;
    let m: RegExpExecArray | null;
    if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\./.exec(name))) return { pixels: px(Number(m[1]) + 1) };
    if ((m = /^decoder\.up_blocks\.(\d+)\./.exec(name))) return { pixels: px(Number(m[1])) };
    if (/^decoder\.(conv_norm_out|conv_out)\./.test(name)) return { pixels: px(n - 1) };
    return { pixels: px(0) };
  };
  return countFlops(expectedVaeParams(c), where, 0, batch);
}

/** VAE encoder FLOPs (encoder + quant_conv) for `batch` images of imageH x imageW. */
export function vaeEncodeFlops(c: AutoencoderKLConfig, imageH: number, imageW: number, batch: number): number {
  const n = c.block_out_channels.length;
  const px = (down: number) => Math.ceil(imageH / 2 ** down) * Math.ceil(imageW / 2 ** down);
  const where = (name: string): Where | null => {
    if (name.startsWith("quant_conv.")) return { pixels: px(n - 1) };
    if (!name.startsWith("encoder.")) return null;
    let m: RegExpExecArray | null;
    if ((m = /^encoder\.down_blocks\.(\d+)\.downsamplers\./.exec(name))) return { pixels: px(Number(m[1]) + 1) };
    if ((m = /^encoder\.down_blocks\.(\d+)\./.exec(name))) return { pixels: px(Number(m[1])) };
    if (/^encoder\.conv_in\./.test(name)) return { pixels: px(0) };
    return { pixels: px(n - 1) };
  };
  return countFlops(expectedVaeParams(c), where, 0, batch);
}

/** CLIP text encoder FLOPs for `batch` sequences of `tokens` tokens. */
export function textEncoderFlops(c: ClipTextConfig, batch: number, tokens = 77): number {
  const where = (name: string): Where | null => (name.includes("embeddings") ? null : { pixels: tokens });
  return countFlops(expectedClipTextParams(c), where, tokens, batch);
}
