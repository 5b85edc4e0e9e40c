/**
 * The common scheduler interface and shared machinery (latent validation, noise draws, img2img timesteps).
 * Latents are row-major Float32Arrays; `shape` (default [1, length]) tells the batch size for per-item
 * generator lists and thresholding. Internal math is float64 over diffusers' float32 tables.
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";
import type { Generator } from "../rng/generator.js";
import { randnTensor } from "../rng/generator.js";
import { TorchCpuGenerator } from "../rng/torch-cpu.js";
import type { PredictionType, SchedulerClassName, SchedulerConfig } from "./config.js";
import { publicConfig } from "./config.js";
import { alphasCumprodOf, makeBetas, rescaleZeroTerminalSnr } from "./numeric.js";

export interface StepOptions {
  /** Where noise comes from (one generator, or one per batch item like diffusers' generator lists). */
  generator?: Generator | readonly Generator[];
  /** Tensor shape of sample/modelOutput (default [1, length]). */
  shape?: readonly number[];
  /** DDIM: eta (default 0). */
  eta?: number;
  /** DDIM: recompute epsilon from the clipped x0. */
  useClippedModelOutput?: boolean;
  /** DDIM / SDE DPM-Solver: noise to use instead of drawing from the generator. */
  varianceNoise?: Float32Array;
  /** Euler: churn parameters (diffusers' s_churn, s_tmin, s_tmax, s_noise). */
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export interface StepResult {
  prevSample: Float32Array;
  /** The x0 estimate where the scheduler computes one in this call. */
  predOriginalSample?: Float32Array;
}

export interface Img2ImgTimesteps {
  /** The timesteps to run (scheduler.timesteps[tStart * order:]). */
  timesteps: number[];
  /** Index of the first kept inference step. */
  tStart: number;
  /** num_inference_steps - t_start (what the pipeline reports). */
  numInferenceSteps: number;
  /** The timestep the initial latents are noised at (the first kept timestep), undefined if none are kept. */
  latentTimestep: number | undefined;
}

let fallbackSeed = 0;

export abstract class Scheduler {
  abstract readonly className: SchedulerClassName;
  readonly config: Readonly<SchedulerConfig>;
  /** Model evaluations per inference step of the underlying solver (diffusers' `order`). */
  readonly order: number = 1;
  /** float32 alphas_cumprod indexed by training timestep. */
  readonly alphasCumprod: Float32Array;
  /** The schedule after setTimesteps (training timesteps; fractional for some Karras/KDPM2 schedules). */
  timesteps: number[] = [];
  /** Noise levels per schedule entry (+ the final one), where the scheduler has them; float32 values. */
  sigmas: number[] | null = null;
  numInferenceSteps: number | null = null;
  protected stepIndexValue: number | null = null;
  protected beginIndexValue: number | null = null;

  constructor(config: SchedulerConfig) {
    this.config = Object.freeze({ ...config });
    let betas = makeBetas(config);
    if (config.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas);
    this.alphasCumprod = alphasCumprodOf(betas);
    if (config.rescale_betas_zero_snr && this.usesSigmaZeroSnrFix()) {
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
  }

  /** Euler-family schedulers replace the last alphas_cumprod (exactly 0 after the zero-SNR rescale). */
  protected usesSigmaZeroSnrFix(): boolean {
    return false;
  }

  /** Config as diffusers would save it (class name + the fields this class takes). */
  toJSON(): Record<string, unknown> {
    return publicConfig(this.className, this.config as SchedulerConfig);
  }

  get predictionType(): PredictionType {
    return this.config.prediction_type;
  }

  /** Standard deviation of the initial noise (multiply randn latents by it). */
  abstract get initNoiseSigma(): number;

  /** Index of the next step() call in `timesteps` (null before the first call). */
  get stepIndex(): number | null {
    return this.stepIndexValue;
  }

  get beginIndex(): number | null {
    return this.beginIndexValue;
  }

  /** Where the first step starts (pipelines set it for img2img). */
  setBeginIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0) throw new InvalidArgumentError(`begin index must be a non-negative integer, got ${index}`);
    this.beginIndexValue = index;
  }

  /** Builds the inference schedule for `numInferenceSteps` steps and resets the solver state. */
  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    const max = this.config.num_train_timesteps;
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(
        `numInferenceSteps must be an integer in [1, ${max}] (num_train_timesteps); got ${String(n)}`,
      );
    }
    this.numInferenceSteps = n;
    this.stepIndexValue = null;
    this.beginIndexValue = null;
    this.computeTimesteps(n);
  }

  protected abstract computeTimesteps(n: number): void;

  protected requireTimesteps(): void {
    if (this.numInferenceSteps === null) {
      throw new InvalidArgumentError(`${this.className}: call setTimesteps(n) before stepping`);
    }
  }

  /** The input scaling the UNet expects at `timestep` (x / sqrt(sigma^2 + 1) for sigma schedulers). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    void timestep;
    return sample;
  }

  /** One denoising step: the previous (less noisy) sample from the model output at `timestep`. */
  abstract step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult;

  /** Noises clean latents to the level of `timestep` (img2img / inpainting). */
  abstract addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array;

  /**
   * diffusers' img2img `get_timesteps`: sets `steps` timesteps, keeps the last `floor(steps * strength)`
   * inference steps and sets the begin index so the first step and add_noise use the right sigma.
   */
  getImg2ImgTimesteps(steps: number, strength: number): Img2ImgTimesteps {
    if (typeof strength !== "number" || !(strength >= 0 && strength <= 1)) {
      throw new InvalidArgumentError(`strength must be in [0, 1]; got ${String(strength)}`);
    }
    this.setTimesteps(steps);
    const initTimestep = Math.min(Math.floor(steps * strength), steps);
    const tStart = Math.max(steps - initTimestep, 0);
    const timesteps = this.timesteps.slice(tStart * this.order);
    if (this.supportsBeginIndex()) this.setBeginIndex(tStart * this.order);
    return { timesteps, tStart, numInferenceSteps: steps - tStart, latentTimestep: timesteps[0] };
  }

  /** Whether the diffusers class has set_begin_index (the alphas_cumprod schedulers do not). */
  protected supportsBeginIndex(): boolean {
    return true;
  }

  // ---- shared helpers ----

  protected checkLatents(modelOutput: Float32Array, sample: Float32Array, options: StepOptions | undefined): {
    n: number;
    shape: readonly number[];
    batch: number;
  } {
    if (!(sample instanceof Float32Array) || !(modelOutput instanceof Float32Array)) {
      throw new InvalidArgumentError(`${this.className}.step: sample and modelOutput must be Float32Arrays`);
    }
    const n = sample.length;
    if (n === 0) throw new ShapeError(`${this.className}.step: empty sample`);
    const shape = options?.shape ?? [1, n];
    let prod = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 1) throw new ShapeError(`${this.className}.step: invalid shape [${shape.join(", ")}]`);
      prod *= d;
    }
    if (prod !== n) {
      throw new ShapeError(`${this.className}.step: sample has ${n} elements but shape [${shape.join(", ")}] has ${prod}`);
    }
    if (modelOutput.length !== n && !this.acceptsDoubleChannelOutput(modelOutput.length, n)) {
      throw new ShapeError(
        `${this.className}.step: modelOutput has ${modelOutput.length} elements, sample has ${n}; they must match`,
      );
    }
    return { n, shape, batch: shape[0]! };
  }

  protected acceptsDoubleChannelOutput(outLen: number, n: number): boolean {
    void outLen;
    void n;
    return false;
  }

  /** Draws noise like diffusers' randn_tensor(model_output.shape, generator=...). */
  protected drawNoise(shape: readonly number[], options: StepOptions | undefined): Float32Array {
    const g = options?.generator;
    if (g === undefined) {
      // diffusers falls back to torch's global generator; use a fresh, differently seeded one.
      return new TorchCpuGenerator(BigInt(Date.now()) * 1000n + BigInt(fallbackSeed++)).randn(shape);
    }
    const noise = randnTensor(shape, g);
    return noise;
  }

  protected checkPair(a: Float32Array, b: Float32Array, what: string): void {
    if (!(a instanceof Float32Array) || !(b instanceof Float32Array)) {
      throw new InvalidArgumentError(`${this.className}.${what}: inputs must be Float32Arrays`);
    }
    if (a.length !== b.length) {
      throw new ShapeError(`${this.className}.${what}: lengths differ (${a.length} vs ${b.length})`);
    }
  }

  protected checkTimestepValue(t: number): void {
    if (typeof t !== "number" || !Number.isFinite(t)) {
      throw new InvalidArgumentError(`${this.className}: timestep must be a finite number, got ${String(t)}`);
    }
  }
}

/** Converts a float64 working buffer to the float32 result. */
export function toF32(x: Float64Array): Float32Array {
  return Float32Array.from(x);
}

/** Scheduler families based on alphas_cumprod at integer timesteps (PNDM, DDIM, DDPM): shared add_noise. */
export function addNoiseAlphas(
  alphasCumprod: Float32Array,
  x0: Float32Array,
  noise: Float32Array,
  timestep: number,
  className: string,
): Float32Array {
  const t = Math.round(timestep);
  if (t !== timestep || t < 0 || t >= alphasCumprod.length) {
    throw new InvalidArgumentError(`${className}.addNoise: timestep must be an integer in [0, ${alphasCumprod.length - 1}], got ${timestep}`);
  }
  const f32 = Math.fround;
  const ac = alphasCumprod[t]!;
  const a = f32(Math.sqrt(ac));
  const b = f32(Math.sqrt(f32(1 - ac)));
  const out = new Float32Array(x0.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(a * x0[i]!) + f32(b * noise[i]!);
  return out;
}

/** Index of `timestep` in `schedule` the way the Karras-style diffusers schedulers look it up. */
export function indexForTimestep(schedule: readonly number[], timestep: number, mode: "sigma" | "multistep", className: string): number {
  const hits: number[] = [];
  for (let i = 0; i < schedule.length; i++) if (schedule[i] === timestep) hits.push(i);
  if (hits.length === 0) {
    if (mode === "multistep") return schedule.length - 1;
    throw new InvalidArgumentError(`${className}: timestep ${timestep} is not in the schedule`);
  }
  return hits.length > 1 ? hits[1]! : hits[0]!;
}
