/** StableDiffusionDepth2ImgPipeline with a caller-supplied depth map (no depth estimator in sd-native). */
import { InvalidArgumentError, ShapeError, UnsupportedError } from "../errors.js";
import { loadImageGray, preprocessImage } from "../images/index.js";
import type { Tensor } from "../tensor.js";
import {
  checkNumber, checkSteps, DiffusionPipeline, readImage, reportSeed, type Plan, type StepEndCallback,
} from "./base.js";
import { catBatch, resizeBicubic, tileBatch } from "./tensor-ops.js";
import type { ImageInput, LoadPipelineOptions, PipelineResult, PromptCallOptions } from "./types.js";

export interface Depth2ImgOptions extends PromptCallOptions {
  image: ImageInput;
  /**
   * Depth map (larger = nearer, any scale; it is min-max normalised): a Tensor of shape [H, W], [B, H, W] or
   * [B, 1, H, W], or an image (path, Buffer, sharp instance or raw pixels: its gray levels are the depth),
   * any resolution (resized bicubically to the latent size, as diffusers does). Required: sd-native has no
   * depth estimator (DPT).
   */
  depthMap: Tensor | ImageInput;
  /** Default 0.8. */
  strength?: number;
  /** Default 50. */
  steps?: number;
  /** Default 7.5. */
  guidanceScale?: number;
  onStepEnd?: StepEndCallback;
}

const f32 = Math.fround;

function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && Array.isArray((v as Tensor).shape) && (v as Tensor).data instanceof Float32Array;
}

/** A depth map given as an image becomes its gray levels [H, W] (0..255; the scale does not matter). */
async function depthTensor(input: Tensor | ImageInput): Promise<Tensor> {
  if (input === undefined || input === null) throw new InvalidArgumentError("depthMap is required (sd-native has no depth estimator)");
  if (isTensor(input)) return input;
  const g = await loadImageGray(input);
  return { shape: [g.height, g.width], data: Float32Array.from(g.data) };
}

/** diffusers prepare_depth_map for a given depth map: bicubic resize, per-item min-max to [-1, 1]. */
export function prepareDepthMap(depth: Tensor, imageHeight: number, imageWidth: number, vaeScaleFactor: number): Tensor {
  if (!depth || !Array.isArray(depth.shape) || !(depth.data instanceof Float32Array)) {
    throw new InvalidArgumentError("depthMap must be a Tensor ({ shape, data: Float32Array })");
  }
  const s = depth.shape;
  let B: number, H: number, W: number;
  if (s.length === 2) [B, H, W] = [1, s[0]!, s[1]!];
  else if (s.length === 3) [B, H, W] = s as [number, number, number];
  else if (s.length === 4 && s[1] === 1) [B, , H, W] = s as [number, number, number, number];
  else throw new ShapeError(`depthMap must have shape [H, W], [B, H, W] or [B, 1, H, W], got [${s.join(", ")}]`);
  if (depth.data.length !== B * H * W || B < 1 || H < 1 || W < 1) throw new ShapeError(`depthMap data does not match its shape [${s.join(", ")}]`);
  for (const v of depth.data) if (!Number.isFinite(v)) throw new InvalidArgumentError("depthMap contains non-finite values");
  const oh = Math.floor(imageHeight / vaeScaleFactor), ow = Math.floor(imageWidth / vaeScaleFactor);
  const r = resizeBicubic({ shape: [B, 1, H, W], data: depth.data }, oh, ow);
  const plane = oh * ow;
  for (let b = 0; b < B; b++) {
    let mn = Infinity, mx = -Infinity;
    for (let i = 0; i < plane; i++) {
      const v = r.data[b * plane + i]!;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    }
    const range = f32(mx - mn);
    for (let i = 0; i < plane; i++) {
      const k = b * plane + i;
      r.data[k] = f32(f32(f32(2 * f32(r.data[k]! - mn)) / range) - 1);
    }
  }
  return r;
}

export class StableDiffusionDepth2ImgPipeline extends DiffusionPipeline {
  readonly pipelineClass = "StableDiffusionDepth2ImgPipeline" as const;

  static async load(source: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionDepth2ImgPipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionDepth2ImgPipeline(await loadPipelineParts(source, options, "StableDiffusionDepth2ImgPipeline"));
  }

  async generate(o: Depth2ImgOptions): Promise<PipelineResult> {
    this.checkAlive();
    if (this.parts.unet.inChannels !== 5) throw new UnsupportedError(`depth2img needs a 5-channel UNet, this one has ${this.parts.unet.inChannels}`);
    const { prompts, negatives } = DiffusionPipeline.normalizePrompts(o.prompt, o.negativePrompt);
    const common = DiffusionPipeline.checkCommon(o);
    const strength = checkNumber("strength", o.strength ?? 0.8, 0, 1);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 50, scheduler);
    if (Math.floor(steps * strength) < 1) throw new InvalidArgumentError(`strength ${strength} with ${steps} steps leaves no denoising step`);
    if (o.depthMap === undefined) {
      throw new InvalidArgumentError("depthMap is required: sd-native has no depth estimator; pass a depth map (e.g. from MiDaS/DPT)");
    }
    if (o.latents !== undefined) throw new UnsupportedError("depth2img takes no initial latents (they come from the image)");
    const { generator, seed } = this.callGenerator(o);
    const img = await readImage("image", o.image);
    const f = this.vaeScaleFactor;
    const width = img.width - (img.width % f), height = img.height - (img.height % f);
    if (width < f || height < f) throw new UnsupportedError(`image is ${img.width}x${img.height}; it must be at least ${f}x${f}`);
    const depth = prepareDepthMap(await depthTensor(o.depthMap), img.height, img.width, f);
    const cfg = common.guidance > 1;
    const batch = prompts.length * common.n;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: this.pipelineClass, prompt: o.prompt, negativePrompt: o.negativePrompt ?? null, width, height, steps, strength,
        guidanceScale: common.guidance, numImagesPerPrompt: common.n, seed: reportSeed(seed), rng: o.generator ? "custom" : o.rng ?? "cpu",
        scheduler: scheduler.className, eta: common.eta, clipSkip: o.clipSkip ?? 0, model: this.parts.source,
      },
    };
    const d0 = depth.shape[0]!;
    if (d0 > batch || batch % d0 !== 0) throw new ShapeError(`depthMap has ${d0} maps for a batch of ${batch}`);
    return this.enqueue(o.signal, async () => {
      const embeds = await this.encodePrompts(prompts, negatives, common.n, cfg, o, plan.warnings);
      let depthMask = tileBatch(depth, batch / d0);
      if (cfg) depthMask = catBatch([depthMask, depthMask]);
      const image = preprocessImage(img, width, height);
      const timesteps = DiffusionPipeline.img2imgTimesteps(scheduler, steps, strength);
      const latents = await this.img2imgLatents(image, batch, timesteps[0]!, scheduler, generator, o.signal);
      if (latents.shape[2] !== depthMask.shape[2] || latents.shape[3] !== depthMask.shape[3]) {
        throw new ShapeError(`depth map resized to ${depthMask.shape[3]}x${depthMask.shape[2]} but latents are ${latents.shape[3]}x${latents.shape[2]}`);
      }
      const out = await this.denoise({
        scheduler, timesteps, latents, embeds, cfg, guidanceScale: common.guidance, guidanceRescale: common.rescale,
        generator, eta: common.eta, options: o, extra: depthMask,
      });
      return this.finish(out, o, common.outputType, plan);
    });
  }
}
