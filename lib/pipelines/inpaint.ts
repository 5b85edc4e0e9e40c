/** StableDiffusionInpaintPipeline: 9-channel inpainting UNets (and the 4-channel blend fallback diffusers has). */
import { InvalidArgumentError, ShapeError, UnsupportedError } from "../errors.js";
import { preprocessImage, preprocessMask } from "../images/index.js";
import { randnTensor } from "../rng/generator.js";
import type { Tensor } from "../tensor.js";
import {
  checkNumber, checkSize, checkSteps, DiffusionPipeline, readImage, reportSeed, type Plan, type StepEndCallback,
} from "./base.js";
import { catBatch, catChannels, resizeNearest, tileBatch } from "./tensor-ops.js";
import type { ImageInput, LoadPipelineOptions, PipelineResult, PromptCallOptions } from "./types.js";

export interface InpaintOptions extends PromptCallOptions {
  /** The image to inpaint. */
  image: ImageInput;
  /** White = repaint, black = keep (binarised at 0.5). Must have the image's size. */
  maskImage: ImageInput;
  /** Output width (multiple of 8); image and mask are resized to it. Default: unet sample_size * 8 (as diffusers). */
  width?: number;
  height?: number;
  /** Default 1.0 (start from pure noise). */
  strength?: number;
  /** Default 50. */
  steps?: number;
  /** Default 7.5. */
  guidanceScale?: number;
  onStepEnd?: StepEndCallback;
}

const f32 = Math.fround;

export class StableDiffusionInpaintPipeline extends DiffusionPipeline {
  readonly pipelineClass = "StableDiffusionInpaintPipeline" as const;

  static async load(source: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionInpaintPipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionInpaintPipeline(await loadPipelineParts(source, options, "StableDiffusionInpaintPipeline"));
  }

  async generate(o: InpaintOptions): Promise<PipelineResult> {
    this.checkAlive();
    const unetIn = this.parts.unet.inChannels;
    if (unetIn !== 9 && unetIn !== 4) throw new UnsupportedError(`inpainting needs a UNet with 9 (or 4) input channels, this one has ${unetIn}`);
    const { prompts, negatives } = DiffusionPipeline.normalizePrompts(o.prompt, o.negativePrompt);
    const common = DiffusionPipeline.checkCommon(o);
    const width = checkSize("width", o.width ?? this.defaultSize);
    const height = checkSize("height", o.height ?? this.defaultSize);
    const strength = checkNumber("strength", o.strength ?? 1.0, 0, 1);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 50, scheduler);
    if (Math.floor(steps * strength) < 1) throw new InvalidArgumentError(`strength ${strength} with ${steps} steps leaves no denoising step`);
    const { generator, seed } = this.callGenerator(o);
    const img = await readImage("image", o.image);
    const mask = await readImage("maskImage", o.maskImage);
    if (mask.width !== img.width || mask.height !== img.height) {
      throw new ShapeError(`maskImage is ${mask.width}x${mask.height} but image is ${img.width}x${img.height}; they must have the same size`);
    }
    const cfg = common.guidance > 1;
    const f = this.vaeScaleFactor;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: this.pipelineClass, prompt: o.prompt, negativePrompt: o.negativePrompt ?? null, width, height, steps, strength,
        guidanceScale: common.guidance, numImagesPerPrompt: common.n, seed: reportSeed(seed), rng: o.generator ? "custom" : o.rng ?? "cpu",
        scheduler: scheduler.className, eta: common.eta, clipSkip: o.clipSkip ?? 0, model: this.parts.source,
      },
    };
    return this.enqueue(o.signal, async () => {
      const embeds = await this.encodePrompts(prompts, negatives, common.n, cfg, o, plan.warnings);
      const timesteps = DiffusionPipeline.img2imgTimesteps(scheduler, steps, strength);
      const isStrengthMax = strength === 1;
      const batch = prompts.length * common.n;
      const h = height / f, w = width / f;
      const initImage = preprocessImage(img, width, height);

      // prepare_latents
      const returnImageLatents = unetIn === 4;
      let imageLatents: Tensor | null = null;
      if (returnImageLatents || (o.latents === undefined && !isStrengthMax)) {
        imageLatents = await this.encodeImageLatents(initImage, generator, o.signal);
        imageLatents = tileBatch(imageLatents, Math.floor(batch / imageLatents.shape[0]!));
      }
      let latents: Tensor;
      let noise: Float32Array;
      const shape = [batch, 4, h, w];
      if (o.latents === undefined) {
        noise = randnTensor(shape, generator);
        if (isStrengthMax) latents = this.initialLatents(shape, { shape, data: noise }, generator, scheduler);
        else latents = { shape, data: scheduler.addNoise(imageLatents!.data, noise, timesteps[0]!) };
      } else {
        latents = this.initialLatents(shape, o.latents, generator, scheduler);
        noise = o.latents.data;
      }

      // prepare_mask_latents
      const maskCond = preprocessMask(mask, width, height);
      const masked = new Float32Array(initImage.data.length);
      const plane = width * height;
      for (let c = 0; c < 3; c++) {
        for (let i = 0; i < plane; i++) masked[c * plane + i] = maskCond.data[i]! < 0.5 ? initImage.data[c * plane + i]! : 0;
      }
      let maskLatent = resizeNearest(maskCond, h, w);
      maskLatent = tileBatch(maskLatent, Math.max(1, Math.floor(batch / maskLatent.shape[0]!)));
      let extra: Tensor | undefined;
      if (unetIn === 9) {
        let maskedLatents = await this.encodeImageLatents({ shape: initImage.shape, data: masked }, generator, o.signal);
        maskedLatents = tileBatch(maskedLatents, Math.max(1, Math.floor(batch / maskedLatents.shape[0]!)));
        const m2 = cfg ? catBatch([maskLatent, maskLatent]) : maskLatent;
        const ml2 = cfg ? catBatch([maskedLatents, maskedLatents]) : maskedLatents;
        extra = catChannels([m2, ml2]);
      }

      let afterStep: ((i: number, l: Float32Array) => Float32Array) | undefined;
      if (unetIn === 4) {
        const lp = h * w;
        afterStep = (i, l) => {
          let proper = imageLatents!.data;
          if (i < timesteps.length - 1) proper = scheduler.addNoise(proper, noise, timesteps[i + 1]!);
          const out = new Float32Array(l.length);
          for (let b = 0; b < batch; b++) {
            for (let c = 0; c < 4; c++) {
              for (let k = 0; k < lp; k++) {
                const m = maskLatent.data[b * lp + k]!;
                const idx = (b * 4 + c) * lp + k;
                out[idx] = f32(f32(f32(1 - m) * proper[idx]!) + f32(m * l[idx]!));
              }
            }
          }
          return out;
        };
      }
      const out = await this.denoise({
        scheduler, timesteps, latents, embeds, cfg, guidanceScale: common.guidance, guidanceRescale: common.rescale,
        generator, eta: common.eta, options: o, ...(extra ? { extra } : {}), ...(afterStep ? { afterStep } : {}),
      });
      return this.finish(out, o, common.outputType, plan);
    });
  }
}
