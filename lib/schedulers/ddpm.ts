/** DDPM (Ho et al. 2020) ancestral sampling. Mirrors diffusers' DDPMScheduler. */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { ddimStyleTimesteps } from "./alphas-timesteps.js";
import { thresholdSample } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { addNoiseAlphas, Scheduler } from "./scheduler.js";

export class DDPMScheduler extends Scheduler {
  readonly className = "DDPMScheduler" as const;

  constructor(config: SchedulerConfig) {
    super(config);
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

  protected override acceptsDoubleChannelOutput(outLen: number, n: number): boolean {
    const vt = this.config.variance_type;
    return outLen === 2 * n && (vt === "learned" || vt === "learned_range");
  }

  private previousTimestep(t: number): number {
    const n = this.numInferenceSteps ?? this.config.num_train_timesteps;
    return t - Math.floor(this.config.num_train_timesteps / n);
  }

  step(modelOutputIn: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len, shape, batch } = this.checkLatents(modelOutputIn, sample, options);
    const t = timestep;
    const N = this.config.num_train_timesteps;
    if (!Number.isInteger(t) || t < 0 || t >= N) throw new InvalidArgumentError(`DDPMScheduler.step: timestep ${t} is not an integer in [0, ${N})`);
    let modelOutput = modelOutputIn;
    let predictedVariance: Float32Array | null = null;
    if (modelOutputIn.length === 2 * len) {
      // Split along the channel dimension (dim 1): [B, 2C, ...] -> mean [B, C, ...], variance [B, C, ...].
      const per = len / batch;
      modelOutput = new Float32Array(len);
      predictedVariance = new Float32Array(len);
      for (let b = 0; b < batch; b++) {
        modelOutput.set(modelOutputIn.subarray(2 * b * per, 2 * b * per + per), b * per);
        predictedVariance.set(modelOutputIn.subarray(2 * b * per + per, 2 * (b + 1) * per), b * per);
      }
    }
    const prevT = this.previousTimestep(t);
    const at = this.alphasCumprod[t]!;
    const atPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : 1;
    const bt = 1 - at;
    const btPrev = 1 - atPrev;
    const curAlpha = at / atPrev;
    const curBeta = 1 - curAlpha;
    const sa = Math.sqrt(at);
    const sb = Math.sqrt(bt);
    const pt = this.config.prediction_type;
    const x0 = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      x0[i] = pt === "epsilon" ? (x - sb * m) / sa : pt === "sample" ? m : sa * x - sb * m;
    }
    if (this.config.thresholding) thresholdSample(x0, batch, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
    else if (this.config.clip_sample) {
      const r = this.config.clip_sample_range;
      for (let i = 0; i < len; i++) x0[i] = Math.min(Math.max(x0[i]!, -r), r);
    }
    const x0Coeff = (Math.sqrt(atPrev) * curBeta) / bt;
    const xCoeff = (Math.sqrt(curAlpha) * btPrev) / bt;
    const prev = new Float64Array(len);
    for (let i = 0; i < len; i++) prev[i] = x0Coeff * x0[i]! + xCoeff * sample[i]!;
    if (t > 0) {
      const noise = this.drawNoise(shape, options);
      const vt = this.config.variance_type ?? "fixed_small";
      const baseVar = Math.max((btPrev / bt) * curBeta, 1e-20);
      for (let i = 0; i < len; i++) {
        let scale: number;
        switch (vt) {
          case "fixed_small_log":
            scale = Math.exp(0.5 * Math.log(baseVar));
            break;
          case "fixed_large":
            scale = Math.sqrt(curBeta);
            break;
          case "fixed_large_log":
            scale = Math.sqrt(Math.log(curBeta)); // as diffusers (NaN for beta < 1; kept for parity)
            break;
          case "learned":
            scale = Math.sqrt(predictedVariance ? predictedVariance[i]! : baseVar);
            break;
          case "learned_range": {
            const frac = ((predictedVariance ? predictedVariance[i]! : 0) + 1) / 2;
            const v = frac * Math.log(curBeta) + (1 - frac) * Math.log(baseVar);
            scale = Math.exp(0.5 * v);
            break;
          }
          default:
            scale = Math.sqrt(baseVar);
        }
        prev[i] = prev[i]! + scale * noise[i]!;
      }
    }
    return { prevSample: Float32Array.from(prev), predOriginalSample: Float32Array.from(x0) };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.checkPair(originalSamples, noise, "addNoise");
    return addNoiseAlphas(this.alphasCumprod, originalSamples, noise, timestep, this.className);
  }
}
