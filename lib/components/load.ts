/**
 * Loading networks from files: a diffusers component folder (config.json + weights, sharded or not,
 * safetensors or .bin, optional variant), or explicit weight sources (a single-file checkpoint mapped
 * onto diffusers names by lib/models/single_file). Weights are memory-mapped, never copied on the CPU.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context.js";
import { FormatError, NotFoundError, fromNativeError } from "../errors.js";
import { loadNative, type NativeModelHandle } from "../native.js";
import { weightFileCandidates } from "../models/layout/diffusers.js";
import { openWeightFile, type WeightFile } from "../weights.js";
import { ImageEncoder } from "./image-encoder.js";
import { TextEncoder } from "./text-encoder.js";
import { UNet } from "./unet.js";
import { Vae } from "./vae.js";

export type NetworkKind = "text_encoder" | "image_encoder" | "unet" | "vae";

const KIND_CODE: Record<NetworkKind, number> = { text_encoder: 0, image_encoder: 1, unet: 2, vae: 3 };

/** One diffusers-named weight taken from a file (rows: a slice of a fused tensor). */
export interface WeightSource {
  target: string;
  file: WeightFile;
  source: string;
  rows?: [number, number];
}

const WEIGHT_DTYPES = new Set(["F32", "F16", "BF16"]);

/** Every F32/F16/BF16 tensor of the files under its own name (a diffusers folder's weights). */
export function sourcesFromFiles(files: WeightFile[]): WeightSource[] {
  const out: WeightSource[] = [];
  for (const file of files) {
    for (const t of file.tensors()) if (WEIGHT_DTYPES.has(t.dtype)) out.push({ target: t.name, file, source: t.name });
  }
  return out;
}

/** @internal Builds a native network from a config object and weight sources. */
export async function buildNetwork(context: Context, kind: NetworkKind, config: object, sources: WeightSource[]): Promise<NativeModelHandle> {
  const native = loadNative();
  const map = new native.NativeWeightMap();
  try {
    for (const s of sources) {
      try {
        if (s.rows) map.add(s.target, s.file.nativeHandle(), s.source, s.rows[0], s.rows[1]);
        else map.add(s.target, s.file.nativeHandle(), s.source);
      } catch (err) {
        throw fromNativeError(err);
      }
    }
    const handle = context.nativeHandle();
    return await context.run(undefined, () => handle.createModel(KIND_CODE[kind], JSON.stringify(config), map));
  } finally {
    map.dispose();
  }
}

/** @internal Wraps a native network in its typed component. */
export function wrapNetwork(context: Context, kind: NetworkKind, native: NativeModelHandle, config: Record<string, unknown>): TextEncoder | ImageEncoder | UNet | Vae {
  switch (kind) {
    case "text_encoder":
      return new TextEncoder(context, native);
    case "image_encoder":
      return new ImageEncoder(context, native);
    case "unet":
      return new UNet(context, native);
    case "vae":
      return new Vae(context, native, typeof config.scaling_factor === "number" ? config.scaling_factor : 0.18215);
  }
}

export interface ComponentFolderOptions {
  /** Weight variant, e.g. "fp16" (falls back to the plain files when absent). */
  variant?: string;
  /** Prefer .bin over .safetensors when both exist. */
  preferBin?: boolean;
}

/** The weight files of a diffusers component folder, in load order. */
export function componentWeightFiles(dir: string, options: ComponentFolderOptions = {}): string[] {
  const tryVariant = (variant: string | null): string[] | null => {
    for (const c of weightFileCandidates(variant, options.preferBin ?? false)) {
      const p = join(dir, c.file);
      if (!existsSync(p) || !statSync(p).isFile()) continue;
      if (!c.sharded) return [p];
      let index: { weight_map?: Record<string, string> };
      try {
        index = JSON.parse(readFileSync(p, "utf8"));
      } catch (err) {
        throw new FormatError(`${p}: unreadable shard index (${(err as Error).message})`, { cause: err });
      }
      if (!index.weight_map || typeof index.weight_map !== "object") throw new FormatError(`${p}: no weight_map`);
      const files = [...new Set(Object.values(index.weight_map))].sort().map((f) => join(dir, f));
      for (const f of files) if (!existsSync(f)) throw new NotFoundError(`${p}: shard ${f} is missing`);
      return files;
    }
    return null;
  };
  const found = (options.variant ? tryVariant(options.variant) : null) ?? tryVariant(null);
  if (!found) throw new NotFoundError(`no weight file in ${dir} (looked for diffusion_pytorch_model / model .safetensors / .bin${options.variant ? `, variant ${options.variant}` : ""})`);
  return found;
}

function readConfig(dir: string): Record<string, unknown> {
  const p = join(dir, "config.json");
  if (!existsSync(p)) throw new NotFoundError(`missing ${p}`);
  try {
    return JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new FormatError(`${p}: unreadable JSON (${(err as Error).message})`, { cause: err });
  }
}

async function loadFromFolder(context: Context, kind: NetworkKind, dir: string, options: ComponentFolderOptions) {
  if (!existsSync(dir)) throw new NotFoundError(`component folder ${dir} does not exist`);
  const config = readConfig(dir);
  const files: WeightFile[] = [];
  try {
    for (const p of componentWeightFiles(dir, options)) files.push(await openWeightFile(p));
    const native = await buildNetwork(context, kind, config, sourcesFromFiles(files));
    return wrapNetwork(context, kind, native, config);
  } finally {
    for (const f of files) f.dispose();
  }
}

/** Loads a CLIP text encoder from a diffusers `text_encoder/` folder. */
export async function loadTextEncoder(context: Context, dir: string, options: ComponentFolderOptions = {}): Promise<TextEncoder> {
  return (await loadFromFolder(context, "text_encoder", dir, options)) as TextEncoder;
}

/** Loads a CLIP vision encoder from an `image_encoder/` folder (or a `safety_checker/` folder's vision tower). */
export async function loadImageEncoder(context: Context, dir: string, options: ComponentFolderOptions = {}): Promise<ImageEncoder> {
  return (await loadFromFolder(context, "image_encoder", dir, options)) as ImageEncoder;
}

/** Loads a UNet2DConditionModel from a `unet/` folder. */
export async function loadUNet(context: Context, dir: string, options: ComponentFolderOptions = {}): Promise<UNet> {
  return (await loadFromFolder(context, "unet", dir, options)) as UNet;
}

/** Loads an AutoencoderKL from a `vae/` folder. */
export async function loadVae(context: Context, dir: string, options: ComponentFolderOptions = {}): Promise<Vae> {
  return (await loadFromFolder(context, "vae", dir, options)) as Vae;
}
