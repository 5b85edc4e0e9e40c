/**
 * Name mapping between original CompVis/Stability single-file checkpoints and diffusers/transformers
 * parameter names, for the UNet, the VAE and the CLIP text encoder.
 *
 * The mapping is generated from the component configs: every diffusers parameter of a model built from the
 * config (see params/expected.ts) gets exactly one source in the original file, possibly a row range of a
 * fused tensor (OpenCLIP `attn.in_proj_weight` = q ++ k ++ v) or a 1x1-conv weight used as a linear weight
 * (VAE mid-block attention). `applyMapping` then checks a TensorIndex against it.
 */
import { NotFoundError, ShapeError } from "../../errors.js";
import type { ClipTextConfig } from "../configs/clip.js";
import { unetLayersPerLevel, type UNet2DConditionConfig } from "../configs/unet.js";
import type { AutoencoderKLConfig } from "../configs/vae.js";
import { expectedClipTextParams, expectedUNetParams, expectedVaeParams } from "../params/expected.js";
import { formatShape, indexByName, shapesEqual, type TensorDType, type TensorIndex } from "../tensor_index.js";

export type MappedComponent = "unet" | "vae" | "text_encoder";

/** How the original checkpoint spells its text encoder. */
export type OriginalTextStyle =
  /** SD1: `cond_stage_model.transformer.text_model.*` (HF CLIPTextModel names under a prefix). */
  | "clip-hf"
  /** Very old SD1 checkpoints: `cond_stage_model.transformer.*` without `text_model.`. */
  | "clip-hf-legacy"
  /** SD2: OpenCLIP `cond_stage_model.model.*` with fused q/k/v. */
  | "openclip";

export interface MappingEntry {
  component: MappedComponent;
  /** diffusers / transformers parameter name inside the component. */
  target: string;
  /** Shape of the diffusers parameter. */
  shape: number[];
  /** Tensor name in the original checkpoint. */
  source: string;
  /** Shape the source tensor must have. */
  sourceShape: number[];
  /** Rows [begin, end) of the source along dim 0 (fused q/k/v). */
  rows?: [number, number];
  /** The source has the target's data under another shape (e.g. [C, C, 1, 1] conv → [C, C] linear). */
  reshape?: boolean;
}

export const UNET_PREFIX = "model.diffusion_model.";
export const VAE_PREFIX = "first_stage_model.";

// ---- UNet -------------------------------------------------------------------------------------------------

const RESNET_NAMES: Record<string, string> = {
  norm1: "in_layers.0",
  conv1: "in_layers.2",
  time_emb_proj: "emb_layers.1",
  norm2: "out_layers.0",
  conv2: "out_layers.3",
  conv_shortcut: "skip_connection",
};

function resnetPart(rest: string): string {
  const dot = rest.indexOf(".");
  const head = rest.slice(0, dot);
  const mapped = RESNET_NAMES[head];
  if (!mapped) throw new Error(`internal: unknown resnet parameter ${rest}`);
  return `${mapped}${rest.slice(dot)}`;
}

/** diffusers UNet name → original LDM name (without the `model.diffusion_model.` prefix). */
export function unetNameToOriginal(name: string, c: UNet2DConditionConfig): string {
  const layers = unetLayersPerLevel(c);
  let m: RegExpExecArray | null;
  if ((m = /^conv_in\.(.*)$/.exec(name))) return `input_blocks.0.0.${m[1]}`;
  if ((m = /^time_embedding\.linear_([12])\.(.*)$/.exec(name))) return `time_embed.${m[1] === "1" ? 0 : 2}.${m[2]}`;
  if (name === "class_embedding.weight") return "label_emb.weight";
  if ((m = /^class_embedding\.linear_([12])\.(.*)$/.exec(name))) return `label_emb.0.${m[1] === "1" ? 0 : 2}.${m[2]}`;
  if ((m = /^conv_norm_out\.(.*)$/.exec(name))) return `out.0.${m[1]}`;
  if ((m = /^conv_out\.(.*)$/.exec(name))) return `out.2.${m[1]}`;
  if ((m = /^down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)\.(.*)$/.exec(name))) {
    const i = Number(m[1]);
    const j = Number(m[3]);
    let base = 1;
    for (let k = 0; k < i; k++) base += layers[k]! + 1;
    if (m[2] === "resnets") return `input_blocks.${base + j}.0.${resnetPart(m[4]!)}`;
    if (m[2] === "attentions") return `input_blocks.${base + j}.1.${m[4]}`;
    return `input_blocks.${base + layers[i]!}.0.op.${m[4]!.replace(/^conv\./, "")}`;
  }
  if ((m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.*)$/.exec(name))) {
    const hasAttn = c.mid_block_type === "UNetMidBlock2DCrossAttn";
    if (m[1] === "attentions") return `middle_block.1.${m[3]}`;
    const idx = m[2] === "0" ? 0 : hasAttn ? 2 : 1;
    return `middle_block.${idx}.${resnetPart(m[3]!)}`;
  }
  if ((m = /^up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.*)$/.exec(name))) {
    const i = Number(m[1]);
    const j = Number(m[3]);
    const rlayers = layers.slice().reverse();
    let base = 0;
    for (let k = 0; k < i; k++) base += rlayers[k]! + 1;
    const nl = rlayers[i]! + 1;
    if (m[2] === "resnets") return `output_blocks.${base + j}.0.${resnetPart(m[4]!)}`;
    if (m[2] === "attentions") return `output_blocks.${base + j}.1.${m[4]}`;
    const hasAttn = c.up_block_types[i] === "CrossAttnUpBlock2D";
    return `output_blocks.${base + nl - 1}.${hasAttn ? 2 : 1}.${m[4]}`;
  }
  throw new Error(`internal: no original name for UNet parameter ${name}`);
}

export function buildUNetMapping(c: UNet2DConditionConfig, prefix = UNET_PREFIX): MappingEntry[] {
  return expectedUNetParams(c).map((p) => ({
    component: "unet" as const,
    target: p.name,
    shape: p.shape,
    source: prefix + unetNameToOriginal(p.name, c),
    sourceShape: p.shape,
  }));
}

// ---- VAE --------------------------------------------------------------------------------------------------

const VAE_RESNET: Record<string, string> = { conv_shortcut: "nin_shortcut" };
const VAE_ATTN: Record<string, string> = { group_norm: "norm", to_q: "q", to_k: "k", to_v: "v", "to_out.0": "proj_out" };

/** diffusers VAE name → original name (without `first_stage_model.`); `reshape` for attention 1x1 convs. */
export function vaeNameToOriginal(name: string, c: AutoencoderKLConfig): { name: string; reshape: boolean } {
  const n = c.block_out_channels.length;
  const res = (rest: string): string => {
    const dot = rest.indexOf(".");
    const head = rest.slice(0, dot);
    return `${VAE_RESNET[head] ?? head}${rest.slice(dot)}`;
  };
  let m: RegExpExecArray | null;
  if ((m = /^(encoder|decoder)\.mid_block\.resnets\.(\d)\.(.*)$/.exec(name))) {
    return { name: `${m[1]}.mid.block_${Number(m[2]) + 1}.${res(m[3]!)}`, reshape: false };
  }
  if ((m = /^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(name))) {
    return { name: `${m[1]}.mid.attn_1.${VAE_ATTN[m[2]!]}.${m[3]}`, reshape: m[2] !== "group_norm" && m[3] === "weight" };
  }
  if ((m = /^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/.exec(name))) {
    return { name: `encoder.down.${m[1]}.block.${m[2]}.${res(m[3]!)}`, reshape: false };
  }
  if ((m = /^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.*)$/.exec(name))) {
    return { name: `encoder.down.${m[1]}.downsample.conv.${m[2]}`, reshape: false };
  }
  if ((m = /^decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)$/.exec(name))) {
    return { name: `decoder.up.${n - 1 - Number(m[1])}.block.${m[2]}.${res(m[3]!)}`, reshape: false };
  }
  if ((m = /^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.*)$/.exec(name))) {
    return { name: `decoder.up.${n - 1 - Number(m[1])}.upsample.conv.${m[2]}`, reshape: false };
  }
  if ((m = /^(encoder|decoder)\.conv_norm_out\.(.*)$/.exec(name))) return { name: `${m[1]}.norm_out.${m[2]}`, reshape: false };
  if (/^(encoder|decoder)\.(conv_in|conv_out)\./.test(name) || /^(post_)?quant_conv\./.test(name)) return { name, reshape: false };
  throw new Error(`internal: no original name for VAE parameter ${name}`);
}

export function buildVaeMapping(c: AutoencoderKLConfig, prefix = VAE_PREFIX): MappingEntry[] {
  return expectedVaeParams(c).map((p) => {
    const o = vaeNameToOriginal(p.name, c);
    return {
      component: "vae" as const,
      target: p.name,
      shape: p.shape,
      source: prefix + o.name,
      sourceShape: o.reshape ? [...p.shape, 1, 1] : p.shape,
      ...(o.reshape ? { reshape: true } : {}),
    };
  });
}

// ---- CLIP text --------------------------------------------------------------------------------------------

export const OPENCLIP_PREFIX = "cond_stage_model.model.";
export const CLIP_HF_PREFIX = "cond_stage_model.transformer.";

const OPENCLIP_LAYER: Record<string, string> = {
  "self_attn.out_proj": "attn.out_proj",
  layer_norm1: "ln_1",
  layer_norm2: "ln_2",
  "mlp.fc1": "mlp.c_fc",
  "mlp.fc2": "mlp.c_proj",
};

export function buildTextEncoderMapping(c: ClipTextConfig, style: OriginalTextStyle): MappingEntry[] {
  const h = c.hidden_size;
  return expectedClipTextParams(c).map((p): MappingEntry => {
    const base = { component: "text_encoder" as const, target: p.name, shape: p.shape, sourceShape: p.shape };
    if (style === "clip-hf") return { ...base, source: CLIP_HF_PREFIX + p.name };
    if (style === "clip-hf-legacy") return { ...base, source: CLIP_HF_PREFIX + p.name.replace(/^text_model\./, "") };
    let m: RegExpExecArray | null;
    if (p.name === "text_model.embeddings.token_embedding.weight") return { ...base, source: `${OPENCLIP_PREFIX}token_embedding.weight` };
    if (p.name === "text_model.embeddings.position_embedding.weight") return { ...base, source: `${OPENCLIP_PREFIX}positional_embedding` };
    if ((m = /^text_model\.final_layer_norm\.(weight|bias)$/.exec(p.name))) return { ...base, source: `${OPENCLIP_PREFIX}ln_final.${m[1]}` };
    if ((m = /^text_model\.encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)$/.exec(p.name))) {
      const part = "qkv".indexOf(m[2]!);
      const src = `${OPENCLIP_PREFIX}transformer.resblocks.${m[1]}.attn.in_proj_${m[3]}`;
      return { ...base, source: src, sourceShape: [3 * h, ...p.shape.slice(1)], rows: [part * h, (part + 1) * h] };
    }
    if ((m = /^text_model\.encoder\.layers\.(\d+)\.(self_attn\.out_proj|layer_norm1|layer_norm2|mlp\.fc1|mlp\.fc2)\.(weight|bias)$/.exec(p.name))) {
      return { ...base, source: `${OPENCLIP_PREFIX}transformer.resblocks.${m[1]}.${OPENCLIP_LAYER[m[2]!]}.${m[3]}` };
    }
    throw new Error(`internal: no OpenCLIP name for ${p.name}`);
  });
}

// ---- applying a mapping to a checkpoint ----------------------------------------------------------------------

export interface MappedTensor {
  target: string;
  source: string;
  dtype: TensorDType;
  /** diffusers shape. */
  shape: number[];
  sourceShape: number[];
  rows?: [number, number];
  reshape?: boolean;
}

export interface IgnoredTensor {
  name: string;
  reason: string;
}

export interface MappingResult {
  /** Per component, in the order of the mapping (diffusers registration order). */
  components: Partial<Record<MappedComponent, MappedTensor[]>>;
  /** Checkpoint tensors not used, with why (known extras and unknown ones). */
  ignored: IgnoredTensor[];
  /** Human-readable notes: grouped known extras, every unknown tensor. */
  warnings: string[];
}

/** Known extras of real checkpoints: (pattern, reason). Unknown leftovers become warnings too. */
export const KNOWN_EXTRA_TENSORS: readonly [RegExp, string][] = [
  [/^model_ema\./, "EMA copy of the UNet weights"],
  [/^(betas|alphas_cumprod|alphas_cumprod_prev|sqrt_alphas_cumprod|sqrt_one_minus_alphas_cumprod|log_one_minus_alphas_cumprod|sqrt_recip_alphas_cumprod|sqrt_recipm1_alphas_cumprod|posterior_variance|posterior_log_variance_clipped|posterior_mean_coef1|posterior_mean_coef2|logvar|lvlb_weights)$/, "LDM noise-schedule buffer"],
  [/(^|\.)position_ids$/, "position_ids buffer"],
  [/^cond_stage_model\.model\.(text_projection|logit_scale)$/, "OpenCLIP projection / logit scale (not used by the SD text encoder)"],
  [/^cond_stage_model\.model\.attn_mask$/, "OpenCLIP causal mask buffer"],
  [/^cond_stage_model\.model\.visual\./, "OpenCLIP vision tower (not used for text conditioning)"],
  [/^first_stage_model\.loss\./, "VAE training loss (LPIPS / discriminator)"],
  [/^low_scale_model\./, "x4 upscaler noise-augmentation schedule buffers"],
  [/^depth_model\./, "MiDaS depth estimator (not converted; pass a depth map)"],
];

export interface ApplyMappingOptions {
  /** Label for messages (file path). */
  file?: string;
  /** Extra (pattern, reason) rules checked before KNOWN_EXTRA_TENSORS. */
  ignore?: readonly [RegExp, string][];
}

function summarize(names: string[], max = 8): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")}, ... (${names.length - max} more)`;
}

/**
 * Resolves every mapping entry against `index`: NotFoundError for a missing source tensor, ShapeError for a
 * source of the wrong shape; tensors no entry uses are reported in `ignored`/`warnings`, never an error.
 */
export function applyMapping(index: TensorIndex, entries: readonly MappingEntry[], opts: ApplyMappingOptions = {}): MappingResult {
  const where = opts.file ? `${opts.file}: ` : "";
  const byName = indexByName(index);
  const used = new Set<string>();
  const components: Partial<Record<MappedComponent, MappedTensor[]>> = {};
  for (const e of entries) {
    const t = byName.get(e.source);
    if (!t) {
      throw new NotFoundError(`${where}tensor "${e.source}" not found in the checkpoint (needed for ${e.component} parameter "${e.target}")`);
    }
    if (!shapesEqual(t.shape, e.sourceShape)) {
      throw new ShapeError(
        `${where}tensor "${e.source}" (for ${e.component} "${e.target}") has shape ${formatShape(t.shape)}, expected ${formatShape(e.sourceShape)}`,
      );
    }
    used.add(e.source);
    const list = (components[e.component] ??= []);
    list.push({
      target: e.target, source: e.source, dtype: t.dtype, shape: e.shape, sourceShape: e.sourceShape,
      ...(e.rows ? { rows: e.rows } : {}), ...(e.reshape ? { reshape: true } : {}),
    });
  }
  const ignored: IgnoredTensor[] = [];
  const byReason = new Map<string, string[]>();
  const unknown: string[] = [];
  const rules = [...(opts.ignore ?? []), ...KNOWN_EXTRA_TENSORS];
  for (const t of index) {
    if (used.has(t.name)) continue;
    const rule = rules.find(([re]) => re.test(t.name));
    const reason = rule ? rule[1] : "unknown tensor";
    ignored.push({ name: t.name, reason });
    if (rule) {
      const l = byReason.get(reason) ?? [];
      l.push(t.name);
      byReason.set(reason, l);
    } else {
      unknown.push(t.name);
    }
  }
  const warnings: string[] = [];
  for (const [reason, names] of byReason) warnings.push(`${where}ignored ${names.length} tensor(s): ${reason} (${summarize(names)})`);
  for (const name of unknown) warnings.push(`${where}ignored unknown tensor "${name}"`);
  return { components, ignored, warnings };
}
