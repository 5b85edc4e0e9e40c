/**
 * "Expected parameters of a model built from this config": every parameter name and shape that diffusers /
 * transformers register for UNet2DConditionModel, AutoencoderKL, CLIPTextModel, CLIPVisionModelWithProjection
 * and StableDiffusionSafetyChecker, derived from the config alone. Used to validate weight files (missing,
 * extra, mis-shaped tensors) before any data is read. Non-persistent buffers (position_ids) are not listed.
 */
import { UnsupportedError } from "../../errors.js";
import type { ClipTextConfig, ClipVisionConfig, SafetyCheckerConfig } from "../configs/clip.js";
import {
  unetCrossAttentionDimPerLevel, unetHeadsPerLevel, unetLayersPerLevel, unetOnlyCrossAttentionPerLevel,
  unetTimeEmbedDim, unetTransformerLayersPerLevel, type UNet2DConditionConfig,
} from "../configs/unet.js";
import type { AutoencoderKLConfig } from "../configs/vae.js";

export interface ParamSpec {
  name: string;
  shape: number[];
}

class Params {
  readonly list: ParamSpec[] = [];
  add(name: string, shape: number[]): void {
    this.list.push({ name, shape });
  }
  linear(prefix: string, out: number, inp: number, bias = true): void {
    this.add(`${prefix}.weight`, [out, inp]);
    if (bias) this.add(`${prefix}.bias`, [out]);
  }
  conv(prefix: string, out: number, inp: number, k: number, bias = true): void {
    this.add(`${prefix}.weight`, [out, inp, k, k]);
    if (bias) this.add(`${prefix}.bias`, [out]);
  }
  norm(prefix: string, ch: number): void {
    this.add(`${prefix}.weight`, [ch]);
    this.add(`${prefix}.bias`, [ch]);
  }
}

// ---- UNet -------------------------------------------------------------------------------------------------

function resnet(p: Params, prefix: string, inC: number, outC: number, temb: number | null, timeScaleShift = false): void {
  p.norm(`${prefix}.norm1`, inC);
  p.conv(`${prefix}.conv1`, outC, inC, 3);
  if (temb !== null) p.linear(`${prefix}.time_emb_proj`, timeScaleShift ? 2 * outC : outC, temb);
  p.norm(`${prefix}.norm2`, outC);
  p.conv(`${prefix}.conv2`, outC, outC, 3);
  if (inC !== outC) p.conv(`${prefix}.conv_shortcut`, outC, inC, 1);
}

interface TransformerSpec {
  channels: number;
  heads: number;
  depth: number;
  crossDim: number;
  linearProjection: boolean;
  onlyCrossAttention: boolean;
}

/** Transformer2DModel (continuous input) with BasicTransformerBlocks, as used by SD's cross-attention blocks. */
function transformer2d(p: Params, prefix: string, t: TransformerSpec): void {
  const headDim = Math.floor(t.channels / t.heads);
  const inner = t.heads * headDim;
  p.norm(`${prefix}.norm`, t.channels);
  if (t.linearProjection) p.linear(`${prefix}.proj_in`, inner, t.channels);
  else p.conv(`${prefix}.proj_in`, inner, t.channels, 1);
  for (let b = 0; b < t.depth; b++) {
    const q = `${prefix}.transformer_blocks.${b}`;
    p.norm(`${q}.norm1`, inner);
    const selfKv = t.onlyCrossAttention ? t.crossDim : inner;
    p.linear(`${q}.attn1.to_q`, inner, inner, false);
    p.linear(`${q}.attn1.to_k`, inner, selfKv, false);
    p.linear(`${q}.attn1.to_v`, inner, selfKv, false);
    p.linear(`${q}.attn1.to_out.0`, inner, inner);
    p.norm(`${q}.norm2`, inner);
    p.linear(`${q}.attn2.to_q`, inner, inner, false);
    p.linear(`${q}.attn2.to_k`, inner, t.crossDim, false);
    p.linear(`${q}.attn2.to_v`, inner, t.crossDim, false);
    p.linear(`${q}.attn2.to_out.0`, inner, inner);
    p.norm(`${q}.norm3`, inner);
    p.linear(`${q}.ff.net.0.proj`, inner * 4 * 2, inner);
    p.linear(`${q}.ff.net.2`, inner, inner * 4);
  }
  if (t.linearProjection) p.linear(`${prefix}.proj_out`, t.channels, inner);
  else p.conv(`${prefix}.proj_out`, t.channels, inner, 1);
}

function depthAt(d: number | number[], j: number): number {
  return Array.isArray(d) ? d[j]! : d;
}

/** Checks the UNet config uses only what SD 1.x/2.x need; UnsupportedError names the field otherwise. */
export function assertSupportedUNet(c: UNet2DConditionConfig): void {
  const bad = (field: string, v: unknown): never => {
    throw new UnsupportedError(`UNet2DConditionModel config: ${field} = ${JSON.stringify(v)} is not supported`);
  };
  for (const t of c.down_block_types) if (t !== "CrossAttnDownBlock2D" && t !== "DownBlock2D") bad("down_block_types", t);
  for (const t of c.up_block_types) if (t !== "CrossAttnUpBlock2D" && t !== "UpBlock2D") bad("up_block_types", t);
  if (c.mid_block_type !== null && c.mid_block_type !== "UNetMidBlock2DCrossAttn" && c.mid_block_type !== "UNetMidBlock2D") {
    bad("mid_block_type", c.mid_block_type);
  }
  if (c.dual_cross_attention) bad("dual_cross_attention", true);
  if (c.addition_embed_type !== null) bad("addition_embed_type", c.addition_embed_type);
  if (c.encoder_hid_dim !== null) bad("encoder_hid_dim", c.encoder_hid_dim);
  if (c.time_embedding_type !== "positional") bad("time_embedding_type", c.time_embedding_type);
  if (c.time_cond_proj_dim !== null) bad("time_cond_proj_dim", c.time_cond_proj_dim);
  if (c.attention_type !== "default") bad("attention_type", c.attention_type);
  if (c.class_embeddings_concat) bad("class_embeddings_concat", true);
  if (c.class_embed_type === "simple_projection") bad("class_embed_type", c.class_embed_type);
  if (c.class_embed_type === "projection" && c.projection_class_embeddings_input_dim === null) {
    bad("projection_class_embeddings_input_dim", null);
  }
  if (c.norm_num_groups === null) bad("norm_num_groups", null);
  if (c.cross_attention_norm !== null) bad("cross_attention_norm", c.cross_attention_norm);
  if (c.time_embedding_act_fn !== null) bad("time_embedding_act_fn", c.time_embedding_act_fn);
  if (c.timestep_post_act !== null) bad("timestep_post_act", c.timestep_post_act);
  if (c.reverse_transformer_layers_per_block !== null) bad("reverse_transformer_layers_per_block", c.reverse_transformer_layers_per_block);
}

export function expectedUNetParams(c: UNet2DConditionConfig): ParamSpec[] {
  assertSupportedUNet(c);
  const p = new Params();
  const boc = c.block_out_channels;
  const n = boc.length;
  const temb = unetTimeEmbedDim(c);
  const heads = unetHeadsPerLevel(c);
  const layers = unetLayersPerLevel(c);
  const cross = unetCrossAttentionDimPerLevel(c);
  const onlyCross = unetOnlyCrossAttentionPerLevel(c);
  const depth = unetTransformerLayersPerLevel(c);
  const shift = c.resnet_time_scale_shift === "scale_shift";

  p.conv("conv_in", boc[0]!, c.in_channels, c.conv_in_kernel);
  p.linear("time_embedding.linear_1", temb, boc[0]!);
  p.linear("time_embedding.linear_2", temb, temb);
  if (c.class_embed_type === null && c.num_class_embeds !== null) {
    p.add("class_embedding.weight", [c.num_class_embeds, temb]);
  } else if (c.class_embed_type === "timestep") {
    p.linear("class_embedding.linear_1", temb, boc[0]!);
    p.linear("class_embedding.linear_2", temb, temb);
  } else if (c.class_embed_type === "projection") {
    p.linear("class_embedding.linear_1", temb, c.projection_class_embeddings_input_dim!);
    p.linear("class_embedding.linear_2", temb, temb);
  }

  let outC = boc[0]!;
  for (let i = 0; i < n; i++) {
    const inC = outC;
    outC = boc[i]!;
    const isFinal = i === n - 1;
    const hasAttn = c.down_block_types[i] === "CrossAttnDownBlock2D";
    for (let j = 0; j < layers[i]!; j++) {
      resnet(p, `down_blocks.${i}.resnets.${j}`, j === 0 ? inC : outC, outC, temb, shift);
      if (hasAttn) {
        transformer2d(p, `down_blocks.${i}.attentions.${j}`, {
          channels: outC, heads: heads[i]!, depth: depthAt(depth[i]!, j), crossDim: cross[i]!,
          linearProjection: c.use_linear_projection, onlyCrossAttention: onlyCross[i]!,
        });
      }
    }
    if (!isFinal) p.conv(`down_blocks.${i}.downsamplers.0.conv`, outC, outC, 3);
  }

  const midC = boc[n - 1]!;
  if (c.mid_block_type !== null) {
    resnet(p, "mid_block.resnets.0", midC, midC, temb, shift);
    if (c.mid_block_type === "UNetMidBlock2DCrossAttn") {
      const lastDepth = depth[n - 1]!;
      transformer2d(p, "mid_block.attentions.0", {
        channels: midC, heads: heads[n - 1]!, depth: Array.isArray(lastDepth) ? lastDepth[lastDepth.length - 1]! : lastDepth,
        crossDim: cross[n - 1]!, linearProjection: c.use_linear_projection,
        // UNetMidBlock2DCrossAttn always has self-attention (only_cross_attention is not passed to it)
        onlyCrossAttention: false,
      });
    }
    resnet(p, "mid_block.resnets.1", midC, midC, temb, shift);
  }

  const rboc = boc.slice().reverse();
  const rheads = heads.slice().reverse();
  const rlayers = layers.slice().reverse();
  const rcross = cross.slice().reverse();
  const ronly = onlyCross.slice().reverse();
  const rdepth = depth.slice().reverse();
  let upOut = rboc[0]!;
  for (let i = 0; i < n; i++) {
    const isFinal = i === n - 1;
    const prevOut = upOut;
    upOut = rboc[i]!;
    const inC = rboc[Math.min(i + 1, n - 1)]!;
    const hasAttn = c.up_block_types[i] === "CrossAttnUpBlock2D";
    const nl = rlayers[i]! + 1;
    for (let j = 0; j < nl; j++) {
      const skip = j === nl - 1 ? inC : upOut;
      const resIn = j === 0 ? prevOut : upOut;
      resnet(p, `up_blocks.${i}.resnets.${j}`, resIn + skip, upOut, temb, shift);
      if (hasAttn) {
        transformer2d(p, `up_blocks.${i}.attentions.${j}`, {
          channels: upOut, heads: rheads[i]!, depth: depthAt(rdepth[i]!, j), crossDim: rcross[i]!,
          linearProjection: c.use_linear_projection, onlyCrossAttention: ronly[i]!,
        });
      }
    }
    if (!isFinal) p.conv(`up_blocks.${i}.upsamplers.0.conv`, upOut, upOut, 3);
  }

  p.norm("conv_norm_out", boc[0]!);
  p.conv("conv_out", c.out_channels, boc[0]!, c.conv_out_kernel);
  return p.list;
}

// ---- VAE --------------------------------------------------------------------------------------------------

function vaeMid(p: Params, prefix: string, ch: number, attention: boolean): void {
  resnet(p, `${prefix}.resnets.0`, ch, ch, null);
  if (attention) {
    const a = `${prefix}.attentions.0`;
    p.norm(`${a}.group_norm`, ch);
    p.linear(`${a}.to_q`, ch, ch);
    p.linear(`${a}.to_k`, ch, ch);
    p.linear(`${a}.to_v`, ch, ch);
    p.linear(`${a}.to_out.0`, ch, ch);
  }
  resnet(p, `${prefix}.resnets.1`, ch, ch, null);
}

export function expectedVaeParams(c: AutoencoderKLConfig): ParamSpec[] {
  const p = new Params();
  const boc = c.block_out_channels;
  const n = boc.length;
  const L = c.latent_channels;
  // encoder
  p.conv("encoder.conv_in", boc[0]!, c.in_channels, 3);
  let outC = boc[0]!;
  for (let i = 0; i < n; i++) {
    const inC = outC;
    outC = boc[i]!;
    for (let j = 0; j < c.layers_per_block; j++) resnet(p, `encoder.down_blocks.${i}.resnets.${j}`, j === 0 ? inC : outC, outC, null);
    if (i !== n - 1) p.conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, outC, outC, 3);
  }
  vaeMid(p, "encoder.mid_block", boc[n - 1]!, c.mid_block_add_attention);
  p.norm("encoder.conv_norm_out", boc[n - 1]!);
  p.conv("encoder.conv_out", 2 * L, boc[n - 1]!, 3);
  // decoder
  const rboc = boc.slice().reverse();
  p.conv("decoder.conv_in", rboc[0]!, L, 3);
  vaeMid(p, "decoder.mid_block", rboc[0]!, c.mid_block_add_attention);
  let upOut = rboc[0]!;
  for (let i = 0; i < n; i++) {
    const prev = upOut;
    upOut = rboc[i]!;
    for (let j = 0; j < c.layers_per_block + 1; j++) resnet(p, `decoder.up_blocks.${i}.resnets.${j}`, j === 0 ? prev : upOut, upOut, null);
    if (i !== n - 1) p.conv(`decoder.up_blocks.${i}.upsamplers.0.conv`, upOut, upOut, 3);
  }
  p.norm("decoder.conv_norm_out", boc[0]!);
  p.conv("decoder.conv_out", c.out_channels, boc[0]!, 3);
  if (c.use_quant_conv) p.conv("quant_conv", 2 * L, 2 * L, 1);
  if (c.use_post_quant_conv) p.conv("post_quant_conv", L, L, 1);
  return p.list;
}

// ---- CLIP -------------------------------------------------------------------------------------------------

function clipEncoder(p: Params, prefix: string, h: number, inter: number, layers: number): void {
  for (let i = 0; i < layers; i++) {
    const l = `${prefix}.encoder.layers.${i}`;
    p.linear(`${l}.self_attn.k_proj`, h, h);
    p.linear(`${l}.self_attn.v_proj`, h, h);
    p.linear(`${l}.self_attn.q_proj`, h, h);
    p.linear(`${l}.self_attn.out_proj`, h, h);
    p.norm(`${l}.layer_norm1`, h);
    p.linear(`${l}.mlp.fc1`, inter, h);
    p.linear(`${l}.mlp.fc2`, h, inter);
    p.norm(`${l}.layer_norm2`, h);
  }
}

/** CLIPTextModel (`withProjection` adds CLIPTextModelWithProjection's text_projection). */
export function expectedClipTextParams(c: ClipTextConfig, opts: { withProjection?: boolean } = {}): ParamSpec[] {
  const p = new Params();
  const h = c.hidden_size;
  p.add("text_model.embeddings.token_embedding.weight", [c.vocab_size, h]);
  p.add("text_model.embeddings.position_embedding.weight", [c.max_position_embeddings, h]);
  clipEncoder(p, "text_model", h, c.intermediate_size, c.num_hidden_layers);
  p.norm("text_model.final_layer_norm", h);
  if (opts.withProjection) p.linear("text_projection", c.projection_dim, h, false);
  return p.list;
}

function clipVisionTower(p: Params, prefix: string, c: ClipVisionConfig): void {
  const h = c.hidden_size;
  const patches = (c.image_size / c.patch_size) ** 2;
  p.add(`${prefix}.embeddings.class_embedding`, [h]);
  p.add(`${prefix}.embeddings.patch_embedding.weight`, [h, c.num_channels, c.patch_size, c.patch_size]);
  p.add(`${prefix}.embeddings.position_embedding.weight`, [patches + 1, h]);
  p.norm(`${prefix}.pre_layrnorm`, h);
  clipEncoder(p, prefix, h, c.intermediate_size, c.num_hidden_layers);
  p.norm(`${prefix}.post_layernorm`, h);
}

/** CLIPVisionModelWithProjection (`withProjection: false` gives CLIPVisionModel). */
export function expectedClipVisionParams(c: ClipVisionConfig, opts: { withProjection?: boolean } = {}): ParamSpec[] {
  const p = new Params();
  clipVisionTower(p, "vision_model", c);
  if (opts.withProjection ?? true) p.linear("visual_projection", c.projection_dim, c.hidden_size, false);
  return p.list;
}

/** StableDiffusionSafetyChecker: a CLIP vision tower + projection + 17 concept and 3 special-care embeddings. */
export function expectedSafetyCheckerParams(c: SafetyCheckerConfig): ParamSpec[] {
  const p = new Params();
  const d = c.projection_dim;
  p.add("concept_embeds", [17, d]);
  p.add("special_care_embeds", [3, d]);
  p.add("concept_embeds_weights", [17]);
  p.add("special_care_embeds_weights", [3]);
  clipVisionTower(p, "vision_model.vision_model", c.vision_config);
  p.linear("visual_projection", d, c.vision_config.hidden_size, false);
  return p.list;
}
