/**
 * Loading a pipeline: a diffusers folder, a Hugging Face cache repo id or a single checkpoint file →
 * components → the pipeline class model_index.json names (or the single file's family implies).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ImageEncoder } from "../components/image-encoder.js";
import { buildNetwork, loadImageEncoder, loadTextEncoder, loadUNet, loadVae, sourcesFromFiles, wrapNetwork, type WeightSource } from "../components/load.js";
import type { TextEncoder } from "../components/text-encoder.js";
import type { UNet } from "../components/unet.js";
import type { Vae } from "../components/vae.js";
import { getBackendInfo } from "../backend-info.js";
import { createContext, type Context } from "../context.js";
import { InvalidArgumentError, NotFoundError, UnsupportedError } from "../errors.js";
import { clipImageProcessor } from "../images/index.js";
import { readJsonFile } from "../models/configs/index.js";
import { parseVaeConfig } from "../models/configs/vae.js";
import { resolveModelSource, type ResolvedDiffusersModel, type ResolvedSingleFile } from "../models/layout/index.js";
import { inspectSingleFile } from "../models/single_file/load.js";
import { buildVaeMapping, applyMapping } from "../models/single_file/mapping.js";
import { SafetyChecker } from "../safety/index.js";
import { createScheduler, createSchedulerFromConfig, type AnyScheduler } from "../schedulers/factory.js";
import type { ClipTokenizer } from "../tokenizer/clip-tokenizer.js";
import { loadClipTokenizer, standardClipTokenizer } from "../tokenizer/load.js";
import { openWeightFile, type WeightFile } from "../weights.js";
import { SAFETY_OFF_WARNING, type FeatureExtractor, type PipelineParts } from "./base.js";
import { StableDiffusionDepth2ImgPipeline } from "./depth2img.js";
import { StableDiffusionImageVariationPipeline } from "./image-variation.js";
import { StableDiffusionInpaintPipeline } from "./inpaint.js";
import { StableDiffusionImg2ImgPipeline, StableDiffusionPipeline } from "./stable-diffusion.js";
import type { LoadPipelineOptions, PipelineClassName } from "./types.js";
import { StableDiffusionUpscalePipeline } from "./upscale.js";

export type AnyPipeline =
  | StableDiffusionPipeline
  | StableDiffusionImg2ImgPipeline
  | StableDiffusionInpaintPipeline
  | StableDiffusionImageVariationPipeline
  | StableDiffusionDepth2ImgPipeline
  | StableDiffusionUpscalePipeline;

const CLASSES: Record<PipelineClassName, new (parts: PipelineParts) => AnyPipeline> = {
  StableDiffusionPipeline,
  StableDiffusionImg2ImgPipeline,
  StableDiffusionInpaintPipeline,
  StableDiffusionImageVariationPipeline,
  StableDiffusionDepth2ImgPipeline,
  StableDiffusionUpscalePipeline,
};

/** model_index classes → the class sd-native returns. */
const CLASS_ALIASES: Record<string, PipelineClassName> = {
  StableDiffusionPipeline: "StableDiffusionPipeline",
  StableDiffusionImg2ImgPipeline: "StableDiffusionImg2ImgPipeline",
  StableDiffusionInpaintPipeline: "StableDiffusionInpaintPipeline",
  StableDiffusionInpaintPipelineLegacy: "StableDiffusionInpaintPipeline",
  StableDiffusionImageVariationPipeline: "StableDiffusionImageVariationPipeline",
  StableDiffusionDepth2ImgPipeline: "StableDiffusionDepth2ImgPipeline",
  StableDiffusionUpscalePipeline: "StableDiffusionUpscalePipeline",
};

const CPU_ONLY_REASON =
  "the CUDA network kernels have not been verified on a GPU yet, so \"auto\" runs the networks on the CPU (pass device: \"cuda\" to opt in)";

let safetyWarningPrinted = false;

/**
 * Loads a pipeline and returns the class its model calls for: model_index.json's `_class_name` for a
 * diffusers folder or cached repo, the inferred family for a single checkpoint file (SD1/SD2 → text-to-image,
 * inpainting, depth, x4 upscaler). Unknown paths / repo ids not in the cache → NotFoundError; a folder
 * missing a component → NotFoundError naming it; other pipeline classes (SDXL, ...) → UnsupportedError.
 */
export async function loadPipeline(source: string, options: LoadPipelineOptions = {}): Promise<AnyPipeline> {
  const parts = await loadPipelineParts(source, options, null);
  const cls = CLASS_ALIASES[parts.modelPipelineClass]!;
  return new CLASSES[cls](parts);
}

function checkOptions(o: LoadPipelineOptions): void {
  if (o === null || typeof o !== "object") throw new InvalidArgumentError("options must be an object");
  const device = o.device ?? "auto";
  if (!["auto", "cpu", "cuda"].includes(device)) throw new InvalidArgumentError(`device must be "auto", "cpu" or "cuda", got ${JSON.stringify(device)}`);
  if (o.safetyChecker !== undefined && typeof o.safetyChecker !== "boolean") throw new InvalidArgumentError("safetyChecker must be true or false");
  if (o.vae !== undefined && (typeof o.vae !== "string" || o.vae === "")) throw new InvalidArgumentError("vae must be a path");
  if (o.vaeTiling !== undefined && typeof o.vaeTiling !== "boolean") throw new InvalidArgumentError("vaeTiling must be true or false");
  if (o.dtype !== undefined && o.dtype !== "float16" && o.dtype !== "float32") throw new InvalidArgumentError(`dtype must be "float16" or "float32", got ${JSON.stringify(o.dtype)}`);
  if (o.scheduler !== undefined && typeof o.scheduler !== "string" && (typeof o.scheduler !== "object" || o.scheduler === null || Array.isArray(o.scheduler))) {
    throw new InvalidArgumentError("scheduler must be a scheduler name or a scheduler config object");
  }
}

/** Default scheduler configs per family for single-file checkpoints (the HF repos' scheduler_config.json). */
function familyScheduler(family: string, prediction: string): { scheduler: Record<string, unknown>; lowRes: Record<string, unknown> | null } {
  const sd = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear", set_alpha_to_one: false, steps_offset: 1, clip_sample: false };
  if (family === "sd-x4-upscaler") {
    return {
      scheduler: { _class_name: "DDIMScheduler", ...sd, beta_start: 0.0001, beta_end: 0.02, prediction_type: prediction },
      lowRes: { _class_name: "DDPMScheduler", num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: "scaled_linear", clip_sample: false, variance_type: "fixed_small" },
    };
  }
  if (prediction === "v_prediction") return { scheduler: { _class_name: "DDIMScheduler", ...sd, prediction_type: prediction }, lowRes: null };
  return { scheduler: { _class_name: "PNDMScheduler", ...sd, skip_prk_steps: true, prediction_type: prediction }, lowRes: null };
}

/** The model's scheduler (raw config) with the load options applied; returns it and the base config. */
function schedulerFor(raw: Record<string, unknown>, o: LoadPipelineOptions): { scheduler: AnyScheduler; base: Record<string, unknown> } {
  let scheduler: AnyScheduler;
  let base = raw;
  if (o.scheduler === undefined) scheduler = createSchedulerFromConfig(raw, o.schedulerOptions);
  else if (typeof o.scheduler === "string") scheduler = createScheduler(o.scheduler, { config: raw, overrides: o.schedulerOptions });
  else {
    scheduler = createSchedulerFromConfig(o.scheduler, o.schedulerOptions);
    base = { ...o.scheduler };
  }
  return { scheduler, base: { ...base, ...scheduler.toJSON() } };
}

/** The UNet input channels each class can work with. */
const UNET_CHANNELS: Record<PipelineClassName, number[]> = {
  StableDiffusionPipeline: [4],
  StableDiffusionImg2ImgPipeline: [4],
  StableDiffusionInpaintPipeline: [9, 4],
  StableDiffusionImageVariationPipeline: [4],
  StableDiffusionDepth2ImgPipeline: [5],
  StableDiffusionUpscalePipeline: [7],
};

function checkCompatible(cls: PipelineClassName, inChannels: unknown, where: string, modelClass: string): void {
  if (typeof inChannels === "number" && !UNET_CHANNELS[cls].includes(inChannels)) {
    throw new UnsupportedError(
      `${where}: ${cls} needs a UNet with ${UNET_CHANNELS[cls].join(" or ")} input channels; this model (${modelClass}) has ${inChannels}`,
    );
  }
}

/** A VAE from a diffusers `vae/` folder or a single weight file (diffusers or original LDM names). */
async function loadVaeOverride(ctx: Context, path: string, fallbackConfig: Record<string, unknown> | null, variant?: string): Promise<Vae> {
  if (!existsSync(path)) throw new NotFoundError(`vae override ${path} does not exist`);
  if (statSync(path).isDirectory()) return loadVae(ctx, path, { variant });
  if (!fallbackConfig) throw new UnsupportedError(`a single-file VAE (${path}) needs the model's vae config`);
  const file = await openWeightFile(path);
  try {
    const names = file.tensors().map((t) => t.name);
    let sources: WeightSource[];
    if (names.some((n) => n.startsWith("decoder.up_blocks."))) sources = sourcesFromFiles([file]);
    else {
      const prefix = names.some((n) => n.startsWith("first_stage_model.")) ? "first_stage_model." : "";
      const cfg = parseVaeConfig(fallbackConfig, { file: path });
      const mapping = applyMapping(file.tensors().map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })) as never, buildVaeMapping(cfg, prefix), { file: path });
      sources = (mapping.components.vae ?? []).map((m) => ({ target: m.target, file, source: m.source, ...(m.rows ? { rows: m.rows } : {}) }));
    }
    const native = await buildNetwork(ctx, "vae", fallbackConfig, sources);
    return wrapNetwork(ctx, "vae", native, fallbackConfig) as Vae;
  } finally {
    file.dispose();
  }
}

/** @internal Loads components; `want` = the class asked for (null: the model's own). */
export async function loadPipelineParts(source: string, options: LoadPipelineOptions, want: PipelineClassName | null): Promise<PipelineParts> {
  checkOptions(options);
  if (typeof source !== "string" || source === "") throw new InvalidArgumentError("model source must be a path or an org/name repo id");
  const resolved = resolveModelSource(source, {
    ...(options.variant ? { variant: options.variant } : {}),
    ...(options.revision ? { revision: options.revision } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.safetyChecker === false ? { skip: ["safety_checker"] } : {}),
    lenientConfigs: true,
  });
  const modelClass = resolved.kind === "diffusers" ? resolved.pipelineClass : null;
  if (modelClass !== null && !(modelClass in CLASS_ALIASES)) {
    throw new UnsupportedError(`${source}: pipeline class ${modelClass} is not supported (supported: ${Object.keys(CLASS_ALIASES).join(", ")})`);
  }
  const ownsContext = !options.context;
  // "cuda" is an explicit opt-in: a CUDA context without CPU fallback (ERR_BACKEND when no GPU is usable).
  const wantCuda = (options.device ?? "auto") === "cuda";
  const context =
    options.context ??
    (await createContext({
      device: wantCuda ? "cuda" : "cpu",
      ...(wantCuda ? { allowFallback: false } : {}),
      ...(options.dtype ? { weightPrecision: options.dtype === "float32" ? ("f32" as const) : ("f16" as const) } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    }));
  const owned: { dispose(): void }[] = [];
  try {
    const parts =
      resolved.kind === "diffusers"
        ? await fromFolder(context, resolved, options, want, owned)
        : await fromSingleFile(context, resolved, options, want, owned);
    parts.ownsContext = ownsContext;
    parts.source = source;
    if ((options.device ?? "auto") === "auto") {
      let cudaUsable = false;
      try {
        cudaUsable = getBackendInfo().cuda.usable;
      } catch {
        cudaUsable = false;
      }
      if (cudaUsable) parts.loadWarnings.push(`device "auto": a CUDA device is present but ${CPU_ONLY_REASON}; using the CPU`);
    }
    return parts;
  } catch (err) {
    for (const c of owned.reverse()) c.dispose();
    if (ownsContext) context.dispose();
    throw err;
  }
}

function required<T>(v: T | null | undefined, root: string, name: string, cls: string): T {
  if (v === null || v === undefined) throw new NotFoundError(`${root}: ${cls} needs the "${name}" component, which model_index.json does not list`);
  return v;
}

function needsText(cls: PipelineClassName): boolean {
  return cls !== "StableDiffusionImageVariationPipeline";
}

async function fromFolder(ctx: Context, m: ResolvedDiffusersModel, o: LoadPipelineOptions, want: PipelineClassName | null, owned: { dispose(): void }[]): Promise<PipelineParts> {
  const cls = want ?? CLASS_ALIASES[m.pipelineClass]!;
  const c = m.components;
  const variant = o.variant ? { variant: o.variant } : {};
  const warnings = [...m.warnings];
  const track = <T extends { dispose(): void }>(x: T): T => {
    owned.push(x);
    return x;
  };
  const unetC = required(c.unet, m.root, "unet", cls);
  checkCompatible(cls, unetC.rawConfig?.in_channels ?? 4, m.root, m.pipelineClass);
  const vaeC = required(c.vae, m.root, "vae", cls);
  const schedC = required(c.scheduler, m.root, "scheduler", cls);
  let tokenizer: ClipTokenizer | null = null;
  let textEncoder: TextEncoder | null = null;
  if (needsText(cls) || (c.text_encoder && c.tokenizer)) {
    const tc = needsText(cls) ? required(c.tokenizer, m.root, "tokenizer", cls) : c.tokenizer!;
    const ec = needsText(cls) ? required(c.text_encoder, m.root, "text_encoder", cls) : c.text_encoder!;
    tokenizer = await loadClipTokenizer(tc.path);
    textEncoder = track(await loadTextEncoder(ctx, ec.path, variant));
  }
  const unet: UNet = track(await loadUNet(ctx, unetC.path, variant));
  const vae: Vae = track(o.vae ? await loadVaeOverride(ctx, o.vae, vaeC.rawConfig, o.variant) : await loadVae(ctx, vaeC.path, variant));
  if (o.vae) warnings.push(`VAE replaced by ${o.vae}`);
  const sched = schedulerFor(readJsonFile(join(schedC.path, "scheduler_config.json")) as Record<string, unknown>, o);
  let lowResScheduler: AnyScheduler | null = null;
  if (cls === "StableDiffusionUpscalePipeline") {
    const lc = required(c.low_res_scheduler, m.root, "low_res_scheduler", cls);
    lowResScheduler = createSchedulerFromConfig(readJsonFile(join(lc.path, "scheduler_config.json")) as Record<string, unknown>);
  }
  let imageEncoder: ImageEncoder | null = null;
  let featureExtractor: FeatureExtractor | null = null;
  if (cls === "StableDiffusionImageVariationPipeline") {
    const ic = required(c.image_encoder, m.root, "image_encoder", cls);
    const fc = required(c.feature_extractor, m.root, "feature_extractor", cls);
    imageEncoder = track(await loadImageEncoder(ctx, ic.path, variant));
    featureExtractor = clipImageProcessor(readJsonFile(join(fc.path, "preprocessor_config.json")) as never) as FeatureExtractor;
  } else if (c.feature_extractor) {
    featureExtractor = clipImageProcessor(readJsonFile(join(c.feature_extractor.path, "preprocessor_config.json")) as never) as FeatureExtractor;
  }
  const ships = m.modelIndex.components.safety_checker !== undefined;
  let safetyChecker: SafetyChecker | null = null;
  let safetyCheckerDisabled = false;
  if (ships && o.safetyChecker === false) {
    safetyCheckerDisabled = true;
    if (!safetyWarningPrinted) {
      safetyWarningPrinted = true;
      console.warn(`[sd-native] WARNING: ${SAFETY_OFF_WARNING}`);
    }
  } else if (ships && c.safety_checker) {
    const fc = required(c.feature_extractor, m.root, "feature_extractor", "the safety checker");
    safetyChecker = track(await SafetyChecker.load(ctx, c.safety_checker.path, fc.path, variant));
  }
  for (const [name, net] of [["text_encoder", textEncoder], ["unet", unet], ["vae", vae], ["image_encoder", imageEncoder]] as const) {
    if (net && net.unusedTensors.length > 0) warnings.push(`${name}: ${net.unusedTensors.length} tensors in the weight file were not used`);
  }
  const maxNoise = m.modelIndex.options.max_noise_level;
  return {
    context: ctx, ownsContext: true, source: m.root, modelPipelineClass: m.pipelineClass, family: m.familyHint,
    tokenizer, textEncoder, unet, vae, scheduler: sched.scheduler, schedulerBaseConfig: sched.base, lowResScheduler,
    maxNoiseLevel: typeof maxNoise === "number" ? maxNoise : cls === "StableDiffusionUpscalePipeline" ? 350 : null,
    imageEncoder, safetyChecker, featureExtractor,
    sampleSize: sampleSizeOf(unetC.rawConfig),
    vaeTiling: o.vaeTiling ?? false,
    safetyCheckerDisabled, deviceReason: CPU_ONLY_REASON, loadWarnings: warnings,
    queue: { tail: Promise.resolve() }, disposed: false,
  };
}

function sampleSizeOf(cfg: Record<string, unknown> | null): number {
  const s = cfg?.sample_size;
  if (typeof s === "number") return s;
  if (Array.isArray(s) && typeof s[0] === "number") return s[0];
  return 64;
}

async function fromSingleFile(ctx: Context, r: ResolvedSingleFile, o: LoadPipelineOptions, want: PipelineClassName | null, owned: { dispose(): void }[]): Promise<PipelineParts> {
  const file: WeightFile = await openWeightFile(r.path);
  try {
    const index = file.tensors().map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape }));
    const sf = o.singleFile ?? {};
    const conv = inspectSingleFile(r.path, { index: index as never, ...sf });
    const model = conv.model;
    const modelClass = CLASS_ALIASES[model.pipelineClass];
    if (!modelClass) throw new UnsupportedError(`${r.path}: pipeline ${model.pipelineClass} is not supported`);
    const cls = want ?? modelClass;
    checkCompatible(cls, model.unet.in_channels, r.path, model.pipelineClass);
    if (cls === "StableDiffusionImageVariationPipeline") {
      throw new UnsupportedError(`${r.path}: image-variation checkpoints need the diffusers image_encoder; load the diffusers folder instead`);
    }
    if (!model.textEncoder || !model.textEncoderStyle) throw new NotFoundError(`${r.path}: the checkpoint has no text encoder`);
    const sourcesOf = (comp: "unet" | "vae" | "text_encoder"): WeightSource[] =>
      (conv.mapping.components[comp] ?? []).map((t) => ({ target: t.target, file, source: t.source, ...(t.rows ? { rows: t.rows } : {}) }));
    const track = <T extends { dispose(): void }>(x: T): T => {
      owned.push(x);
      return x;
    };
    const textEncoder = track(wrapNetwork(ctx, "text_encoder", await buildNetwork(ctx, "text_encoder", model.textEncoder, sourcesOf("text_encoder")), model.textEncoder as never) as TextEncoder);
    const unet = track(wrapNetwork(ctx, "unet", await buildNetwork(ctx, "unet", model.unet, sourcesOf("unet")), model.unet as never) as UNet);
    const vaeCfg = model.vae as unknown as Record<string, unknown>;
    const vae = track(o.vae ? await loadVaeOverride(ctx, o.vae, vaeCfg, o.variant) : (wrapNetwork(ctx, "vae", await buildNetwork(ctx, "vae", model.vae, sourcesOf("vae")), vaeCfg) as Vae));
    const tokenizer = standardClipTokenizer(model.textEncoderStyle === "openclip" ? "sd2" : "sd1");
    const sched = familyScheduler(model.family, model.predictionType);
    const chosen = schedulerFor(sched.scheduler, o);
    const warnings = [...conv.warnings, ...model.decisions.map((d) => `single-file: ${d}`)];
    warnings.push("single-file checkpoints carry no safety checker: images are not checked");
    return {
      context: ctx, ownsContext: true, source: r.path, modelPipelineClass: model.pipelineClass, family: model.family,
      tokenizer, textEncoder, unet, vae, scheduler: chosen.scheduler, schedulerBaseConfig: chosen.base,
      lowResScheduler: sched.lowRes ? createSchedulerFromConfig(sched.lowRes) : null,
      maxNoiseLevel: model.family === "sd-x4-upscaler" ? 350 : null,
      imageEncoder: null, safetyChecker: null, featureExtractor: null,
      sampleSize: sampleSizeOf(model.unet as unknown as Record<string, unknown>),
      vaeTiling: o.vaeTiling ?? false,
      safetyCheckerDisabled: false, deviceReason: CPU_ONLY_REASON, loadWarnings: warnings,
      queue: { tail: Promise.resolve() }, disposed: false,
    };
  } finally {
    file.dispose();
  }
}

