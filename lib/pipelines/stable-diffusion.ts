/** StableDiffusionPipeline (text-to-image, plus img2img on the same weights) and StableDiffusionImg2ImgPipeline. */
import { UnsupportedError } from "../errors.js";
import { preprocessImage } from "../images/index.js";
import type { Tensor } from "../tensor.js";
import {
  checkNumber, checkSize, checkSteps, DiffusionPipeline, readImage, reportSeed, type Plan, type StepEndCallback,
} from "./base.js";
import type { ImageInput, PipelineClassName, PipelineResult, PromptCallOptions } from "./types.js";

export interface Txt2ImgOptions extends PromptCallOptions {
  /** Output width in pixels, a multiple of 8. Default: unet sample_size * 8 (512 for SD1, 768 for SD2-v). */
  width?: number;
  /** Output height in pixels, a multiple of 8. Default as width. */
  height?: number;
  /** Default 50. */
  steps?: number;
  /** Default 7.5. */
  guidanceScale?: number;
  /** Called after every step with the latents (diffusers callback_on_step_end). */
  onStepEnd?: StepEndCallback;
}

export interface Img2ImgOptions extends PromptCallOptions {
  /** The init image (file path, encoded bytes, sharp object or raw pixels). Output size = its size rounded down to a multiple of 8. */
  image: ImageInput;
  /** How much to change the image, in [0, 1] (default 0.8): denoise the last int(steps * strength) steps. */
  strength?: number;
  /** Default 50 (of which int(50 * strength) run). */
  steps?: number;
  /** Default 7.5. */
  guidanceScale?: number;
  onStepEnd?: StepEndCallback;
}

/** @internal shared by StableDiffusionPipeline.img2img and StableDiffusionImg2ImgPipeline. */
abstract class SdTextPipeline extends DiffusionPipeline {
  protected requireChannels(n: number, what: string): void {
    if (this.parts.unet.inChannels !== n) {
      throw new UnsupportedError(
        `${what} needs a UNet with ${n} input channels; this model's has ${this.parts.unet.inChannels} ` +
          `(${this.parts.modelPipelineClass}, family ${this.parts.family}): load it with its own pipeline class`,
      );
    }
  }

  protected async runTxt2Img(o: Txt2ImgOptions): Promise<PipelineResult> {
    this.checkAlive();
    this.requireChannels(4, "text-to-image");
    const { prompts, negatives } = DiffusionPipeline.normalizePrompts(o.prompt, o.negativePrompt);
    const common = DiffusionPipeline.checkCommon(o);
    const width = checkSize("width", o.width ?? this.defaultSize);
    const height = checkSize("height", o.height ?? this.defaultSize);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 50, scheduler);
    const { generator, seed } = this.callGenerator(o);
    const cfg = common.guidance > 1;
    const f = this.vaeScaleFactor;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: "StableDiffusionPipeline", prompt: o.prompt, negativePrompt: o.negativePrompt ?? null, width, height, steps,
        guidanceScale: common.guidance, numImagesPerPrompt: common.n, seed: reportSeed(seed), rng: o.generator ? "custom" : o.rng ?? "cpu",
        scheduler: scheduler.className, eta: common.eta, clipSkip: o.clipSkip ?? 0, model: this.parts.source,
      },
    };
    return this.enqueue(o.signal, async () => {
      const embeds = await this.encodePrompts(prompts, negatives, common.n, cfg, o, plan.warnings);
      scheduler.setTimesteps(steps);
      const latents = this.initialLatents([prompts.length * common.n, 4, height / f, width / f], o.latents, generator, scheduler);
      const out = await this.denoise({
        scheduler, timesteps: scheduler.timesteps, latents, embeds, cfg, guidanceScale: common.guidance,
        guidanceRescale: common.rescale, generator, eta: common.eta, options: o,
      });
      return this.finish(out, o, common.outputType, plan);
    });
  }

  protected async runImg2Img(o: Img2ImgOptions, pipelineName: PipelineClassName): Promise<PipelineResult> {
    this.checkAlive();
    this.requireChannels(4, "img2img");
    const { prompts, negatives } = DiffusionPipeline.normalizePrompts(o.prompt, o.negativePrompt);
    const common = DiffusionPipeline.checkCommon(o);
    const strength = checkNumber("strength", o.strength ?? 0.8, 0, 1);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 50, scheduler);
    if (Math.floor(steps * strength) < 1) {
      throw new UnsupportedError(`strength ${strength} with ${steps} steps leaves no denoising step; raise strength or steps`);
    }
    if (o.latents !== undefined) throw new UnsupportedError("img2img takes no initial latents (they come from the image)");
    const { generator, seed } = this.callGenerator(o);
    const img = await readImage("image", o.image);
    const f = this.vaeScaleFactor;
    const width = img.width - (img.width % f), height = img.height - (img.height % f);
    if (width < f || height < f) throw new UnsupportedError(`image is ${img.width}x${img.height}; it must be at least ${f}x${f}`);
    const cfg = common.guidance > 1;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: pipelineName, prompt: o.prompt, negativePrompt: o.negativePrompt ?? null, width, height, steps, strength,
        guidanceScale: common.guidance, numImagesPerPrompt: common.n, seed: reportSeed(seed), rng: o.generator ? "custom" : o.rng ?? "cpu",
        scheduler: scheduler.className, eta: common.eta, clipSkip: o.clipSkip ?? 0, model: this.parts.source,
      },
    };
    if (width !== img.width || height !== img.height) {
      plan.warnings.push(`image is ${img.width}x${img.height}; resized to ${width}x${height} (multiples of ${f})`);
    }
    return this.enqueue(o.signal, async () => {
      const image: Tensor = preprocessImage(img, width, height);
      const embeds = await this.encodePrompts(prompts, negatives, common.n, cfg, o, plan.warnings);
      const timesteps = DiffusionPipeline.img2imgTimesteps(scheduler, steps, strength);
      const latents = await this.img2imgLatents(image, prompts.length * common.n, timesteps[0]!, scheduler, generator, o.signal);
      const out = await this.denoise({
        scheduler, timesteps, latents, embeds, cfg, guidanceScale: common.guidance, guidanceRescale: common.rescale,
        generator, eta: common.eta, options: o,
      });
      return this.finish(out, o, common.outputType, plan);
    });
  }
}

/** Text-to-image (diffusers StableDiffusionPipeline); `img2img()` runs image-to-image on the same weights. */
export class StableDiffusionPipeline extends SdTextPipeline {
  readonly pipelineClass = "StableDiffusionPipeline" as const;

  /** Loads a model as this class (any model with a 4-channel UNet and a text encoder). */
  static async load(source: string, options: import("./types.js").LoadPipelineOptions = {}): Promise<StableDiffusionPipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionPipeline(await loadPipelineParts(source, options, "StableDiffusionPipeline"));
  }

  /** Generates images from text (diffusers `pipe(prompt, ...)`). */
  generate(options: Txt2ImgOptions): Promise<PipelineResult> {
    return this.runTxt2Img(options);
  }

  /** Image-to-image with these weights (diffusers `StableDiffusionImg2ImgPipeline(**pipe.components)`). */
  img2img(options: Img2ImgOptions): Promise<PipelineResult> {
    return this.runImg2Img(options, "StableDiffusionImg2ImgPipeline");
  }
}

/** Image-to-image (diffusers StableDiffusionImg2ImgPipeline). */
export class StableDiffusionImg2ImgPipeline extends SdTextPipeline {
  readonly pipelineClass = "StableDiffusionImg2ImgPipeline" as const;

  static async load(source: string, options: import("./types.js").LoadPipelineOptions = {}): Promise<StableDiffusionImg2ImgPipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionImg2ImgPipeline(await loadPipelineParts(source, options, "StableDiffusionImg2ImgPipeline"));
  }

  /**
   * An img2img pipeline on another pipeline's weights (shared, not copied; calls on both are queued together).
   * Disposing either one frees the shared weights.
   */
  static fromPipeline(pipe: DiffusionPipeline): StableDiffusionImg2ImgPipeline {
    return new StableDiffusionImg2ImgPipeline((pipe as unknown as { parts: import("./base.js").PipelineParts }).parts);
  }

  generate(options: Img2ImgOptions): Promise<PipelineResult> {
    return this.runImg2Img(options, "StableDiffusionImg2ImgPipeline");
  }
}
