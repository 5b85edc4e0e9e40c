/**
 * Single-file (original CompVis / Stability) checkpoints: infer the model family and the full diffusers
 * configs from tensor names and shapes, then map the weights (see mapping.ts).
 *
 * What shapes determine: UNet channels, levels, layers per block, block types, in/out channels, context
 * (cross-attention) width, linear vs 1x1-conv projections, transformer depth, cross-attention-only blocks
 * (x4 upscaler), class embeddings; VAE channels/levels/latent width; text encoder width/depth/vocabulary.
 *
 * What shapes cannot determine, and the documented rules used instead (in order of precedence: the
 * `overrides` option > explicit options > the LDM .yaml > the family defaults below):
 *  - prediction type: `predictionType` option; else yaml `model.params.parameterization` ("v" → v_prediction,
 *    anything else → epsilon); else SD1 / inpainting / depth / image variations → epsilon, x4 upscaler →
 *    v_prediction, and **SD2 text-to-image (4 input channels, 1024-wide context) → v_prediction, i.e. the
 *    768-v model**, unless `imageSize` is 512 or `globalStep` is 875000 (the 512-base release), which select
 *    512-base → epsilon. (SD2 base and 768-v checkpoints have identical tensor shapes; this is the rule
 *    diffusers' single-file loader uses too.)
 *  - number of heads: yaml `num_heads` (int, diffusers `attention_head_dim`) or `num_head_channels` (per-level
 *    list channels/width); else 1024-wide context (SD2 family, except the upscaler) → head width 64 → list
 *    [c/64 per level]; otherwise 8 heads.
 *  - upcast_attention: true for sd2-v (what the 2.1 768 release ships; it only changes fp16 numerics).
 *  - sample sizes / VAE scaling factor: per family (the values the HF repos ship).
 *  - text encoder: SD1 = CLIP ViT-L/14 text config (quick_gelu); SD2 = OpenCLIP ViT-H text tower with gelu and
 *    the last of its 24 blocks dropped (SD2 conditions on the penultimate layer; diffusers keeps 23).
 */
import { InvalidArgumentError, NotFoundError, UnsupportedError } from "../../errors.js";
import { parseClipTextConfig, type ClipTextConfig } from "../configs/clip.js";
import { parseUNetConfig, type UNet2DConditionConfig } from "../configs/unet.js";
import { parseVaeConfig, type AutoencoderKLConfig } from "../configs/vae.js";
import { formatShape, indexByName, type TensorIndex, type TensorInfo } from "../tensor_index.js";
import {
  applyMapping, buildTextEncoderMapping, buildUNetMapping, buildVaeMapping, CLIP_HF_PREFIX, OPENCLIP_PREFIX,
  UNET_PREFIX, VAE_PREFIX, type MappingEntry, type MappingResult, type OriginalTextStyle,
} from "./mapping.js";
import { readLdmYaml, type LdmYamlInfo } from "./yaml.js";

export type ModelFamily =
  | "sd1"
  | "sd1-inpainting"
  | "sd-image-variations"
  | "sd2-base"
  | "sd2-v"
  | "sd2-inpainting"
  | "sd2-depth"
  | "sd-x4-upscaler";

export const MODEL_FAMILIES: readonly ModelFamily[] = [
  "sd1", "sd1-inpainting", "sd-image-variations", "sd2-base", "sd2-v", "sd2-inpainting", "sd2-depth", "sd-x4-upscaler",
];

export type PredictionType = "epsilon" | "v_prediction";

export interface FamilyDefaults {
  pipelineClass: string;
  predictionType: PredictionType;
  unetSampleSize: number;
  vaeSampleSize: number;
  scalingFactor: number;
  upcastAttention: boolean;
}

/** Per-family values that tensor shapes cannot tell (the HF repos' values). */
export const FAMILY_DEFAULTS: Readonly<Record<ModelFamily, FamilyDefaults>> = {
  "sd1": { pipelineClass: "StableDiffusionPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 512, scalingFactor: 0.18215, upcastAttention: false },
  "sd1-inpainting": { pipelineClass: "StableDiffusionInpaintPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 512, scalingFactor: 0.18215, upcastAttention: false },
  "sd-image-variations": { pipelineClass: "StableDiffusionImageVariationPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 256, scalingFactor: 0.18215, upcastAttention: false },
  "sd2-base": { pipelineClass: "StableDiffusionPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 512, scalingFactor: 0.18215, upcastAttention: false },
  "sd2-v": { pipelineClass: "StableDiffusionPipeline", predictionType: "v_prediction", unetSampleSize: 96, vaeSampleSize: 768, scalingFactor: 0.18215, upcastAttention: true },
  "sd2-inpainting": { pipelineClass: "StableDiffusionInpaintPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 512, scalingFactor: 0.18215, upcastAttention: false },
  "sd2-depth": { pipelineClass: "StableDiffusionDepth2ImgPipeline", predictionType: "epsilon", unetSampleSize: 64, vaeSampleSize: 512, scalingFactor: 0.18215, upcastAttention: false },
  "sd-x4-upscaler": { pipelineClass: "StableDiffusionUpscalePipeline", predictionType: "v_prediction", unetSampleSize: 128, vaeSampleSize: 256, scalingFactor: 0.08333, upcastAttention: false },
};

export interface SingleFileOptions {
  /** Skip family detection. */
  family?: ModelFamily;
  predictionType?: PredictionType;
  /** Output image size in pixels (sets both sample sizes; 512 vs 768 also picks SD2 base vs v). */
  imageSize?: number;
  upcastAttention?: boolean;
  /** `global_step` stored in .ckpt files (875000 = SD2 512-base, 110000 = SD2.1 768-v). */
  globalStep?: number;
  /** The accompanying LDM yaml: its text, or already read with readLdmYaml. */
  yaml?: string | LdmYamlInfo;
  /** Label for messages (the checkpoint path). */
  file?: string;
  /** Final say over any config field; validated like config.json content. */
  overrides?: {
    unet?: Record<string, unknown>;
    vae?: Record<string, unknown>;
    text_encoder?: Record<string, unknown>;
  };
}

export interface SingleFileModel {
  family: ModelFamily;
  pipelineClass: string;
  predictionType: PredictionType;
  unet: UNet2DConditionConfig;
  vae: AutoencoderKLConfig;
  /** null when the checkpoint has no text encoder (image variations, or a stripped file). */
  textEncoder: ClipTextConfig | null;
  textEncoderStyle: OriginalTextStyle | null;
  /** How each value shapes could not give was chosen (for logs / --verbose). */
  decisions: string[];
  warnings: string[];
}

class Lookup {
  readonly byName: Map<string, TensorInfo>;
  constructor(index: TensorIndex, readonly file: string) {
    this.byName = indexByName(index);
  }
  has(n: string): boolean {
    return this.byName.has(n);
  }
  shape(n: string, why: string): number[] {
    const t = this.byName.get(n);
    if (!t) throw new NotFoundError(`${this.file}: tensor "${n}" not found (needed to infer ${why})`);
    return t.shape;
  }
  /** Distinct integer values of capture group 1 over names matching re. */
  indices(re: RegExp): number[] {
    const s = new Set<number>();
    for (const n of this.byName.keys()) {
      const m = re.exec(n);
      if (m) s.add(Number(m[1]));
    }
    return [...s].sort((a, b) => a - b);
  }
}

function collapse<T>(list: T[]): T | T[] {
  return list.every((v) => v === list[0]) ? list[0]! : list;
}

function detectTextStyle(L: Lookup): OriginalTextStyle | null {
  if (L.has(`${OPENCLIP_PREFIX}token_embedding.weight`)) return "openclip";
  if (L.has(`${CLIP_HF_PREFIX}text_model.embeddings.token_embedding.weight`)) return "clip-hf";
  if (L.has(`${CLIP_HF_PREFIX}embeddings.token_embedding.weight`)) return "clip-hf-legacy";
  return null;
}

function hasImageEncoder(L: Lookup): boolean {
  for (const n of L.byName.keys()) {
    if (/^cond_stage_model\.(model\.visual\.|transformer\.vision_model\.|mapper\.|final_ln\.)/.test(n)) return true;
  }
  return false;
}

interface UNetShapeInfo {
  config: Record<string, unknown>;
  levels: number;
  channels: number[];
  context: number;
  hasLabel: boolean;
  attnLevels: boolean[];
  onlyCrossKnown: (boolean | null)[];
}

function inferUNetShapes(L: Lookup): UNetShapeInfo {
  const P = UNET_PREFIX;
  const convIn = L.shape(`${P}input_blocks.0.0.weight`, "the UNet input convolution");
  if (convIn.length !== 4) throw new UnsupportedError(`${L.file}: UNet conv_in has shape ${formatShape(convIn)}, expected 4 dims`);
  const inputIdx = L.indices(/^model\.diffusion_model\.input_blocks\.(\d+)\./);
  const lastIn = inputIdx[inputIdx.length - 1]!;
  const ops = L.indices(/^model\.diffusion_model\.input_blocks\.(\d+)\.0\.op\.weight$/);
  // level boundaries: [start, endExclusive) of resnet positions
  const starts: number[] = [1];
  for (const k of ops) starts.push(k + 1);
  const layers: number[] = [];
  for (let i = 0; i < starts.length; i++) {
    const end = i < ops.length ? ops[i]! : lastIn + 1;
    layers.push(end - starts[i]!);
  }
  const n = layers.length;
  if (layers.some((l) => l <= 0)) throw new UnsupportedError(`${L.file}: cannot make sense of the UNet input_blocks layout`);
  const channels: number[] = [];
  const attn: boolean[] = [];
  const depth: number[] = [];
  const ctxDims: (number | null)[] = [];
  const onlyCross: (boolean | null)[] = [];
  let linear: boolean | null = null;
  const attnInfo = (base: string) => {
    const proj = L.shape(`${base}.proj_in.weight`, "the projection type");
    const isLinear = proj.length === 2;
    if (linear !== null && linear !== isLinear) throw new UnsupportedError(`${L.file}: mixed linear / conv transformer projections`);
    linear = isLinear;
    const blocks = L.indices(new RegExp(`^${base.replace(/\./g, "\\.")}\\.transformer_blocks\\.(\\d+)\\.`));
    const inner = proj[0]!;
    const k2 = L.shape(`${base}.transformer_blocks.0.attn2.to_k.weight`, "the cross-attention width");
    const k1 = L.shape(`${base}.transformer_blocks.0.attn1.to_k.weight`, "the self-attention width");
    const ctx = k2[1]!;
    // attn1 reading the context instead of the hidden states = cross-attention only (ambiguous if equal widths)
    const only = k1[1] === inner ? (ctx === inner ? null : false) : true;
    return { depth: blocks.length, ctx, only };
  };
  for (let i = 0; i < n; i++) {
    const k = starts[i]!;
    const ch = L.shape(`${P}input_blocks.${k}.0.out_layers.3.weight`, `the width of UNet level ${i}`)[0]!;
    channels.push(ch);
    const a = L.has(`${P}input_blocks.${k}.1.proj_in.weight`);
    attn.push(a);
    if (a) {
      const info = attnInfo(`${P}input_blocks.${k}.1`);
      depth.push(info.depth);
      ctxDims.push(info.ctx);
      onlyCross.push(info.only);
    } else {
      depth.push(0);
      ctxDims.push(null);
      onlyCross.push(null);
    }
  }
  // up blocks: attention presence per up level
  const rlayers = layers.slice().reverse();
  const upAttn: boolean[] = [];
  let base = 0;
  for (let i = 0; i < n; i++) {
    upAttn.push(L.has(`${P}output_blocks.${base}.1.proj_in.weight`));
    base += rlayers[i]! + 1;
  }
  const midAttn = L.has(`${P}middle_block.1.proj_in.weight`);
  const midRes = L.has(`${P}middle_block.0.in_layers.0.weight`);
  let midInfo: { depth: number; ctx: number; only: boolean | null } | null = null;
  if (midAttn) midInfo = attnInfo(`${P}middle_block.1`);
  const known = ctxDims.filter((c): c is number => c !== null);
  if (midInfo) known.push(midInfo.ctx);
  if (known.length === 0) throw new UnsupportedError(`${L.file}: the UNet has no cross-attention layers (not a Stable Diffusion UNet)`);
  const context = known[0]!;
  const ctxPerLevel = ctxDims.map((c) => c ?? context);
  const depthPerLevel = depth.map((d) => (d === 0 ? (midInfo?.depth ?? 1) : d));
  const temb = L.shape(`${P}time_embed.0.weight`, "the time embedding width");
  const out = L.shape(`${P}out.2.weight`, "the UNet output channels");
  const hasLabel = L.has(`${P}label_emb.weight`);
  const config: Record<string, unknown> = {
    in_channels: convIn[1],
    out_channels: out[0],
    conv_in_kernel: convIn[2],
    conv_out_kernel: out[2],
    block_out_channels: channels,
    layers_per_block: collapse(layers),
    down_block_types: attn.map((a) => (a ? "CrossAttnDownBlock2D" : "DownBlock2D")),
    up_block_types: upAttn.map((a) => (a ? "CrossAttnUpBlock2D" : "UpBlock2D")),
    mid_block_type: midAttn ? "UNetMidBlock2DCrossAttn" : midRes ? "UNetMidBlock2D" : null,
    cross_attention_dim: collapse(ctxPerLevel),
    use_linear_projection: linear ?? false,
    transformer_layers_per_block: collapse(depthPerLevel),
  };
  if (temb[0] !== channels[0]! * 4) config.time_embedding_dim = temb[0];
  if (hasLabel) config.num_class_embeds = L.shape(`${P}label_emb.weight`, "the class embedding")[0];
  return { config, levels: n, channels, context, hasLabel, attnLevels: attn, onlyCrossKnown: onlyCross };
}

function inferVaeShapes(L: Lookup): Record<string, unknown> {
  const P = `${VAE_PREFIX}encoder.`;
  const convIn = L.shape(`${P}conv_in.weight`, "the VAE input convolution");
  const levels = L.indices(/^first_stage_model\.encoder\.down\.(\d+)\./);
  const blocks = L.indices(/^first_stage_model\.encoder\.down\.0\.block\.(\d+)\./);
  const channels = levels.map((i) => L.shape(`${P}down.${i}.block.0.conv1.weight`, `the width of VAE level ${i}`)[0]!);
  const post = L.shape(`${VAE_PREFIX}decoder.conv_in.weight`, "the latent width");
  const out = L.shape(`${VAE_PREFIX}decoder.conv_out.weight`, "the VAE output channels");
  return {
    in_channels: convIn[1],
    out_channels: out[0],
    block_out_channels: channels,
    down_block_types: channels.map(() => "DownEncoderBlock2D"),
    up_block_types: channels.map(() => "UpDecoderBlock2D"),
    layers_per_block: blocks.length,
    latent_channels: post[1],
    use_quant_conv: L.has(`${VAE_PREFIX}quant_conv.weight`),
    use_post_quant_conv: L.has(`${VAE_PREFIX}post_quant_conv.weight`),
    mid_block_add_attention: L.has(`${VAE_PREFIX}encoder.mid.attn_1.q.weight`),
  };
}

function inferTextShapes(L: Lookup, style: OriginalTextStyle): Record<string, unknown> {
  if (style === "openclip") {
    const P = OPENCLIP_PREFIX;
    const tok = L.shape(`${P}token_embedding.weight`, "the text vocabulary");
    const pos = L.shape(`${P}positional_embedding`, "the text context length");
    const blocks = L.indices(/^cond_stage_model\.model\.transformer\.resblocks\.(\d+)\./);
    const fc = L.shape(`${P}transformer.resblocks.0.mlp.c_fc.weight`, "the text MLP width");
    const h = tok[1]!;
    return {
      vocab_size: tok[0], hidden_size: h, intermediate_size: fc[0], num_hidden_layers: blocks.length - 1,
      num_attention_heads: h / 64, max_position_embeddings: pos[0], hidden_act: "gelu", projection_dim: 512,
      bos_token_id: 0, eos_token_id: 2, pad_token_id: 1, layer_norm_eps: 1e-5,
    };
  }
  const P = style === "clip-hf" ? `${CLIP_HF_PREFIX}text_model.` : CLIP_HF_PREFIX;
  const tok = L.shape(`${P}embeddings.token_embedding.weight`, "the text vocabulary");
  const pos = L.shape(`${P}embeddings.position_embedding.weight`, "the text context length");
  const re = new RegExp(`^${P.replace(/\./g, "\\.")}encoder\\.layers\\.(\\d+)\\.`);
  const layers = L.indices(re);
  const fc = L.shape(`${P}encoder.layers.0.mlp.fc1.weight`, "the text MLP width");
  const h = tok[1]!;
  return {
    vocab_size: tok[0], hidden_size: h, intermediate_size: fc[0], num_hidden_layers: layers.length,
    num_attention_heads: h / 64, max_position_embeddings: pos[0], hidden_act: "quick_gelu", projection_dim: h,
    bos_token_id: 0, eos_token_id: 2, pad_token_id: 1, layer_norm_eps: 1e-5,
  };
}

function familyFromYamlTarget(y: LdmYamlInfo): ModelFamily | null {
  const t = y.target ?? "";
  if (/LatentUpscaleDiffusion/.test(t)) return "sd-x4-upscaler";
  if (/Depth2Image/.test(t)) return "sd2-depth";
  if (/ImageEmbeddingConditioned|ImageVariation/.test(t) || /FrozenCLIPImageEmbedder/.test(y.condStageTarget ?? "")) return "sd-image-variations";
  return null;
}

function applyOverrides<T>(
  base: Record<string, unknown>,
  over: Record<string, unknown> | undefined,
  parse: (raw: unknown, ctx: { file: string }) => T,
  label: string,
): T {
  const raw = over ? { ...base, ...over } : base;
  try {
    return parse(raw, { file: over ? `${label} (with overrides)` : label });
  } catch (e) {
    if (over) throw new InvalidArgumentError(`overrides.${label.split(" ")[0]}: ${(e as Error).message}`, { cause: e });
    throw e;
  }
}

/** Infers family and configs from an original checkpoint's tensor list. */
export function inferSingleFileModel(index: TensorIndex, options: SingleFileOptions = {}): SingleFileModel {
  const file = options.file ?? "single-file checkpoint";
  const L = new Lookup(index, file);
  const decisions: string[] = [];
  const warnings: string[] = [];
  const yaml = typeof options.yaml === "string" ? readLdmYaml(options.yaml, `${file} (yaml)`) : options.yaml;
  if (options.imageSize !== undefined && !(Number.isSafeInteger(options.imageSize) && options.imageSize > 0 && options.imageSize % 8 === 0)) {
    throw new InvalidArgumentError(`imageSize must be a positive multiple of 8, got ${options.imageSize}`);
  }
  if (options.family !== undefined && !MODEL_FAMILIES.includes(options.family)) {
    throw new InvalidArgumentError(`family must be one of ${MODEL_FAMILIES.join(", ")}, got ${JSON.stringify(options.family)}`);
  }

  const u = inferUNetShapes(L);
  const vaeShape = inferVaeShapes(L);
  const textStyle = detectTextStyle(L);
  const inC = u.config.in_channels as number;
  const sd2Like = u.context === 1024 || textStyle === "openclip";

  // ---- family
  let family: ModelFamily;
  if (options.family) {
    family = options.family;
    decisions.push(`family ${family}: from options`);
  } else {
    const fy = yaml ? familyFromYamlTarget(yaml) : null;
    if (fy) {
      family = fy;
      decisions.push(`family ${family}: from the yaml model target`);
    } else if (u.hasLabel && inC === 7) {
      family = "sd-x4-upscaler";
      decisions.push("family sd-x4-upscaler: 7 input channels + class (noise level) embedding");
    } else if (inC === 9) {
      family = sd2Like ? "sd2-inpainting" : "sd1-inpainting";
      decisions.push(`family ${family}: 9 input channels (latents + mask + masked image)`);
    } else if (inC === 5) {
      family = "sd2-depth";
      decisions.push("family sd2-depth: 5 input channels (latents + depth)");
    } else if (inC === 4) {
      if (!sd2Like) {
        family = !textStyle && hasImageEncoder(L) ? "sd-image-variations" : "sd1";
        decisions.push(family === "sd1" ? `family sd1: 4 input channels, ${u.context}-wide context` : "family sd-image-variations: image encoder instead of a text encoder");
      } else {
        const yp = yaml?.parameterization;
        if (options.predictionType) {
          family = options.predictionType === "v_prediction" ? "sd2-v" : "sd2-base";
          decisions.push(`family ${family}: SD2 text-to-image, predictionType option`);
        } else if (yaml) {
          family = yp === "v" ? "sd2-v" : "sd2-base";
          decisions.push(`family ${family}: SD2 text-to-image, yaml parameterization ${JSON.stringify(yp ?? "eps")}`);
        } else if (options.imageSize !== undefined) {
          family = options.imageSize >= 768 ? "sd2-v" : "sd2-base";
          decisions.push(`family ${family}: SD2 text-to-image, imageSize ${options.imageSize}`);
        } else if (options.globalStep === 875000) {
          family = "sd2-base";
          decisions.push("family sd2-base: SD2 text-to-image, global_step 875000 (the 512-base release)");
        } else {
          family = "sd2-v";
          decisions.push("family sd2-v: SD2 text-to-image with no yaml/option; default is the 768-v model (pass predictionType: \"epsilon\" or imageSize: 512 for 512-base)");
        }
      }
    } else {
      throw new UnsupportedError(`${file}: UNet with ${inC} input channels is not a supported Stable Diffusion family`);
    }
  }
  const fam = FAMILY_DEFAULTS[family];

  // ---- prediction type
  let predictionType: PredictionType;
  if (options.predictionType) {
    predictionType = options.predictionType;
    decisions.push(`prediction type ${predictionType}: from options`);
  } else if (yaml && family !== "sd2-v" && family !== "sd2-base") {
    predictionType = yaml.parameterization === "v" ? "v_prediction" : "epsilon";
    decisions.push(`prediction type ${predictionType}: yaml parameterization ${JSON.stringify(yaml.parameterization ?? "eps")}`);
  } else {
    predictionType = fam.predictionType;
    decisions.push(`prediction type ${predictionType}: ${family} default`);
  }

  // ---- UNet
  const unetRaw: Record<string, unknown> = { ...u.config };
  const sdTwoHeads = u.context === 1024 && family !== "sd-x4-upscaler";
  if (yaml?.unet.num_heads !== undefined) {
    unetRaw.attention_head_dim = yaml.unet.num_heads;
    decisions.push(`attention heads: yaml num_heads ${yaml.unet.num_heads}`);
  } else if (yaml?.unet.num_head_channels !== undefined) {
    const w = yaml.unet.num_head_channels;
    unetRaw.attention_head_dim = u.channels.map((c) => Math.floor(c / w));
    decisions.push(`attention heads: yaml num_head_channels ${w}`);
  } else if (sdTwoHeads) {
    unetRaw.attention_head_dim = u.channels.map((c) => Math.floor(c / 64));
    decisions.push("attention heads: SD2 rule, head width 64");
  } else {
    unetRaw.attention_head_dim = 8;
    decisions.push("attention heads: 8 (SD1 / upscaler rule)");
  }
  // only_cross_attention: from shapes where visible, the yaml where ambiguous, levels without attention copy
  // the nearest attention level (the value does not matter there).
  const only: (boolean | null)[] = u.onlyCrossKnown.map((v, i) => v ?? (yaml?.unet.disable_self_attentions?.[i] ?? null));
  const attnIdx = only.map((_, i) => i).filter((i) => u.attnLevels[i]);
  const filled = only.map((v, i) => {
    if (v !== null) return v;
    if (u.attnLevels[i]) return false;
    const next = attnIdx.find((j) => j > i) ?? attnIdx[attnIdx.length - 1];
    return next !== undefined ? (only[next] ?? false) : false;
  });
  unetRaw.only_cross_attention = filled.every((v) => !v) ? false : filled;
  const vaeLevels = (vaeShape.block_out_channels as number[]).length;
  const scale = 2 ** (vaeLevels - 1);
  unetRaw.sample_size = options.imageSize !== undefined ? options.imageSize / scale : fam.unetSampleSize;
  unetRaw.upcast_attention = options.upcastAttention ?? fam.upcastAttention;
  if (options.upcastAttention === undefined && fam.upcastAttention) decisions.push("upcast_attention true: sd2-v default");
  if (yaml) {
    const y = yaml.unet;
    const check = (name: string, yv: number | undefined, tv: number) => {
      if (yv !== undefined && yv !== tv) warnings.push(`${file}: yaml ${name} ${yv} disagrees with the tensors (${tv}); using the tensors`);
    };
    check("in_channels", y.in_channels, inC);
    check("model_channels", y.model_channels, u.channels[0]!);
    check("context_dim", y.context_dim, u.context);
  }
  const unet = applyOverrides(unetRaw, options.overrides?.unet, parseUNetConfig, "unet");

  // ---- VAE
  const vaeRaw: Record<string, unknown> = {
    ...vaeShape,
    sample_size: options.imageSize ?? fam.vaeSampleSize,
    scaling_factor: yaml?.scaleFactor ?? fam.scalingFactor,
  };
  const vae = applyOverrides(vaeRaw, options.overrides?.vae, parseVaeConfig, "vae");

  // ---- text encoder
  let textEncoder: ClipTextConfig | null = null;
  if (textStyle) {
    textEncoder = applyOverrides(inferTextShapes(L, textStyle), options.overrides?.text_encoder, parseClipTextConfig, "text_encoder");
    if (textStyle === "openclip") decisions.push(`text encoder: OpenCLIP, last block dropped (${textEncoder.num_hidden_layers} kept)`);
  } else if (family !== "sd-image-variations") {
    warnings.push(`${file}: no text encoder in the checkpoint; load one separately`);
  }
  return {
    family, pipelineClass: fam.pipelineClass, predictionType, unet, vae, textEncoder, textEncoderStyle: textStyle,
    decisions, warnings,
  };
}

/** All mapping entries for a model inferred (or described) by `model`. */
export function buildSingleFileMapping(model: Pick<SingleFileModel, "unet" | "vae" | "textEncoder" | "textEncoderStyle">): MappingEntry[] {
  const entries = [...buildUNetMapping(model.unet), ...buildVaeMapping(model.vae)];
  if (model.textEncoder && model.textEncoderStyle) entries.push(...buildTextEncoderMapping(model.textEncoder, model.textEncoderStyle));
  return entries;
}

export interface SingleFileConversion {
  model: SingleFileModel;
  mapping: MappingResult;
  /** model.warnings + mapping.warnings. */
  warnings: string[];
}

/** Infers the configs and maps every weight; throws NotFoundError / ShapeError for missing / mis-shaped tensors. */
export function convertSingleFile(index: TensorIndex, options: SingleFileOptions = {}): SingleFileConversion {
  const model = inferSingleFileModel(index, options);
  const entries = buildSingleFileMapping(model);
  const ignore: [RegExp, string][] = [];
  if (model.textEncoderStyle === "openclip" && model.textEncoder) {
    const keep = model.textEncoder.num_hidden_layers;
    const extra = new Lookup(index, "").indices(/^cond_stage_model\.model\.transformer\.resblocks\.(\d+)\./).filter((i) => i >= keep);
    if (extra.length > 0) {
      ignore.push([
        new RegExp(`^cond_stage_model\\.model\\.transformer\\.resblocks\\.(${extra.join("|")})\\.`),
        `OpenCLIP text blocks from index ${keep} on (diffusers keeps ${keep}; SD2 uses the penultimate layer)`,
      ]);
    }
  }
  if (model.family === "sd-image-variations") {
    ignore.push([/^cond_stage_model\./, "original image encoder (not converted; load the diffusers image_encoder)"]);
  }
  const mapping = applyMapping(index, entries, { file: options.file, ignore });
  return { model, mapping, warnings: [...model.warnings, ...mapping.warnings] };
}
