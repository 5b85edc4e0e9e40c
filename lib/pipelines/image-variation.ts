/** StableDiffusionImageVariationPipeline: a CLIP image embedding as the UNet's only context token. */
import { InvalidArgumentError, UnsupportedError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { checkSize, checkSteps, DiffusionPipeline, readImage, reportSeed, type Plan, type StepEndCallback } from "./base.js";
import { catBatch, repeatInterleaveBatch } from "./tensor-ops.js";
import type { CommonCallOptions, ImageInput, LoadPipelineOptions, PipelineResult, RawImage } from "./types.js";

export interface ImageVariationOptions extends CommonCallOptions {
  /** The source image, or several (one variation batch per image). */
  image: ImageInput | ImageInput[];
  /** Multiple of 8; default unet sample_size * 8. */
  width?: number;
  height?: number;
  /** Default 50. */
  steps?: number;
  /**
   * Default 7.5, the diffusers default for this pipeline (the lambdalabs model card suggests 3.0).
   * Guidance uses all-zero image embeddings as the unconditional input.
   */
  guidanceScale?: number;
  onStepEnd?: StepEndCallback;
}

export class StableDiffusionImageVariationPipeline extends DiffusionPipeline {
  readonly pipelineClass = "StableDiffusionImageVariationPipeline" as const;

  static async load(source: string, options: LoadPipelineOptions = {}): Promise<StableDiffusionImageVariationPipeline> {
    const { loadPipelineParts } = await import("./load.js");
    return new StableDiffusionImageVariationPipeline(await loadPipelineParts(source, options, "StableDiffusionImageVariationPipeline"));
  }

  async generate(o: ImageVariationOptions): Promise<PipelineResult> {
    this.checkAlive();
    const enc = this.parts.imageEncoder, fe = this.parts.featureExtractor;
    if (!enc || !fe) throw new UnsupportedError("this model has no image encoder / feature extractor");
    if (this.parts.unet.inChannels !== 4) throw new UnsupportedError(`image variations need a 4-channel UNet, this one has ${this.parts.unet.inChannels}`);
    const common = DiffusionPipeline.checkCommon(o);
    const width = checkSize("width", o.width ?? this.defaultSize);
    const height = checkSize("height", o.height ?? this.defaultSize);
    const scheduler = this.callScheduler(o.scheduler);
    const steps = checkSteps(o.steps ?? 50, scheduler);
    const { generator, seed } = this.callGenerator(o);
    const inputs = Array.isArray(o.image) ? o.image : [o.image];
    if (inputs.length === 0) throw new InvalidArgumentError("image list is empty");
    const imgs: RawImage[] = [];
    for (let i = 0; i < inputs.length; i++) imgs.push(await readImage(inputs.length > 1 ? `image[${i}]` : "image", inputs[i]));
    const cfg = common.guidance > 1;
    const f = this.vaeScaleFactor;
    const plan: Plan = {
      warnings: [],
      parameters: {
        pipeline: this.pipelineClass, width, height, steps, guidanceScale: common.guidance, numImagesPerPrompt: common.n,
        seed: reportSeed(seed), rng: o.generator ? "custom" : o.rng ?? "cpu", scheduler: scheduler.className, eta: common.eta,
        model: this.parts.source,
      },
    };
    return this.enqueue(o.signal, async () => {
      const pixels = fe.preprocess(imgs);
      const out = await enc.forward(pixels, { signal: o.signal });
      const B = imgs.length, P = out.imageEmbeds.shape[1]!;
      let embeds: Tensor = repeatInterleaveBatch({ shape: [B, 1, P], data: out.imageEmbeds.data }, common.n);
      if (cfg) embeds = catBatch([{ shape: embeds.shape, data: new Float32Array(embeds.data.length) }, embeds]);
      scheduler.setTimesteps(steps);
      const latents = this.initialLatents([B * common.n, 4, height / f, width / f], o.latents, generator, scheduler);
      const res = await this.denoise({
        scheduler, timesteps: scheduler.timesteps, latents, embeds, cfg, guidanceScale: common.guidance,
        guidanceRescale: common.rescale, generator, eta: common.eta, options: o,
      });
      return this.finish(res, o, common.outputType, plan);
    });
  }
}
