/** Typed config parsing for every component of a Stable Diffusion pipeline folder. */
import { readFileSync } from "node:fs";
import { FormatError, NotFoundError } from "../../errors.js";
import { parseClipTextConfig, parseClipVisionConfig, parseSafetyCheckerConfig, type ClipTextConfig, type ClipVisionConfig, type SafetyCheckerConfig } from "./clip.js";
import { parseImageProcessorConfig, type ImageProcessorConfig } from "./image_processor.js";
import { parseModelIndex, type ModelIndex } from "./model_index.js";
import type { ParseContext } from "./schema.js";
import { parseSchedulerConfig, type RawSchedulerConfig } from "./scheduler.js";
import { parseUNetConfig, type UNet2DConditionConfig } from "./unet.js";
import { parseVaeConfig, type AutoencoderKLConfig } from "./vae.js";

export * from "./clip.js";
export * from "./image_processor.js";
export * from "./model_index.js";
export * from "./scheduler.js";
export * from "./unet.js";
export * from "./vae.js";
export type { ParseContext } from "./schema.js";

/** Reads and parses a JSON file: NotFoundError if it does not exist, FormatError (with the path) if unreadable. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`${path}: file not found`, { cause: e });
    throw new FormatError(`${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

export type ComponentConfig =
  | { kind: "unet"; config: UNet2DConditionConfig }
  | { kind: "vae"; config: AutoencoderKLConfig }
  | { kind: "clip_text"; config: ClipTextConfig }
  | { kind: "clip_vision"; config: ClipVisionConfig }
  | { kind: "safety_checker"; config: SafetyCheckerConfig }
  | { kind: "image_processor"; config: ImageProcessorConfig }
  | { kind: "scheduler"; config: RawSchedulerConfig };

export type ComponentKind = ComponentConfig["kind"];

const CLASS_KINDS: Record<string, ComponentKind> = {
  UNet2DConditionModel: "unet",
  AutoencoderKL: "vae",
  CLIPTextModel: "clip_text",
  CLIPTextModelWithProjection: "clip_text",
  CLIPVisionModelWithProjection: "clip_vision",
  CLIPVisionModel: "clip_vision",
  StableDiffusionSafetyChecker: "safety_checker",
  CLIPImageProcessor: "image_processor",
  CLIPFeatureExtractor: "image_processor",
  DPTImageProcessor: "image_processor",
  DPTFeatureExtractor: "image_processor",
};

/** The config kind for a model_index class name, or null (tokenizers, depth estimator, unknown classes). */
export function componentKindForClass(className: string): ComponentKind | null {
  if (className in CLASS_KINDS) return CLASS_KINDS[className]!;
  if (/Scheduler$/.test(className)) return "scheduler";
  return null;
}

/** File name of a component's config inside its folder. */
export function configFileNameForKind(kind: ComponentKind): string {
  switch (kind) {
    case "scheduler":
      return "scheduler_config.json";
    case "image_processor":
      return "preprocessor_config.json";
    default:
      return "config.json";
  }
}

export function parseComponentConfig(kind: ComponentKind, raw: unknown, ctx: ParseContext): ComponentConfig {
  switch (kind) {
    case "unet":
      return { kind, config: parseUNetConfig(raw, ctx) };
    case "vae":
      return { kind, config: parseVaeConfig(raw, ctx) };
    case "clip_text":
      return { kind, config: parseClipTextConfig(raw, ctx) };
    case "clip_vision":
      return { kind, config: parseClipVisionConfig(raw, ctx) };
    case "safety_checker":
      return { kind, config: parseSafetyCheckerConfig(raw, ctx) };
    case "image_processor":
      return { kind, config: parseImageProcessorConfig(raw, ctx) };
    case "scheduler":
      return { kind, config: parseSchedulerConfig(raw, ctx) };
  }
}

/** Reads `path` and parses it as `kind`. */
export function loadComponentConfig(kind: ComponentKind, path: string, opts: { strict?: boolean; warnings?: string[] } = {}): ComponentConfig {
  return parseComponentConfig(kind, readJsonFile(path), { file: path, ...opts });
}

export function loadModelIndex(path: string): ModelIndex {
  return parseModelIndex(readJsonFile(path), { file: path });
}
