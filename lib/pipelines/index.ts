/**
 * Stable Diffusion pipelines with diffusers 0.27.2 semantics: text-to-image, img2img, inpainting, image
 * variations, depth-to-image and the x4 upscaler.
 *
 * @example
 * ```ts
 * await using pipe = await loadPipeline("models/sd15");             // StableDiffusionPipeline
 * const { images, parameters } = await pipe.generate({ prompt: "a fox", seed: 42, steps: 30 });
 * ```
 */
export { loadPipeline, type AnyPipeline } from "./load.js";
export { DiffusionPipeline, SAFETY_OFF_WARNING, type FeatureExtractor, type StepEndCallback } from "./base.js";
export {
  StableDiffusionImg2ImgPipeline, StableDiffusionPipeline, type Img2ImgOptions, type Txt2ImgOptions,
} from "./stable-diffusion.js";
export { StableDiffusionInpaintPipeline, type InpaintOptions } from "./inpaint.js";
export { StableDiffusionImageVariationPipeline, type ImageVariationOptions } from "./image-variation.js";
export { StableDiffusionDepth2ImgPipeline, prepareDepthMap, type Depth2ImgOptions } from "./depth2img.js";
export { StableDiffusionUpscalePipeline, type UpscaleOptions } from "./upscale.js";
export type {
  CommonCallOptions, LoadPipelineOptions, OutputType, PipelineClassName, PipelineResult, ProgressEvent, PromptCallOptions,
} from "./types.js";
export { tiledDecode, type TileDecoder, type VaeTilingOptions } from "./vae-tiling.js";
export { UNetBatcher, type UNetBatcherOptions, type UNetBatcherStats } from "./unet-batcher.js";
