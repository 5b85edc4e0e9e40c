/** Shared parts of DPM-Solver multistep and UniPC: integer timesteps, sigma tables, alpha/sigma conversion. */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { f32, interpTrain, karrasSigmas, logSigmasOf, npArange, npLinspace, roundHalfEven, sigmaToT, trainSigmas } from "./numeric.js";
import { indexForTimestep, Scheduler } from "./scheduler.js";

export abstract class MultistepScheduler extends Scheduler {
  protected readonly trainSigmasF32: Float32Array;
  protected readonly logSigmasF32: Float32Array;

  constructor(config: SchedulerConfig) {
    super(config);
    this.trainSigmasF32 = trainSigmas(this.alphasCumprod);
    this.logSigmasF32 = logSigmasOf(this.trainSigmasF32);
  }

  get initNoiseSigma(): number {
    return 1;
  }

  /** Integer timesteps for `n` steps ending before `lastTimestep` (linspace/leading use n + 1 points). */
  protected spacedTimesteps(n: number, lastTimestep: number): number[] {
    const N = this.config.num_train_timesteps;
    switch (this.config.timestep_spacing) {
      case "linspace":
        return npLinspace(0, lastTimestep - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
      case "leading": {
        const ratio = Math.floor(lastTimestep / (n + 1));
        return Array.from({ length: n + 1 }, (_, i) => i * ratio)
          .reverse()
          .slice(0, -1)
          .map((t) => t + this.config.steps_offset);
      }
      case "trailing":
        return npArange(lastTimestep, 0, -N / n).map((t) => roundHalfEven(t) - 1);
    }
  }

  /** Karras sigmas over the training range and their (rounded) timesteps. */
  protected karrasSchedule(n: number): { sigmas: number[]; timesteps: number[] } {
    const N = this.trainSigmasF32.length;
    const sigmas = karrasSigmas(this.trainSigmasF32[0]!, this.trainSigmasF32[N - 1]!, n);
    const timesteps = sigmas.map((s) => roundHalfEven(sigmaToT(s, this.logSigmasF32)));
    return { sigmas, timesteps };
  }

  protected interpAt(timesteps: readonly number[]): number[] {
    return timesteps.map((t) => interpTrain(t, this.trainSigmasF32));
  }

  /** sigma of alphas_cumprod[0] (the "sigma_min" final sigma), float32. */
  protected sigmaMinF32(): number {
    const a = this.alphasCumprod[0]!;
    return f32(Math.sqrt(f32(f32(1 - a) / a)));
  }

  protected initStepIndex(timestep: number): void {
    this.stepIndexValue =
      this.beginIndexValue === null ? indexForTimestep(this.timesteps, timestep, "multistep", this.className) : this.beginIndexValue;
  }

  /** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t; lambda = log(alpha_t) - log(sigma_t). */
  protected alphaSigma(sigma: number): { alpha: number; sig: number; lambda: number } {
    const alpha = 1 / Math.sqrt(sigma * sigma + 1);
    const sig = sigma * alpha;
    return { alpha, sig, lambda: Math.log(alpha) - Math.log(sig) };
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.checkPair(originalSamples, noise, "addNoise");
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    let idx: number;
    if (this.beginIndexValue === null) idx = indexForTimestep(this.timesteps, timestep, "multistep", this.className);
    else if (this.stepIndexValue !== null) idx = this.stepIndexValue;
    else idx = this.beginIndexValue;
    const sigma = this.sigmas![idx]!;
    const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
    const sig = f32(sigma * alpha);
    const out = new Float32Array(originalSamples.length);
    for (let i = 0; i < out.length; i++) out[i] = f32(alpha * originalSamples[i]!) + f32(sig * noise[i]!);
    return out;
  }

  protected requireSigmaTimesteps(): void {
    if (!this.sigmas) throw new InvalidArgumentError(`${this.className}: call setTimesteps(n) first`);
  }
}
