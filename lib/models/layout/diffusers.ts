/**
 * A diffusers pipeline folder: model_index.json → components → per-component config + weight files.
 *
 * Weight file choice per model component (first that exists):
 *   with `variant` v: <stem>.v.safetensors, <stem>.v.safetensors.index.json (sharded), <stem>.v.bin,
 *   <stem>.v.bin.index.json; then, with a warning, the same without the variant;
 *   stems: diffusion_pytorch_model (diffusers models), then model / pytorch_model (transformers models).
 * safetensors is preferred over .bin unless `preferBin` is set.
 */
import { statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FormatError, NotFoundError } from "../../errors.js";
import {
  componentKindForClass, configFileNameForKind, parseComponentConfig, readJsonFile, type ComponentConfig, type ComponentKind,
} from "../configs/index.js";
import { parseModelIndex, type ModelIndex } from "../configs/model_index.js";
import { isPlainObject } from "../configs/schema.js";

export type WeightFormat = "safetensors" | "bin";

export interface ResolvedComponent {
  name: string;
  library: string;
  className: string;
  /** Folder of the component. */
  path: string;
  /** Parsed config kind (null for tokenizers and unknown classes). */
  kind: ComponentKind | null;
  configPath: string | null;
  config: ComponentConfig | null;
  /** Raw JSON of the config (for fields the typed config does not keep). */
  rawConfig: Record<string, unknown> | null;
  /** Weight files in load order (one, or the shards of a sharded checkpoint); [] for weightless components. */
  weightFiles: string[];
  weightFormat: WeightFormat | null;
  /** The *.index.json of a sharded checkpoint. */
  shardIndexPath: string | null;
  /** tensor name → shard file (absolute), for sharded checkpoints. */
  weightMap: Record<string, string> | null;
  /** The variant actually used (null: the plain files). */
  variant: string | null;
  /** Other files of weightless components (tokenizer vocab/merges, ...). */
  files: string[];
}

export type FamilyHint =
  | "sd1"
  | "sd1-inpainting"
  | "sd-image-variations"
  | "sd2-base"
  | "sd2-v"
  | "sd2-inpainting"
  | "sd2-depth"
  | "sd-x4-upscaler"
  | "unknown";

export interface ResolvedDiffusersModel {
  kind: "diffusers";
  root: string;
  modelIndexPath: string;
  modelIndex: ModelIndex;
  pipelineClass: string;
  familyHint: FamilyHint;
  components: Record<string, ResolvedComponent>;
  warnings: string[];
}

export interface DiffusersFolderOptions {
  /** e.g. "fp16": prefer `*.fp16.safetensors`. */
  variant?: string;
  preferBin?: boolean;
  /** Components not to resolve (e.g. ["safety_checker"]). */
  skip?: readonly string[];
  /** Unknown config fields become warnings instead of errors. */
  lenientConfigs?: boolean;
}

const MODEL_KINDS: ReadonlySet<ComponentKind> = new Set(["unet", "vae", "clip_text", "clip_vision", "safety_checker"]);
const TOKENIZER_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "added_tokens.json"];

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readShardIndex(path: string): Record<string, string> {
  const raw = readJsonFile(path);
  if (!isPlainObject(raw) || !isPlainObject(raw.weight_map)) {
    throw new FormatError(`${path}: sharded checkpoint index must have a "weight_map" object`);
  }
  const dir = dirname(path);
  const out: Record<string, string> = {};
  for (const [name, f] of Object.entries(raw.weight_map)) {
    if (typeof f !== "string" || f.includes("/") || f.includes("\\") || f === "" || f === "." || f === "..") {
      throw new FormatError(`${path}: weight_map["${name}"] must be a file name in the same folder, got ${JSON.stringify(f)}`);
    }
    out[name] = join(dir, f);
  }
  return out;
}

interface WeightChoice {
  files: string[];
  format: WeightFormat;
  shardIndexPath: string | null;
  weightMap: Record<string, string> | null;
  variant: string | null;
}

/** Candidate file names for a folder, in preference order. */
export function weightFileCandidates(variant: string | null, preferBin = false): { file: string; format: WeightFormat; sharded: boolean }[] {
  const v = variant ? `.${variant}` : "";
  const out: { file: string; format: WeightFormat; sharded: boolean }[] = [];
  const formats: WeightFormat[] = preferBin ? ["bin", "safetensors"] : ["safetensors", "bin"];
  for (const fmt of formats) {
    for (const stem of fmt === "safetensors" ? ["diffusion_pytorch_model", "model"] : ["diffusion_pytorch_model", "pytorch_model"]) {
      out.push({ file: `${stem}${v}.${fmt}`, format: fmt, sharded: false });
      out.push({ file: `${stem}${v}.${fmt}.index.json`, format: fmt, sharded: true });
    }
  }
  return out;
}

function chooseWeights(dir: string, variant: string | null, preferBin: boolean): WeightChoice | null {
  for (const c of weightFileCandidates(variant, preferBin)) {
    const p = join(dir, c.file);
    if (!isFile(p)) continue;
    if (!c.sharded) return { files: [p], format: c.format, shardIndexPath: null, weightMap: null, variant };
    const weightMap = readShardIndex(p);
    const files = [...new Set(Object.values(weightMap))].sort();
    for (const f of files) {
      if (!isFile(f)) throw new NotFoundError(`${p}: shard ${basename(f)} listed in weight_map is missing from ${dir}`);
    }
    return { files, format: c.format, shardIndexPath: p, weightMap, variant };
  }
  return null;
}

function familyHint(mi: ModelIndex, comps: Record<string, ResolvedComponent>): FamilyHint {
  const unet = comps.unet?.config;
  const sched = comps.scheduler?.config;
  const ctx = unet?.kind === "unet" ? unet.config.cross_attention_dim : null;
  const ctxN = Array.isArray(ctx) ? ctx[0] : ctx;
  const sd2 = comps.text_encoder?.config?.kind === "clip_text" ? comps.text_encoder.config.config.hidden_act === "gelu" : ctxN === 1024;
  switch (mi.pipelineClass) {
    case "StableDiffusionUpscalePipeline":
      return "sd-x4-upscaler";
    case "StableDiffusionDepth2ImgPipeline":
      return "sd2-depth";
    case "StableDiffusionImageVariationPipeline":
      return "sd-image-variations";
    case "StableDiffusionInpaintPipeline":
    case "StableDiffusionInpaintPipelineLegacy":
      return sd2 ? "sd2-inpainting" : "sd1-inpainting";
    case "StableDiffusionPipeline":
    case "StableDiffusionImg2ImgPipeline": {
      if (unet?.kind === "unet" && unet.config.in_channels === 9) return sd2 ? "sd2-inpainting" : "sd1-inpainting";
      if (!sd2) return "sd1";
      const pt = sched?.kind === "scheduler" ? sched.config.config.prediction_type : undefined;
      return pt === "v_prediction" ? "sd2-v" : "sd2-base";
    }
    default:
      return "unknown";
  }
}

/** Resolves a diffusers folder. NotFoundError: missing model_index/component/weights; FormatError: bad JSON. */
export function resolveDiffusersFolder(folder: string, opts: DiffusersFolderOptions = {}): ResolvedDiffusersModel {
  const root = resolve(folder);
  const modelIndexPath = join(root, "model_index.json");
  if (!isFile(modelIndexPath)) {
    throw new NotFoundError(`${root}: not a diffusers pipeline folder (no model_index.json)`);
  }
  const modelIndex = parseModelIndex(readJsonFile(modelIndexPath), { file: modelIndexPath });
  const warnings: string[] = [];
  const components: Record<string, ResolvedComponent> = {};
  const skip = new Set(opts.skip ?? []);
  for (const [name, { library, className }] of Object.entries(modelIndex.components)) {
    if (skip.has(name)) continue;
    const path = join(root, name);
    if (!isDir(path)) {
      throw new NotFoundError(`${root}: component "${name}" (${className}) is listed in model_index.json but the folder ${path} is missing`);
    }
    const kind = componentKindForClass(className);
    let configPath: string | null = null;
    let config: ComponentConfig | null = null;
    let rawConfig: Record<string, unknown> | null = null;
    if (kind) {
      configPath = join(path, configFileNameForKind(kind));
      if (!isFile(configPath)) {
        throw new NotFoundError(`${root}: component "${name}" has no ${configFileNameForKind(kind)} (looked for ${configPath})`);
      }
      const raw = readJsonFile(configPath);
      config = parseComponentConfig(kind, raw, { file: configPath, strict: !opts.lenientConfigs, warnings });
      rawConfig = isPlainObject(raw) ? raw : null;
    } else if (!/Tokenizer/.test(className)) {
      warnings.push(`${root}: component "${name}" has class ${className}, which sd-native does not parse`);
      const cp = join(path, "config.json");
      if (isFile(cp)) configPath = cp;
    }
    let weights: WeightChoice | null = null;
    if (kind && MODEL_KINDS.has(kind)) {
      const v = opts.variant ?? null;
      weights = chooseWeights(path, v, opts.preferBin ?? false);
      if (!weights && v) {
        weights = chooseWeights(path, null, opts.preferBin ?? false);
        if (weights) warnings.push(`${root}: component "${name}" has no "${v}" variant weights; using ${basename(weights.files[0]!)}`);
      }
      if (!weights) {
        const tried = weightFileCandidates(v, opts.preferBin ?? false).map((c) => c.file);
        throw new NotFoundError(`${root}: component "${name}" has no weight file in ${path} (looked for ${tried.join(", ")})`);
      }
    }
    const files = /Tokenizer/.test(className) ? TOKENIZER_FILES.map((f) => join(path, f)).filter(isFile) : [];
    components[name] = {
      name, library, className, path, kind, configPath, config, rawConfig,
      weightFiles: weights?.files ?? [], weightFormat: weights?.format ?? null,
      shardIndexPath: weights?.shardIndexPath ?? null, weightMap: weights?.weightMap ?? null,
      variant: weights?.variant ?? null, files,
    };
  }
  return {
    kind: "diffusers", root, modelIndexPath, modelIndex, pipelineClass: modelIndex.pipelineClass,
    familyHint: familyHint(modelIndex, components), components, warnings,
  };
}

/** Convenience: the component or NotFoundError naming folder and component. */
export function requireComponent(model: ResolvedDiffusersModel, name: string): ResolvedComponent {
  const c = model.components[name];
  if (!c) throw new NotFoundError(`${model.root}: pipeline ${model.pipelineClass} has no component "${name}"`);
  return c;
}
