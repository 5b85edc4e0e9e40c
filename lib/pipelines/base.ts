/**
 * What every pipeline shares: the loaded components, call queueing, prompt encoding, the denoising loop,
 * decoding and output (diffusers 0.27.2 semantics).
 */
import { tiledDecode } from "./vae-tiling.js";
import type { UNetBatcher } from "./unet-batcher.js";
import { randomBytes } from "node:crypto";
import type { ImageEncoder } from "../components/image-encoder.js";
import type { TextEncoder } from "../components/text-encoder.js";
import type { UNet } from "../components/unet.js";
import type { Vae } from "../components/vae.js";
import type { Context } from "../context.js";
import { AbortError, DisposedError, FormatError, InvalidArgumentError, SdError, ShapeError } from "../errors.js";
import { encodePng, loadImageRGB, postprocessImage } from "../images/index.js";
import type { Generator } from "../rng/generator.js";
import { randnTensor } from "../rng/generator.js";
import { TorchCudaGenerator } from "../rng/philox.js";
import { TorchCpuGenerator } from "../rng/torch-cpu.js";
import type { SafetyChecker } from "../safety/index.js";
import { createScheduler, createSchedulerFromConfig, type AnyScheduler } from "../schedulers/factory.js";
import type { Tensor } from "../tensor.js";
import type { ClipTokenizer } from "../tokenizer/clip-tokenizer.js";
import { applyPromptWeights, concatChunkEmbeddings } from "../tokenizer/embeddings.js";
import { tokenizePrompt, type TokenizedPrompt } from "../tokenizer/prompt.js";
import {
  catBatch, catChannels, divide, gaussianSample, guidanceCombine, latentPreview, repeatInterleaveBatch, rescaleNoiseCfg, scale,
  sliceBatch, tileBatch,
} from "./tensor-ops.js";
import type {
  CommonCallOptions, ImageInput, OutputType, PipelineClassName, PipelineResult, PromptCallOptions, RawImage,
} from "./types.js";

/** An image preprocessor with CLIPImageProcessor semantics. */
export interface FeatureExtractor {
  preprocess(images: RawImage[]): Tensor;
}

/** @internal Everything a loaded pipeline holds. Shared (not copied) between pipelines made from one another. */
export interface PipelineParts {
  context: Context;
  ownsContext: boolean;
  /** What was loaded (folder, file or repo id). */
  source: string;
  /** The class model_index.json names (or the single file's family implies). */
  modelPipelineClass: string;
  family: string;
  tokenizer: ClipTokenizer | null;
  textEncoder: TextEncoder | null;
  unet: UNet;
  vae: Vae;
  scheduler: AnyScheduler;
  /**
   * The config schedulers named by the user are built from (diffusers `Cls.from_config(pipe.scheduler.config)`):
   * the model's raw scheduler_config.json, which keeps keys the current class does not take (e.g. PNDM's
   * `clip_sample: false`, which DDIM needs), updated with the current scheduler's own fields.
   */
  schedulerBaseConfig: Record<string, unknown>;
  lowResScheduler: AnyScheduler | null;
  maxNoiseLevel: number | null;
  imageEncoder: ImageEncoder | null;
  safetyChecker: SafetyChecker | null;
  featureExtractor: FeatureExtractor | null;
  /** unet config sample_size (latent pixels). */
  sampleSize: number;
  /** Decode latents tile by tile (LoadPipelineOptions.vaeTiling). */
  vaeTiling: boolean;
  /** The model ships a safety checker but it was turned off. */
  safetyCheckerDisabled: boolean;
  deviceReason: string;
  loadWarnings: string[];
  /** Shared by all pipelines built on these parts: calls run one at a time. */
  queue: { tail: Promise<unknown> };
  disposed: boolean;
  /** A view made by withBatcher(): shares another pipeline's networks and never disposes them. */
  borrowed?: boolean;
}

const SAFETY_OFF_WARNING =
  "The safety checker is disabled: generated images are not checked for NSFW content. Keep it enabled for " +
  "anything shown to the public (see the Stable Diffusion license).";

export interface Plan {
  warnings: string[];
  parameters: Record<string, unknown>;
}

/** diffusers' check on step counts, before any work. */
export function checkSteps(steps: unknown, scheduler: AnyScheduler): number {
  const max = scheduler.config.num_train_timesteps;
  if (typeof steps !== "number" || !Number.isInteger(steps) || steps < 1 || steps > max) {
    throw new InvalidArgumentError(`steps must be an integer in [1, ${max}], got ${String(steps)}`);
  }
  return steps;
}

export function checkNumber(name: string, v: unknown, min: number, max = Infinity): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max === Infinity ? "∞" : max}], got ${String(v)}`);
  }
  return v;
}

export function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/** diffusers: height and width must be divisible by 8. */
export function checkSize(name: "width" | "height", v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 8 || v % 8 !== 0) {
    throw new InvalidArgumentError(`${name} must be a positive multiple of 8, got ${String(v)}`);
  }
  return v;
}

/** Loads an image input with typed errors (NotFoundError / FormatError) naming what failed. */
export async function readImage(what: string, input: ImageInput | undefined): Promise<RawImage> {
  if (input === undefined || input === null) throw new InvalidArgumentError(`${what} is required`);
  try {
    return await loadImageRGB(input);
  } catch (err) {
    if (err instanceof SdError) throw err;
    throw new FormatError(`${what}: cannot read the image (${(err as Error)?.message ?? String(err)})`, { cause: err });
  }
}

function newSeed(): bigint {
  // 53 random bits: a seed that prints and round-trips as a JSON number.
  const b = randomBytes(8);
  return b.readBigUInt64LE(0) & ((1n << 53n) - 1n);
}

function seedOf(seed: number | bigint): bigint {
  if (typeof seed === "bigint") {
    if (seed < 0n || seed >= 1n << 64n) throw new InvalidArgumentError(`seed must be in [0, 2^64), got ${seed}`);
    return seed;
  }
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError(`seed must be a non-negative integer (number or bigint), got ${String(seed)}`);
  }
  return BigInt(seed);
}

export interface DenoiseArgs {
  scheduler: AnyScheduler;
  timesteps: readonly number[];
  latents: Tensor;
  embeds: Tensor;
  cfg: boolean;
  guidanceScale: number;
  guidanceRescale: number;
  /** Channels appended to the scaled model input (already doubled for CFG). */
  extra?: Tensor;
  classLabels?: number[];
  generator: Generator | readonly Generator[];
  eta: number;
  options: CommonCallOptions & { onStepEnd?: StepEndCallback };
  /** Inpainting with a 4-channel UNet: blend known regions back after each step. */
  afterStep?: (i: number, latents: Float32Array) => Float32Array;
}

export type StepEndCallback = (step: number, timestep: number, latents: Tensor) => void;

export abstract class DiffusionPipeline implements AsyncDisposable {
  /** @internal */
  protected readonly parts: PipelineParts;
  /** The diffusers class this object behaves like. */
  abstract readonly pipelineClass: PipelineClassName;

  /** UNet calls go through this batcher (views made by withBatcher). */
  protected batcher: UNetBatcher | null = null;

  /** @internal use loadPipeline() or the class's static load() */
  constructor(parts: PipelineParts) {
    this.parts = parts;
  }

  /**
   * A view of this pipeline for continuous batching: it shares the weights, its calls are not queued behind
   * other views' (each view still runs one call at a time), and its UNet calls are merged with those of every
   * other view using the same `batcher` (see UNetBatcher). dispose() on a view does nothing; the view must
   * not outlive this pipeline.
   */
  withBatcher(batcher: UNetBatcher): this {
    if (batcher.unet !== this.parts.unet) throw new InvalidArgumentError("the batcher must wrap this pipeline's UNet");
    const Ctor = this.constructor as new (parts: PipelineParts) => this;
    const view = new Ctor({ ...this.parts, queue: { tail: Promise.resolve() }, ownsContext: false, borrowed: true });
    view.batcher = batcher;
    return view;
  }

  // ---- components ----
  get context(): Context {
    return this.parts.context;
  }
  get tokenizer(): ClipTokenizer | null {
    return this.parts.tokenizer;
  }
  get textEncoder(): TextEncoder | null {
    return this.parts.textEncoder;
  }
  get unet(): UNet {
    return this.parts.unet;
  }
  get vae(): Vae {
    return this.parts.vae;
  }
  /** The scheduler calls start from (each call works on its own copy, so this one is never stepped). */
  get scheduler(): AnyScheduler {
    return this.parts.scheduler;
  }
  set scheduler(s: AnyScheduler) {
    if (!s || typeof s.toJSON !== "function") throw new InvalidArgumentError("scheduler must be a scheduler object");
    this.parts.scheduler = s;
    this.parts.schedulerBaseConfig = { ...this.parts.schedulerBaseConfig, ...s.toJSON() };
  }
  get imageEncoder(): ImageEncoder | null {
    return this.parts.imageEncoder;
  }
  get safetyChecker(): SafetyChecker | null {
    return this.parts.safetyChecker;
  }
  get featureExtractor(): FeatureExtractor | null {
    return this.parts.featureExtractor;
  }
  /** Where the networks run ("cpu" in this build). */
  get device(): "cpu" {
    return "cpu";
  }
  /** Why the networks run where they do. */
  get deviceReason(): string {
    return this.parts.deviceReason;
  }
  /** The model family ("sd1", "sd2-v", "sd2-inpainting", ...). */
  get family(): string {
    return this.parts.family;
  }
  /** Notes from loading (variant fallbacks, unused tensors, ...). */
  get loadWarnings(): readonly string[] {
    return this.parts.loadWarnings;
  }
  /** Pixels per latent (8 for SD, 4 for the x4 upscaler). */
  get vaeScaleFactor(): number {
    return this.parts.vae.downscale;
  }
  /** Default output size: unet sample_size * VAE scale factor. */
  get defaultSize(): number {
    return this.parts.sampleSize * this.vaeScaleFactor;
  }
  get disposed(): boolean {
    return this.parts.disposed;
  }

  /** Frees every network (and the context when the pipeline created it). Idempotent. */
  dispose(): void {
    const p = this.parts;
    if (p.disposed || p.borrowed) return;
    p.disposed = true;
    p.textEncoder?.dispose();
    p.unet.dispose();
    p.vae.dispose();
    p.imageEncoder?.dispose();
    p.safetyChecker?.dispose();
    if (p.ownsContext) p.context.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  // ---- call machinery ----

  /** Runs `fn` after every earlier call on these weights (calls are queued, never interleaved). */
  protected enqueue<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.parts.disposed) return Promise.reject(new DisposedError(this.pipelineClass));
    if (signal?.aborted) return Promise.reject(new AbortError("aborted before start", { cause: signal.reason }));
    const q = this.parts.queue;
    const task = q.tail.then(async () => {
      if (this.parts.disposed) throw new DisposedError(this.pipelineClass);
      if (signal?.aborted) throw new AbortError("aborted before start", { cause: signal.reason });
      return fn();
    });
    q.tail = task.catch(() => undefined);
    return task;
  }

  protected checkAlive(): void {
    if (this.parts.disposed) throw new DisposedError(this.pipelineClass);
  }

  /** A fresh scheduler for one call (the model's, or the one the call names). */
  protected callScheduler(spec: CommonCallOptions["scheduler"]): AnyScheduler {
    const base = this.parts.scheduler;
    if (spec === undefined) return createSchedulerFromConfig(base.toJSON());
    if (typeof spec === "string") return createScheduler(spec, { config: this.parts.schedulerBaseConfig });
    if (spec && typeof spec === "object" && !Array.isArray(spec)) {
      if (typeof spec["_class_name"] === "string") return createSchedulerFromConfig(spec);
    }
    throw new InvalidArgumentError("scheduler must be a scheduler name or a scheduler config object with _class_name");
  }

  /** The generator a call draws from, and the seed to report (null when the caller passed generators). */
  protected callGenerator(o: CommonCallOptions): { generator: Generator | readonly Generator[]; seed: bigint | null } {
    if (o.generator !== undefined) {
      if (o.seed !== undefined) throw new InvalidArgumentError("pass either seed or generator, not both");
      const gens = Array.isArray(o.generator) ? o.generator : [o.generator];
      if (gens.length === 0 || !gens.every((g) => g && typeof (g as Generator).randn === "function")) {
        throw new InvalidArgumentError("generator must be a Generator (or a non-empty list of them)");
      }
      return { generator: o.generator, seed: null };
    }
    const rng = o.rng ?? "cpu";
    if (rng !== "cpu" && rng !== "cuda") throw new InvalidArgumentError(`rng must be "cpu" or "cuda", got ${String(rng)}`);
    const seed = o.seed === undefined ? newSeed() : seedOf(o.seed);
    return { generator: rng === "cpu" ? new TorchCpuGenerator(seed) : new TorchCudaGenerator(seed), seed };
  }

  protected static normalizePrompts(prompt: unknown, negative: unknown): { prompts: string[]; negatives: string[] | null } {
    let prompts: string[];
    if (typeof prompt === "string") prompts = [prompt];
    else if (Array.isArray(prompt)) {
      if (prompt.length === 0) throw new InvalidArgumentError("prompt list is empty");
      if (!prompt.every((p) => typeof p === "string")) throw new InvalidArgumentError("every prompt must be a string");
      prompts = [...prompt];
    } else throw new InvalidArgumentError(`prompt must be a string or a list of strings, got ${prompt === undefined ? "nothing" : typeof prompt}`);
    let negatives: string[] | null = null;
    if (negative !== undefined && negative !== null) {
      if (typeof negative === "string") negatives = prompts.map(() => negative);
      else if (Array.isArray(negative)) {
        if (!negative.every((p) => typeof p === "string")) throw new InvalidArgumentError("every negative prompt must be a string");
        if (negative.length !== prompts.length) {
          throw new InvalidArgumentError(`negativePrompt has ${negative.length} entries for ${prompts.length} prompts; they must match`);
        }
        negatives = [...negative];
      } else throw new InvalidArgumentError("negativePrompt must be a string or a list of strings");
    }
    return { prompts, negatives };
  }

  protected static checkCommon(o: CommonCallOptions, defaultGuidance = 7.5): { outputType: OutputType; n: number; guidance: number; rescale: number; eta: number } {
    const outputType = o.outputType ?? "png";
    if (!["png", "raw", "latent"].includes(outputType)) {
      throw new InvalidArgumentError(`outputType must be "png", "raw" or "latent", got ${String(outputType)}`);
    }
    const n = o.numImagesPerPrompt === undefined ? 1 : checkInt("numImagesPerPrompt", o.numImagesPerPrompt, 1, 1024);
    const guidance = checkNumber("guidanceScale", o.guidanceScale ?? defaultGuidance, -1e6, 1e6);
    const rescale = checkNumber("guidanceRescale", o.guidanceRescale ?? 0, 0, 1);
    const eta = checkNumber("eta", o.eta ?? 0, 0, 1e6);
    if (o.onProgress !== undefined && typeof o.onProgress !== "function") throw new InvalidArgumentError("onProgress must be a function");
    return { outputType, n, guidance, rescale, eta };
  }

  /**
   * encode_prompt: the prompt embeddings [B*n, S, H], and with CFG the negative ones first ([2*B*n, S, H]).
   * The negative prompt defaults to "" per prompt; clip skip applies to the prompt only, as in diffusers.
   */
  protected async encodePrompts(
    prompts: string[],
    negatives: string[] | null,
    n: number,
    cfg: boolean,
    o: PromptCallOptions,
    warnings: string[],
  ): Promise<Tensor> {
    const tok = this.parts.tokenizer, te = this.parts.textEncoder;
    if (!tok || !te) throw new InvalidArgumentError(`${this.pipelineClass}: this model has no text encoder`);
    const clipSkip = o.clipSkip ?? 0;
    if (!Number.isInteger(clipSkip) || clipSkip < 0 || clipSkip >= te.numLayers) {
      throw new InvalidArgumentError(`clipSkip must be an integer in [0, ${te.numLayers - 1}], got ${String(o.clipSkip)}`);
    }
    const opts = { longPrompt: o.longPrompt, promptSyntax: o.promptSyntax };
    const negs = cfg ? negatives ?? prompts.map(() => "") : [];
    let pos = prompts.map((p) => tokenizePrompt(tok, p, opts));
    let neg = negs.map((p) => tokenizePrompt(tok, p, opts));
    const chunks = Math.max(...pos.map((t) => t.chunks), ...neg.map((t) => t.chunks));
    if ((o.longPrompt ?? "truncate") === "chunk" && [...pos, ...neg].some((t) => t.chunks !== chunks)) {
      pos = prompts.map((p) => tokenizePrompt(tok, p, { ...opts, minChunks: chunks }));
      neg = negs.map((p) => tokenizePrompt(tok, p, { ...opts, minChunks: chunks }));
    }
    for (const t of pos) for (const w of t.warnings) warnings.push(w.message);
    for (const t of neg) for (const w of t.warnings) warnings.push(`negative prompt: ${w.message}`);

    const encode = async (list: TokenizedPrompt[], skip: number): Promise<Tensor> => {
      const S = list[0]!.sequenceLength;
      const rows = list.length * chunks;
      const ids = new Int32Array(rows * S);
      list.forEach((t, i) => ids.set(t.inputIds, i * chunks * S));
      const out = await te.forward({ shape: [rows, S], data: ids }, { clipSkip: skip, signal: o.signal });
      const H = te.hiddenSize;
      const perPrompt = chunks * S * H;
      const data = new Float32Array(list.length * perPrompt);
      list.forEach((t, i) => {
        const pieces: Float32Array[] = [];
        for (let c = 0; c < chunks; c++) pieces.push(out.lastHiddenState.data.subarray((i * chunks + c) * S * H, (i * chunks + c + 1) * S * H));
        let emb = chunks === 1 ? pieces[0]!.slice() : concatChunkEmbeddings(pieces, H);
        if (t.weighted) emb = applyPromptWeights(emb, [chunks * S, H], t.weights, { groupRows: S });
        data.set(emb, i * perPrompt);
      });
      return { shape: [list.length, chunks * S, H], data };
    };
    if (cfg && clipSkip === 0) {
      // One text-encoder forward for negatives and prompts (rows are independent: same values as two
      // forwards, and the weights are packed once instead of twice).
      const both = await encode([...neg, ...pos], 0);
      const per = both.data.length / both.shape[0]!;
      const half = (from: number, count: number): Tensor => ({ shape: [count, ...both.shape.slice(1)], data: both.data.slice(from * per, (from + count) * per) });
      return catBatch([repeatInterleaveBatch(half(0, neg.length), n), repeatInterleaveBatch(half(neg.length, pos.length), n)]);
    }
    const posEmb = repeatInterleaveBatch(await encode(pos, clipSkip), n);
    if (!cfg) return posEmb;
    const negEmb = repeatInterleaveBatch(await encode(neg, 0), n);
    return catBatch([negEmb, posEmb]);
  }

  /** prepare_latents for text-to-image style pipelines: randn (or the given latents) * init_noise_sigma. */
  protected initialLatents(shape: number[], given: Tensor | undefined, generator: Generator | readonly Generator[], scheduler: AnyScheduler): Tensor {
    let data: Float32Array;
    if (given !== undefined) {
      if (!given || !Array.isArray(given.shape) || !(given.data instanceof Float32Array)) {
        throw new InvalidArgumentError("latents must be a Tensor ({ shape, data: Float32Array })");
      }
      if (given.shape.length !== shape.length || given.shape.some((d, i) => d !== shape[i]) || given.data.length !== shape.reduce((a, b) => a * b, 1)) {
        throw new ShapeError(`latents have shape [${given.shape.join(", ")}], expected [${shape.join(", ")}]`);
      }
      data = given.data;
    } else {
      data = randnTensor(shape, generator);
    }
    const sigma = scheduler.initNoiseSigma;
    const out = new Float32Array(data.length);
    const s = Math.fround(sigma);
    for (let i = 0; i < out.length; i++) out[i] = data[i]! * s;
    return { shape: [...shape], data: out };
  }

  /** vae.encode(x).latent_dist.sample(generator) * scaling_factor (diffusers retrieve_latents). */
  protected async encodeImageLatents(image: Tensor, generator: Generator | readonly Generator[], signal: AbortSignal | undefined): Promise<Tensor> {
    const vae = this.parts.vae;
    const enc = await vae.encode(image, { signal });
    const eps = randnTensor(enc.mean.shape, generator);
    const sample = gaussianSample(enc.mean.data, enc.std.data, eps);
    return { shape: enc.mean.shape, data: scale(sample, vae.scalingFactor) };
  }

  /**
   * img2img prepare_latents: encode the image, repeat it for the batch (torch.cat of whole copies), draw
   * noise of the batch shape and noise the image latents to `timestep`.
   */
  protected async img2imgLatents(
    image: Tensor,
    batch: number,
    timestep: number,
    scheduler: AnyScheduler,
    generator: Generator | readonly Generator[],
    signal: AbortSignal | undefined,
  ): Promise<Tensor> {
    let init = await this.encodeImageLatents(image, generator, signal);
    const b0 = init.shape[0]!;
    if (batch > b0) {
      if (batch % b0 !== 0) throw new InvalidArgumentError(`cannot duplicate ${b0} images to a batch of ${batch}`);
      init = tileBatch(init, batch / b0);
    }
    const noise = randnTensor(init.shape, generator);
    return { shape: init.shape, data: scheduler.addNoise(init.data, noise, timestep) };
  }

  /** diffusers get_timesteps for img2img-style calls: the kept timesteps (at least one, else an error). */
  protected static img2imgTimesteps(scheduler: AnyScheduler, steps: number, strength: number): number[] {
    const r = scheduler.getImg2ImgTimesteps(steps, strength);
    if (r.timesteps.length < 1 || r.numInferenceSteps < 1) {
      throw new InvalidArgumentError(
        `strength ${strength} with ${steps} steps leaves no denoising step (int(steps * strength) must be >= 1)`,
      );
    }
    return r.timesteps;
  }

  /** The denoising loop of every diffusers SD pipeline. */
  protected async denoise(a: DenoiseArgs): Promise<Tensor> {
    this.batcher?.join();
    try {
      return await this.denoiseSteps(a);
    } finally {
      this.batcher?.leave();
    }
  }

  private async denoiseSteps(a: DenoiseArgs): Promise<Tensor> {
    const { scheduler, timesteps, cfg, options: o } = a;
    let latents = a.latents;
    const shape = latents.shape;
    const B = shape[0]!;
    const total = timesteps.length;
    for (let i = 0; i < total; i++) {
      if (o.signal?.aborted) throw new AbortError("aborted between steps", { cause: o.signal.reason });
      const t = timesteps[i]!;
      const scaled: Tensor = { shape, data: scheduler.scaleModelInput(latents.data, t) };
      let input = cfg ? catBatch([scaled, scaled]) : scaled;
      if (a.extra) input = catChannels([input, a.extra]);
      const pred = this.batcher
        ? await this.batcher.forward(input, t, a.embeds, a.classLabels ? { classLabels: a.classLabels } : {})
        : await this.parts.unet.forward(input, t, a.embeds, {
            signal: o.signal,
            ...(a.classLabels ? { classLabels: a.classLabels } : {}),
          });
      let noise: Float32Array;
      if (cfg) {
        noise = guidanceCombine(pred.data, a.guidanceScale);
        if (a.guidanceRescale > 0) noise = rescaleNoiseCfg(noise, sliceBatch(pred, B, 2 * B).data, B, a.guidanceRescale);
      } else noise = pred.data;
      const step = scheduler.step(noise, t, latents.data, { generator: a.generator, eta: a.eta, shape });
      let next = step.prevSample;
      if (a.afterStep) next = a.afterStep(i, next);
      latents = { shape, data: next };
      o.onStepEnd?.(i + 1, t, latents);
      if (o.onProgress) {
        const ev: Parameters<NonNullable<CommonCallOptions["onProgress"]>>[0] = { step: i + 1, total, timestep: t };
        if (o.preview) ev.preview = latentPreview(latents);
        o.onProgress(ev);
      }
    }
    return latents;
  }

  /** Decode, postprocess, safety check and encode the output as diffusers does (output_type "pil"). */
  protected async finish(latents: Tensor, o: CommonCallOptions, outputType: OutputType, plan: Plan): Promise<PipelineResult> {
    const warnings = [...plan.warnings];
    if (this.parts.safetyCheckerDisabled) warnings.push(SAFETY_OFF_WARNING);
    if (outputType === "latent") {
      return { images: [], latents, nsfwContentDetected: null, warnings, parameters: plan.parameters };
    }
    if (o.signal?.aborted) throw new AbortError("aborted before decoding", { cause: o.signal.reason });
    const z = { shape: latents.shape, data: divide(latents.data, this.parts.vae.scalingFactor) };
    const tiling = o.vaeTiling ?? this.parts.vaeTiling;
    const decoded = tiling
      ? await tiledDecode(this.parts.vae, z, { tileLatentSize: this.parts.sampleSize, signal: o.signal })
      : await this.parts.vae.decode(z, { signal: o.signal });
    let images = postprocessImage(decoded);
    let nsfw: boolean[] | null = null;
    if (this.parts.safetyChecker) {
      const checked = await this.parts.safetyChecker.check(images, { signal: o.signal });
      images = checked.images;
      nsfw = checked.nsfw;
    }
    let out: (Buffer | RawImage)[];
    if (outputType === "raw") out = images;
    else {
      const meta = pngMetadata(plan.parameters);
      out = await Promise.all(images.map((img) => encodePng(img, meta)));
    }
    return { images: out, latents, nsfwContentDetected: nsfw, warnings, parameters: plan.parameters };
  }
}

/** PNG text chunks: an A1111-style "parameters" line and the full JSON. */
function pngMetadata(p: Record<string, unknown>): Record<string, string> {
  const json = JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  const lines: string[] = [];
  const prompt = Array.isArray(p.prompt) ? (p.prompt as string[]).join(" | ") : p.prompt;
  if (typeof prompt === "string") lines.push(prompt);
  const neg = Array.isArray(p.negativePrompt) ? (p.negativePrompt as string[]).join(" | ") : p.negativePrompt;
  if (typeof neg === "string" && neg !== "") lines.push(`Negative prompt: ${neg}`);
  const fields: string[] = [];
  if (p.steps !== undefined) fields.push(`Steps: ${String(p.steps)}`);
  if (p.scheduler !== undefined) fields.push(`Sampler: ${String(p.scheduler)}`);
  if (p.guidanceScale !== undefined) fields.push(`CFG scale: ${String(p.guidanceScale)}`);
  if (p.seed !== undefined && p.seed !== null) fields.push(`Seed: ${String(p.seed)}`);
  if (p.width !== undefined) fields.push(`Size: ${String(p.width)}x${String(p.height)}`);
  if (p.strength !== undefined) fields.push(`Denoising strength: ${String(p.strength)}`);
  fields.push(`Pipeline: ${String(p.pipeline)}`);
  lines.push(fields.join(", "));
  return { parameters: lines.join("\n"), "sd-native": json };
}

/** The seed as reported in `parameters` (a number when exact, else a decimal string). */
export function reportSeed(seed: bigint | null): number | string | null {
  if (seed === null) return null;
  return seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString();
}

export { SAFETY_OFF_WARNING };
