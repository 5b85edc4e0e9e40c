/** StableDiffusionUpscalePipeline (x4 upscaler): low-res image conditioning with noise augmentation. */
import { InvalidArgumentError, UnsupportedError } from "../errors.js";
import { preprocessImage } from "../images/index.js";
import { randnTensor } from "../rng/generator.js";
import type { Tensor } from "../tensor.js";
import { checkInt, checkSteps, DiffusionPipeline, readImage, reportSeed, type Plan, type StepEndCallback } from "./base.js";
import { tileBatch } from "./tensor-ops.js";
import type { ImageInput, LoadPipelineOptions, PipelineResult, PromptCallOptions } from "./types.js";

export interface UpscaleOptions extends PromptCallOptions {
  /** The low-resolution image; the output is 4x its size (rounded down to a multiple of the VAE factor first). */
  image: ImageInput;
  /** Noise added to the low-res image by the low_res_scheduler, and the UNet's class label. Default 20. */
  noiseLevel?: number;
  /** Default 75. */
  steps?: number;
  /** Default 9.0. */
  guidanceScale?: number;
  onStepEnd?: StepEndCallback;
}

export class StableDiffusionUpscalePipeline extends DiffusionPipeline {
  readonly pipelineClass = "StableDiffusionUpscalePipeline" as const;

  static async load(source: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionUpscalePipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionUpscalePipeline(await loadPipelineParts(source, options, "StableDiffusionUpscalePipeline"));
  }

  /** Largest accepted noiseLevel (model_index max_noise_level, 350). */
  get maxNoiseLevel(): number {
    return this.parts.maxNoiseLevel ?? 350;
  }

  async generate(o: UpscaleOptions): Promise<PipelineResult> {
    this.checkAlive();
    const lowRes = this.parts.lowResScheduler;
    if (!lowRes) throw new UnsupportedError("this model has no low_res_scheduler");
    const unetIn = this.parts.unet.inChannels;
    if (unetIn !== 7) throw new UnsupportedError(`the x4 upscaler needs a 7-channel UNet, this one has ${unetIn}`);
    const { prompts, negatives } = DiffusionPipeline.normalizePrompts(o.prompt, o.negativePrompt);
    const common = DiffusionPipeline.checkCommon(o, 9.0);
    const noiseLevel = checkInt("noiseLevel", o.noiseLevel ?? 20, 0, this.maxNoiseLevel);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 75, scheduler);
    const { generator, seed } = this.callGenerator(o);
    const img = await readImage("image", o.image);
    const f = this.vaeScaleFactor;
    const w = img.width - (img.width % f), h = img.height - (img.height % f);
    if (w < f || h < f) throw new InvalidArgumentError(`image is ${img.width}x${img.height}; it must be at least ${f}x${f}`);
    const cfg = common.guidance > 1;
    const B = prompts.length;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: this.pipelineClass, prompt: o.prompt, negativePrompt: o.negativePrompt ?? null, width: w * f, height: h * f,
        steps, guidanceScale: common.guidance, noiseLevel, numImagesPerPrompt: common.n, seed: reportSeed(seed),
        rng: o.generator ? "custom" : o.rng ?? "cpu", scheduler: scheduler.className, eta: common.eta, clipSkip: o.clipSkip ?? 0,
        model: this.parts.source,
      },
    };
    if (w !== img.width || h !== img.height) plan.warnings.push(`image is ${img.width}x${img.height}; resized to ${w}x${h} (multiples of ${f})`);
    return this.enqueue(o.signal, async () => {
      const embeds = await this.encodePrompts(prompts, negatives, common.n, cfg, o, plan.warnings);
      let image: Tensor = preprocessImage(img, w, h, "bicubic"); // diffusers: VaeImageProcessor(resample="bicubic")
      if (B > 1) image = tileBatch(image, B);
      scheduler.setTimesteps(steps);
      const timesteps = scheduler.timesteps;
      const noise = randnTensor(image.shape, generator);
      image = { shape: image.shape, data: lowRes.addNoise(image.data, noise, noiseLevel) };
      image = tileBatch(image, (cfg ? 2 : 1) * common.n);
      const labels = new Array<number>(image.shape[0]!).fill(noiseLevel);
      const latents = this.initialLatents([B * common.n, this.parts.vae.latentChannels, h, w], o.latents, generator, scheduler);
      const out = await this.denoise({
        scheduler, timesteps, latents, embeds, cfg, guidanceScale: common.guidance, guidanceRescale: common.rescale,
        generator, eta: common.eta, options: o, extra: image, classLabels: labels,
      });
      return this.finish(out, o, common.outputType, plan);
    });
  }
}
