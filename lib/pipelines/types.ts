/** Options and results shared by the pipelines. */
import type { Generator } from "../rng/generator.js";
import type { ImageInput } from "../images/index.js";
import type { Tensor } from "../tensor.js";
import type { LongPromptMode, PromptSyntax } from "../tokenizer/index.js";

export type { ImageInput };

/** The pipeline classes sd-native implements (diffusers names). */
export type PipelineClassName =
  | "StableDiffusionPipeline"
  | "StableDiffusionImg2ImgPipeline"
  | "StableDiffusionInpaintPipeline"
  | "StableDiffusionImageVariationPipeline"
  | "StableDiffusionDepth2ImgPipeline"
  | "StableDiffusionUpscalePipeline";

export interface LoadPipelineOptions {
  /**
   * Where the networks run. "auto" (default) and "cpu" run them on the CPU: the CUDA network kernels are
   * compiled in but not yet verified on a GPU, so "auto" stays on the CPU (`pipe.deviceReason` says why).
   * "cuda" opts in to them and rejects with code ERR_BACKEND when no CUDA device is usable.
   */
  device?: "auto" | "cpu" | "cuda";
  /** CPU worker threads (default: all online cores). */
  threads?: number;
  /**
   * Weight precision. The CPU always computes in float32 and reads weights as the files store them (f16
   * files stay f16 in memory, widened inside the kernels), so this matters on the GPU: "float16" (default
   * there: tensor cores) or "float32" (slower, for debugging).
   */
  dtype?: "float16" | "float32";
  /**
   * Scheduler to use instead of the model's: a name ("ddim", "euler-a", "dpm++2m", ... or a diffusers class
   * name; built from the model's scheduler config like diffusers' `Cls.from_config`) or a complete
   * scheduler_config.json object (with `_class_name`).
   */
  scheduler?: string | Record<string, unknown>;
  /** Extra scheduler options (snake_case or camelCase), applied on top of `scheduler`. */
  schedulerOptions?: Record<string, unknown>;
  /**
   * Run the safety checker on decoded images (default true where the model ships one). Turning it off
   * prints a warning once (console.warn) and adds one to every result.
   */
  safetyChecker?: boolean;
  /** A VAE to use instead of the model's: a diffusers `vae/` folder or a single VAE weight file. */
  vae?: string;
  /** Weight variant, e.g. "fp16" (falls back to the plain files with a warning). */
  variant?: string;
  /** Hugging Face cache lookup (repo ids): revision and cache folder. */
  revision?: string;
  cacheDir?: string;
  /** Single-file checkpoints: family and values shapes cannot tell (see inspectSingleFile). */
  singleFile?: {
    family?: import("../models/index.js").ModelFamily;
    predictionType?: "epsilon" | "v_prediction";
    imageSize?: number;
    upcastAttention?: boolean;
    /** Final say over any inferred config field (validated like config.json content). */
    overrides?: { unet?: Record<string, unknown>; vae?: Record<string, unknown>; text_encoder?: Record<string, unknown> };
  };
  /**
   * Memory mode: decode the latents in overlapping tiles of the model's native latent size (diffusers'
   * tiled VAE decoding), so large images need memory for one tile at a time. Default false. Attention
   * never materialises an N x N matrix (flash-style kernels), so there is no attention-slicing option.
   */
  vaeTiling?: boolean;
  /** Use this context instead of creating one (it is then not disposed with the pipeline). */
  context?: import("../context.js").Context;
}

export interface ProgressEvent {
  /** Denoising steps done (1-based). */
  step: number;
  /** Denoising steps in this call. */
  total: number;
  /** The timestep of the step just done. */
  timestep: number;
  /** Rough RGB preview of the current latents (first image), when the call asked for `preview: true`. */
  preview?: { data: Uint8Array; width: number; height: number };
}

export type OutputType = "png" | "raw" | "latent";

/** An 8-bit RGB image, HWC interleaved (the images module's RawImage). */
export type RawImage = import("../images/index.js").RGBImage;

/** Options every pipeline call takes. */
export interface CommonCallOptions {
  /** Denoising steps (diffusers num_inference_steps). */
  steps?: number;
  /** Classifier-free guidance scale; guidance is used when > 1 (diffusers). */
  guidanceScale?: number;
  /** diffusers guidance_rescale (0 = off, default). */
  guidanceRescale?: number;
  /** Images per prompt (default 1). */
  numImagesPerPrompt?: number;
  /** Seed of the default generator (number or bigint). Default: a random seed (reported in `parameters.seed`). */
  seed?: number | bigint;
  /** The generator(s) to draw noise from instead of a seeded one (one per image for a list, like diffusers). */
  generator?: Generator | readonly Generator[];
  /** Which torch generator the seed drives: "cpu" (default, torch.Generator("cpu")) or "cuda" (Philox). */
  rng?: "cpu" | "cuda";
  /** DDIM eta (default 0). */
  eta?: number;
  /** Initial latents instead of random ones ([batch * numImagesPerPrompt, 4, h, w]). */
  latents?: Tensor;
  /** "png" (default): PNG buffers; "raw": uint8 RGB; "latent": no decode (only `latents`). */
  outputType?: OutputType;
  /** Called after every denoising step. */
  onProgress?: (event: ProgressEvent) => void;
  /** Include a latent preview in progress events. */
  preview?: boolean;
  /** Stops the call between network calls (and inside them); the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Decode tile by tile for this call (overrides LoadPipelineOptions.vaeTiling). */
  vaeTiling?: boolean;
  /** Use a different scheduler for this call (name or config, as in LoadPipelineOptions). */
  scheduler?: string | Record<string, unknown>;
}

/** Options of pipelines with a text prompt. */
export interface PromptCallOptions extends CommonCallOptions {
  prompt: string | string[];
  negativePrompt?: string | string[];
  /** Skip the last N text-encoder layers (diffusers clip_skip; applied to the prompt, not the negative one, as diffusers does). */
  clipSkip?: number;
  /** "plain" (default, diffusers) or "weighted" (A1111 `(word:1.2)` syntax). */
  promptSyntax?: PromptSyntax;
  /** "truncate" (default, diffusers) or "chunk" (A1111 75-token chunks). */
  longPrompt?: LongPromptMode;
}

export interface PipelineResult {
  /** PNG buffers (outputType "png"), raw RGB images ("raw"), or [] ("latent"). */
  images: (Buffer | RawImage)[];
  /** The final latents (before the VAE decode). */
  latents: Tensor;
  /** Per image, whether the safety checker flagged it (the image is then black); null when no checker ran. */
  nsfwContentDetected: boolean[] | null;
  warnings: string[];
  /** What was used: prompts, sizes, steps, scheduler, seed, ... (also written into PNG text metadata). */
  parameters: Record<string, unknown>;
}
