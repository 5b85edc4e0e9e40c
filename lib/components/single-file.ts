/**
 * Networks from one original CompVis / Stability checkpoint (`.safetensors`, `.ckpt`): the family and the
 * diffusers configs are inferred from tensor shapes (plus an accompanying `.yaml` or options), every original
 * tensor is mapped onto its diffusers name (OpenCLIP's fused in_proj split into q/k/v row ranges), and the
 * networks are built over the file's memory map — nothing is converted or copied on disk.
 */
import { readFileSync } from "node:fs";
import type { Context } from "../context.js";
import { resolveSingleFile } from "../models/layout/source.js";
import { convertSingleFile, type SingleFileConversion, type SingleFileOptions } from "../models/single_file/infer.js";
import type { MappedTensor } from "../models/single_file/mapping.js";
import type { TensorIndex } from "../models/tensor_index.js";
import { openWeightFile, type WeightFile } from "../weights.js";
import type { TextEncoder } from "./text-encoder.js";
import type { UNet } from "./unet.js";
import type { Vae } from "./vae.js";
import { buildNetwork, wrapNetwork, type WeightSource } from "./load.js";

export interface SingleFileComponents {
  unet: UNet;
  vae: Vae;
  /** null for checkpoints without a text encoder (image variations). */
  textEncoder: TextEncoder | null;
  /** What was inferred (family, configs, prediction type, the decisions taken) and the warnings. */
  conversion: SingleFileConversion;
}

function sources(file: WeightFile, mapped: MappedTensor[] | undefined): WeightSource[] {
  return (mapped ?? []).map((m) => ({ target: m.target, file, source: m.source, rows: m.rows }));
}

/** Loads the UNet, VAE and text encoder of a single-file checkpoint (see SingleFileOptions for overrides). */
export async function loadSingleFile(context: Context, path: string, options: SingleFileOptions = {}): Promise<SingleFileComponents> {
  const resolved = resolveSingleFile(path);
  const yaml = options.yaml ?? (resolved.yamlPath ? readFileSync(resolved.yamlPath, "utf8") : undefined);
  const file = await openWeightFile(resolved.path);
  const built: Array<{ dispose(): void }> = [];
  try {
    const index = file.tensors() as unknown as TensorIndex;
    const conversion = convertSingleFile(index, { ...options, yaml, file: resolved.path });
    const { model, mapping } = conversion;
    const unetNative = await buildNetwork(context, "unet", model.unet, sources(file, mapping.components.unet));
    const unet = wrapNetwork(context, "unet", unetNative, model.unet as unknown as Record<string, unknown>) as UNet;
    built.push(unet);
    const vaeNative = await buildNetwork(context, "vae", model.vae, sources(file, mapping.components.vae));
    const vae = wrapNetwork(context, "vae", vaeNative, model.vae as unknown as Record<string, unknown>) as Vae;
    built.push(vae);
    let textEncoder: TextEncoder | null = null;
    if (model.textEncoder) {
      const teNative = await buildNetwork(context, "text_encoder", model.textEncoder, sources(file, mapping.components.text_encoder));
      textEncoder = wrapNetwork(context, "text_encoder", teNative, model.textEncoder as unknown as Record<string, unknown>) as TextEncoder;
    }
    return { unet, vae, textEncoder, conversion };
  } catch (err) {
    for (const b of built) b.dispose();
    throw err;
  } finally {
    file.dispose();  // the networks keep the mapping alive
  }
}
