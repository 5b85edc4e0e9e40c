/** Which endpoints a loaded pipeline serves: decided by the pipeline class loadPipeline() returned. */
import type { DiffusionPipeline } from "../pipelines/base.js";
import { StableDiffusionDepth2ImgPipeline } from "../pipelines/depth2img.js";
import { StableDiffusionImageVariationPipeline } from "../pipelines/image-variation.js";
import { StableDiffusionInpaintPipeline } from "../pipelines/inpaint.js";
import { StableDiffusionImg2ImgPipeline, StableDiffusionPipeline } from "../pipelines/stable-diffusion.js";
import { StableDiffusionUpscalePipeline } from "../pipelines/upscale.js";

/** What a job does (one endpoint each). */
export type JobKind = "txt2img" | "img2img" | "inpaint" | "variation" | "upscale" | "depth2img";

export const JOB_KINDS: readonly JobKind[] = ["txt2img", "img2img", "inpaint", "variation", "upscale", "depth2img"];

/** The endpoint of each kind of job. */
export const ENDPOINTS: Readonly<Record<JobKind, string>> = {
  txt2img: "/v1/images/generations",
  img2img: "/v1/images/img2img",
  inpaint: "/v1/images/inpaint",
  variation: "/v1/images/variations",
  upscale: "/v1/images/upscale",
  depth2img: "/v1/images/depth2img",
};

/** The kinds of jobs a pipeline serves, or null when the server cannot serve it. */
export function kindsOf(pipe: unknown): JobKind[] | null {
  if (pipe instanceof StableDiffusionPipeline) return ["txt2img", "img2img"];
  if (pipe instanceof StableDiffusionImg2ImgPipeline) return ["img2img"];
  if (pipe instanceof StableDiffusionInpaintPipeline) return ["inpaint"];
  if (pipe instanceof StableDiffusionImageVariationPipeline) return ["variation"];
  if (pipe instanceof StableDiffusionUpscalePipeline) return ["upscale"];
  if (pipe instanceof StableDiffusionDepth2ImgPipeline) return ["depth2img"];
  return null;
}

/** What validation needs to know about a loaded model. */
export interface ModelInfo {
  name: string;
  pipelineClass: string;
  kinds: readonly JobKind[];
  /** Default output size (txt2img, variations). */
  defaultSize: number;
  /** Pixels per latent (8; 4 for the x4 upscaler, whose output is this many times its input). */
  vaeScaleFactor: number;
  /** Largest noise_level (upscaler). */
  maxNoiseLevel: number;
}

export function modelInfo(name: string, pipe: DiffusionPipeline, kinds: readonly JobKind[]): ModelInfo {
  return {
    name,
    pipelineClass: pipe.pipelineClass,
    kinds,
    defaultSize: pipe.defaultSize,
    vaeScaleFactor: pipe.vaeScaleFactor,
    maxNoiseLevel: pipe instanceof StableDiffusionUpscalePipeline ? pipe.maxNoiseLevel : 0,
  };
}

/** "StableDiffusionPipeline: POST /v1/images/generations, POST /v1/images/img2img" */
export function describeModel(m: ModelInfo): string {
  return `${m.pipelineClass}, which serves ${m.kinds.map((k) => `POST ${ENDPOINTS[k]}`).join(" and ")}`;
}
