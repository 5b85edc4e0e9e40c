/**
 * UNet2DConditionModel config.json (diffusers). Field names and defaults follow diffusers 0.27's
 * `UNet2DConditionModel.__init__`; old configs (diffusers 0.2 era) omit most fields and get those defaults.
 */
import { FormatError } from "../../errors.js";
import {
  bool, field, int, listOf, nullable, num, oneOf, parseFields, posInt, required, scalarOrList, str,
  type Parsed, type ParseContext,
} from "./schema.js";

export const UNET_DOWN_BLOCK_TYPES = [
  "CrossAttnDownBlock2D", "DownBlock2D", "SimpleCrossAttnDownBlock2D", "ResnetDownsampleBlock2D", "AttnDownBlock2D",
  "KDownBlock2D", "KCrossAttnDownBlock2D", "AttnSkipDownBlock2D", "SkipDownBlock2D", "AttnDownEncoderBlock2D",
  "DownEncoderBlock2D",
] as const;
export const UNET_UP_BLOCK_TYPES = [
  "CrossAttnUpBlock2D", "UpBlock2D", "SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D", "AttnUpBlock2D",
  "KUpBlock2D", "KCrossAttnUpBlock2D", "AttnSkipUpBlock2D", "SkipUpBlock2D", "AttnUpDecoderBlock2D", "UpDecoderBlock2D",
] as const;
export const UNET_MID_BLOCK_TYPES = ["UNetMidBlock2DCrossAttn", "UNetMidBlock2DSimpleCrossAttn", "UNetMidBlock2D"] as const;

export type UNetDownBlockType = (typeof UNET_DOWN_BLOCK_TYPES)[number];
export type UNetUpBlockType = (typeof UNET_UP_BLOCK_TYPES)[number];
export type UNetMidBlockType = (typeof UNET_MID_BLOCK_TYPES)[number];

const intOrIntList = scalarOrList(posInt);
const transformerLayers = scalarOrList(scalarOrList(posInt));

export const UNET_SPEC = {
  sample_size: field(nullable(scalarOrList(posInt)), null),
  in_channels: required(posInt),
  out_channels: required(posInt),
  center_input_sample: field(bool, false),
  flip_sin_to_cos: field(bool, true),
  freq_shift: field(num, 0),
  down_block_types: required(listOf(oneOf(...UNET_DOWN_BLOCK_TYPES), { minLength: 1 })),
  mid_block_type: field(nullable(oneOf(...UNET_MID_BLOCK_TYPES)), "UNetMidBlock2DCrossAttn" as UNetMidBlockType | null),
  up_block_types: required(listOf(oneOf(...UNET_UP_BLOCK_TYPES), { minLength: 1 })),
  only_cross_attention: field(scalarOrList(bool), false as boolean | boolean[]),
  block_out_channels: required(listOf(posInt, { minLength: 1 })),
  layers_per_block: field(intOrIntList, 2 as number | number[]),
  downsample_padding: field(int, 1),
  mid_block_scale_factor: field(num, 1),
  dropout: field(num, 0),
  act_fn: field(str, "silu"),
  norm_num_groups: field(nullable(posInt), 32 as number | null),
  norm_eps: field(num, 1e-5),
  cross_attention_dim: field(intOrIntList, 1280 as number | number[]),
  transformer_layers_per_block: field(transformerLayers, 1 as number | (number | number[])[]),
  reverse_transformer_layers_per_block: field(nullable(listOf(scalarOrList(posInt))), null as (number | number[])[] | null),
  encoder_hid_dim: field(nullable(posInt), null as number | null),
  encoder_hid_dim_type: field(nullable(str), null as string | null),
  attention_head_dim: field(intOrIntList, 8 as number | number[]),
  num_attention_heads: field(nullable(intOrIntList), null as number | number[] | null),
  dual_cross_attention: field(bool, false),
  use_linear_projection: field(bool, false),
  class_embed_type: field(nullable(oneOf("timestep", "identity", "projection", "simple_projection")), null as
    | "timestep" | "identity" | "projection" | "simple_projection" | null),
  addition_embed_type: field(nullable(str), null as string | null),
  addition_time_embed_dim: field(nullable(posInt), null as number | null),
  num_class_embeds: field(nullable(posInt), null as number | null),
  upcast_attention: field(bool, false),
  resnet_time_scale_shift: field(oneOf("default", "scale_shift"), "default" as "default" | "scale_shift"),
  resnet_skip_time_act: field(bool, false),
  resnet_out_scale_factor: field(num, 1.0),
  time_embedding_type: field(oneOf("positional", "fourier"), "positional" as "positional" | "fourier"),
  time_embedding_dim: field(nullable(posInt), null as number | null),
  time_embedding_act_fn: field(nullable(str), null as string | null),
  timestep_post_act: field(nullable(str), null as string | null),
  time_cond_proj_dim: field(nullable(posInt), null as number | null),
  conv_in_kernel: field(posInt, 3),
  conv_out_kernel: field(posInt, 3),
  projection_class_embeddings_input_dim: field(nullable(posInt), null as number | null),
  attention_type: field(str, "default"),
  class_embeddings_concat: field(bool, false),
  mid_block_only_cross_attention: field(nullable(bool), null as boolean | null),
  cross_attention_norm: field(nullable(str), null as string | null),
  addition_embed_type_num_heads: field(posInt, 64),
};

export type UNet2DConditionConfig = Parsed<typeof UNET_SPEC>;

/** Keys accepted and ignored (diffusers bookkeeping). */
export const DIFFUSERS_META_KEYS: ReadonlySet<string> = new Set([
  "_class_name", "_diffusers_version", "_name_or_path", "_use_default_values", "_commit_hash",
]);

export function checkClassName(raw: Record<string, unknown>, expected: readonly string[], ctx: ParseContext): void {
  const c = raw._class_name;
  if (c === undefined) return;
  if (typeof c !== "string" || !expected.includes(c)) {
    throw new FormatError(`${ctx.file}: field "_class_name" must be ${expected.map((s) => JSON.stringify(s)).join(" or ")}, got ${JSON.stringify(c)}`);
  }
}

function checkPerBlock(ctx: ParseContext, name: string, v: unknown, n: number): void {
  if (Array.isArray(v) && v.length !== n) {
    throw new FormatError(`${ctx.file}: field "${name}" has ${v.length} entries but there are ${n} down blocks`);
  }
}

/** Parses and validates a UNet2DConditionModel config object. */
export function parseUNetConfig(raw: unknown, ctx: ParseContext): UNet2DConditionConfig {
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    checkClassName(raw as Record<string, unknown>, ["UNet2DConditionModel"], ctx);
  }
  const c = parseFields(raw, UNET_SPEC, ctx, DIFFUSERS_META_KEYS);
  const n = c.down_block_types.length;
  if (c.up_block_types.length !== n) {
    throw new FormatError(`${ctx.file}: field "up_block_types" has ${c.up_block_types.length} entries but "down_block_types" has ${n}`);
  }
  if (c.block_out_channels.length !== n) {
    throw new FormatError(`${ctx.file}: field "block_out_channels" has ${c.block_out_channels.length} entries but "down_block_types" has ${n}`);
  }
  for (const k of ["only_cross_attention", "layers_per_block", "cross_attention_dim", "transformer_layers_per_block", "attention_head_dim", "num_attention_heads"] as const) {
    checkPerBlock(ctx, k, c[k], n);
  }
  return c;
}

// ---- derived quantities -----------------------------------------------------------------------------------

function perLevel<T>(v: T | T[], n: number): T[] {
  return Array.isArray(v) ? v.slice() : Array.from({ length: n }, () => v);
}

/**
 * Number of attention heads per down level (diffusers: `num_attention_heads or attention_head_dim`; in SD
 * configs `attention_head_dim` historically holds the number of heads). The mid block uses the last entry,
 * up blocks the reversed list.
 */
export function unetHeadsPerLevel(c: UNet2DConditionConfig): number[] {
  return perLevel(c.num_attention_heads ?? c.attention_head_dim, c.block_out_channels.length);
}

export function unetLayersPerLevel(c: UNet2DConditionConfig): number[] {
  return perLevel(c.layers_per_block, c.block_out_channels.length);
}

export function unetCrossAttentionDimPerLevel(c: UNet2DConditionConfig): number[] {
  return perLevel(c.cross_attention_dim, c.block_out_channels.length);
}

export function unetOnlyCrossAttentionPerLevel(c: UNet2DConditionConfig): boolean[] {
  return perLevel(c.only_cross_attention, c.block_out_channels.length);
}

/** transformer depth per down level (a nested list entry = per-layer depths; SD uses 1 everywhere). */
export function unetTransformerLayersPerLevel(c: UNet2DConditionConfig): (number | number[])[] {
  return perLevel(c.transformer_layers_per_block, c.block_out_channels.length);
}

/** Time embedding width (block_out_channels[0] * 4 unless time_embedding_dim is set). */
export function unetTimeEmbedDim(c: UNet2DConditionConfig): number {
  return c.time_embedding_dim ?? c.block_out_channels[0]! * 4;
}
