/**
 * DDIM (Song et al. 2021): deterministic (eta = 0) or partially stochastic sampling. Mirrors diffusers'
 * DDIMScheduler (prev timestep = t - num_train_timesteps // num_inference_steps).
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { ddimStyleTimesteps } from "./alphas-timesteps.js";
import { thresholdSample } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { addNoiseAlphas, Scheduler } from "./scheduler.js";

export class DDIMScheduler extends Scheduler {
  readonly className = "DDIMScheduler" as const;
  private readonly finalAlphaCumprod: number;

  constructor(config: SchedulerConfig) {
    super(config);
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!;
  }

  get initNoiseSigma(): number {
    return 1;
  }

  protected override supportsBeginIndex(): boolean {
    return false;
  }

  protected computeTimesteps(n: number): void {
    this.timesteps = ddimStyleTimesteps(this.config, n);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len, shape, batch } = this.checkLatents(modelOutput, sample, options);
    const eta = options?.eta ?? 0;
    if (typeof eta !== "number" || !(eta >= 0)) throw new InvalidArgumentError(`DDIMScheduler.step: eta must be >= 0, got ${String(eta)}`);
    const N = this.config.num_train_timesteps;
    const t = timestep;
    if (!Number.isInteger(t) || t < 0 || t >= N) throw new InvalidArgumentError(`DDIMScheduler.step: timestep ${t} is not an integer in [0, ${N})`);
    const prevT = t - Math.floor(N / this.numInferenceSteps!);
    const at = this.alphasCumprod[t]!;
    const atPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : this.finalAlphaCumprod;
    const bt = 1 - at;
    const sa = Math.sqrt(at);
    const sb = Math.sqrt(bt);
    const pt = this.config.prediction_type;
    const x0 = new Float64Array(len);
    const epsv = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      if (pt === "epsilon") {
        x0[i] = (x - sb * m) / sa;
        epsv[i] = m;
      } else if (pt === "sample") {
        x0[i] = m;
        epsv[i] = (x - sa * m) / sb;
      } else {
        x0[i] = sa * x - sb * m;
        epsv[i] = sa * m + sb * x;
      }
    }
    if (this.config.thresholding) thresholdSample(x0, batch, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
    else if (this.config.clip_sample) {
      const r = this.config.clip_sample_range;
      for (let i = 0; i < len; i++) x0[i] = Math.min(Math.max(x0[i]!, -r), r);
    }
    const btPrev = 1 - atPrev;
    const variance = (btPrev / bt) * (1 - at / atPrev);
    const std = eta * Math.sqrt(variance);
    if (options?.useClippedModelOutput) {
      for (let i = 0; i < len; i++) epsv[i] = (sample[i]! - sa * x0[i]!) / sb;
    }
    const dirCoeff = Math.sqrt(1 - atPrev - std * std);
    const x0Coeff = Math.sqrt(atPrev);
    const prev = new Float64Array(len);
    for (let i = 0; i < len; i++) prev[i] = x0Coeff * x0[i]! + dirCoeff * epsv[i]!;
    if (eta > 0) {
      let noise = options?.varianceNoise;
      if (noise !== undefined) {
        if (noise.length !== len) throw new ShapeError(`DDIMScheduler.step: varianceNoise has ${noise.length} elements, expected ${len}`);
      } else {
        noise = this.drawNoise(shape, options);
      }
      for (let i = 0; i < len; i++) prev[i] = prev[i]! + std * noise[i]!;
    }
    return { prevSample: Float32Array.from(prev), predOriginalSample: Float32Array.from(x0) };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.checkPair(originalSamples, noise, "addNoise");
    return addNoiseAlphas(this.alphasCumprod, originalSamples, noise, timestep, this.className);
  }
}
