/** AutoencoderKL config.json (diffusers 0.27 defaults; later versions' quant-conv switches accepted). */
import { FormatError } from "../../errors.js";
import { checkClassName, DIFFUSERS_META_KEYS } from "./unet.js";
import { bool, field, listOf, nullable, num, oneOf, parseFields, posInt, required, scalarOrList, str, type Parsed, type ParseContext } from "./schema.js";

export const VAE_SPEC = {
  in_channels: field(posInt, 3),
  out_channels: field(posInt, 3),
  down_block_types: field(listOf(oneOf("DownEncoderBlock2D"), { minLength: 1 }), () => ["DownEncoderBlock2D"] as "DownEncoderBlock2D"[]),
  up_block_types: field(listOf(oneOf("UpDecoderBlock2D"), { minLength: 1 }), () => ["UpDecoderBlock2D"] as "UpDecoderBlock2D"[]),
  block_out_channels: required(listOf(posInt, { minLength: 1 })),
  layers_per_block: field(posInt, 1),
  act_fn: field(str, "silu"),
  latent_channels: required(posInt),
  norm_num_groups: field(posInt, 32),
  sample_size: field(scalarOrList(posInt), 32 as number | number[]),
  scaling_factor: field(num, 0.18215),
  shift_factor: field(nullable(num), null as number | null),
  latents_mean: field(nullable(listOf(num)), null as number[] | null),
  latents_std: field(nullable(listOf(num)), null as number[] | null),
  force_upcast: field(bool, true),
  use_quant_conv: field(bool, true),
  use_post_quant_conv: field(bool, true),
  mid_block_add_attention: field(bool, true),
};

export type AutoencoderKLConfig = Parsed<typeof VAE_SPEC>;

export function parseVaeConfig(raw: unknown, ctx: ParseContext): AutoencoderKLConfig {
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
    checkClassName(raw as Record<string, unknown>, ["AutoencoderKL"], ctx);
  }
  const c = parseFields(raw, VAE_SPEC, ctx, DIFFUSERS_META_KEYS);
  const n = c.block_out_channels.length;
  if (c.down_block_types.length !== n) {
    throw new FormatError(`${ctx.file}: field "down_block_types" has ${c.down_block_types.length} entries but "block_out_channels" has ${n}`);
  }
  if (c.up_block_types.length !== n) {
    throw new FormatError(`${ctx.file}: field "up_block_types" has ${c.up_block_types.length} entries but "block_out_channels" has ${n}`);
  }
  return c;
}

/** Spatial factor between image and latent (2^(levels-1): 8 for SD, 4 for the x4 upscaler's VAE). */
export function vaeScaleFactor(c: AutoencoderKLConfig): number {
  return 2 ** (c.block_out_channels.length - 1);
}
