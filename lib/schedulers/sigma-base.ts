/**
 * Shared base of the k-diffusion style schedulers (LMS, Euler, Euler ancestral, Heun, KDPM2): sigmas from
 * alphas_cumprod, input scaling x / sqrt(sigma^2 + 1), step-index tracking and add_noise x0 + sigma * noise.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { f32, interpTrain, karrasSigmas, logSigmasOf, roundHalfEven, sigmaSchedulerTimesteps, sigmaToT, trainSigmas } from "./numeric.js";
import { indexForTimestep, Scheduler } from "./scheduler.js";

export abstract class SigmaScheduler extends Scheduler {
  /** float32 training sigmas (index = training timestep) and their float32 logs. */
  protected readonly trainSigmasF32: Float32Array;
  protected readonly logSigmasF32: Float32Array;

  constructor(config: SchedulerConfig) {
    super(config);
    this.trainSigmasF32 = trainSigmas(this.alphasCumprod);
    this.logSigmasF32 = logSigmasOf(this.trainSigmasF32);
  }

  get initNoiseSigma(): number {
    const sigmas = this.sigmas ?? this.defaultSigmas();
    let max = 0;
    for (const s of sigmas) if (s > max) max = s;
    const spacing = this.config.timestep_spacing;
    if (spacing === "linspace" || spacing === "trailing") return max;
    return f32(Math.sqrt(f32(f32(max * max) + 1)));
  }

  /** Sigmas before setTimesteps (the full training schedule). */
  protected defaultSigmas(): number[] {
    return Array.from(this.trainSigmasF32);
  }

  /** Inference timesteps (float32 values) per timestep_spacing. */
  protected baseTimesteps(n: number): number[] {
    return sigmaSchedulerTimesteps(this.config.timestep_spacing, n, this.config.num_train_timesteps, this.config.steps_offset);
  }

  /** np.interp of the training sigmas at the (float) timesteps, float64. */
  protected interpSigmas(timesteps: readonly number[]): number[] {
    return timesteps.map((t) => interpTrain(t, this.trainSigmasF32));
  }

  /**
   * The inference schedule of the interpolating schedulers (LMS, Heun, KDPM2): timesteps per
   * timestep_spacing, training sigmas interpolated at them, or Karras sigmas with timesteps mapped back
   * (`roundTimesteps`: KDPM2 rounds those to integers, half to even). Sigmas float64, before the final 0.
   */
  protected interpolatedSchedule(n: number, roundTimesteps = false): { timesteps: number[]; sigmas: number[] } {
    let timesteps = this.baseTimesteps(n);
    let sigmas = this.interpSigmas(timesteps);
    if (this.config.use_karras_sigmas) {
      sigmas = this.karras(sigmas, n);
      timesteps = sigmas.map((s) => {
        const t = sigmaToT(s, this.logSigmasF32);
        return roundTimesteps ? roundHalfEven(t) : t;
      });
    }
    return { timesteps, sigmas };
  }

  /** Karras sigmas between the interpolated schedule's ends (or config sigma_min / sigma_max). */
  protected karras(inSigmas: readonly number[], n: number): number[] {
    const sMin = this.config.sigma_min ?? inSigmas[inSigmas.length - 1]!;
    const sMax = this.config.sigma_max ?? inSigmas[0]!;
    return karrasSigmas(sMin, sMax, n);
  }

  protected initStepIndex(timestep: number): void {
    this.stepIndexValue =
      this.beginIndexValue === null ? indexForTimestep(this.timesteps, timestep, "sigma", this.className) : this.beginIndexValue;
  }

  /** The sigma used to scale the model input at the current step. */
  protected inputSigma(): number {
    return this.sigmas![this.stepIndexValue!]!;
  }

  override scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const sigma = this.inputSigma();
    const denom = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = sample[i]! / denom;
    return out;
  }

  /** x0 + sigma * noise at the sigma of `timestep` (or of the begin index set for img2img). */
  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.checkPair(originalSamples, noise, "addNoise");
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    let idx: number;
    if (this.beginIndexValue === null) idx = indexForTimestep(this.timesteps, timestep, "sigma", this.className);
    else if (this.stepIndexValue !== null) idx = this.stepIndexValue;
    else idx = this.beginIndexValue;
    const sigma = this.sigmas![idx]!;
    const out = new Float32Array(originalSamples.length);
    for (let i = 0; i < out.length; i++) out[i] = originalSamples[i]! + f32(noise[i]! * sigma);
    return out;
  }

  protected checkPrediction(allowed: readonly string[]): void {
    if (!allowed.includes(this.config.prediction_type)) {
      throw new InvalidArgumentError(`${this.className}: prediction_type ${this.config.prediction_type} is not supported`);
    }
  }
}
