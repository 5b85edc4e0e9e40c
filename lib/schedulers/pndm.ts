/**
 * PNDM (Liu et al. 2022, pseudo numerical methods): Runge-Kutta warm-up (PRK) followed by linear multistep
 * (PLMS), or PLMS only with `skip_prk_steps` (what Stable Diffusion uses). Mirrors diffusers' PNDMScheduler.
 */
import type { SchedulerConfig } from "./config.js";
import { npLinspace, npArange, roundHalfEven } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { addNoiseAlphas, Scheduler } from "./scheduler.js";

export class PNDMScheduler extends Scheduler {
  readonly className = "PNDMScheduler" as const;
  private readonly finalAlphaCumprod: number;
  private prkTimesteps: number[] = [];
  private plmsTimesteps: number[] = [];
  private ets: Float64Array[] = [];
  private counter = 0;
  private curModelOutput: Float64Array | null = null;
  private curSample: Float32Array | null = null;

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
    const N = this.config.num_train_timesteps;
    let base: number[];
    switch (this.config.timestep_spacing) {
      case "linspace":
        base = npLinspace(0, N - 1, n).map(roundHalfEven);
        break;
      case "leading": {
        const ratio = Math.floor(N / n);
        base = Array.from({ length: n }, (_, i) => i * ratio + this.config.steps_offset);
        break;
      }
      case "trailing":
        base = npArange(N, 0, -N / n).map(roundHalfEven).reverse().map((t) => t - 1);
        break;
    }
    if (this.config.skip_prk_steps) {
      this.prkTimesteps = [];
      const plms = [...base.slice(0, -1), base[base.length - 2]!, base[base.length - 1]!].filter((t) => t !== undefined);
      this.plmsTimesteps = plms.reverse();
      if (n === 1) this.plmsTimesteps = [base[0]!];
    } else {
      const half = Math.floor(Math.floor(N / n) / 2);
      const last = base.slice(-4);
      const prk: number[] = [];
      for (const t of last) prk.push(t, t + 0); // repeat(2)
      const tile = [0, half];
      const withOffsets = prk.map((t, i) => t + tile[i % 2]!);
      // prk_timesteps[:-1].repeat(2)[1:-1], reversed
      const trimmed = withOffsets.slice(0, -1);
      const rep: number[] = [];
      for (const t of trimmed) rep.push(t, t);
      this.prkTimesteps = rep.slice(1, -1).reverse();
      this.plmsTimesteps = base.slice(0, -3).reverse();
    }
    this.timesteps = [...this.prkTimesteps, ...this.plmsTimesteps];
    this.ets = [];
    this.counter = 0;
    this.curModelOutput = null;
    this.curSample = null;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    this.checkLatents(modelOutput, sample, options);
    const out =
      this.counter < this.prkTimesteps.length && !this.config.skip_prk_steps
        ? this.stepPrk(modelOutput, timestep, sample)
        : this.stepPlms(modelOutput, timestep, sample);
    return { prevSample: out };
  }

  private stepPrk(modelOutput: Float32Array, timestep: number, sample: Float32Array): Float32Array {
    const N = this.config.num_train_timesteps;
    const n = this.numInferenceSteps!;
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(Math.floor(N / n) / 2);
    const prevTimestep = timestep - diffToPrev;
    const t = this.prkTimesteps[Math.floor(this.counter / 4) * 4]!;
    const len = modelOutput.length;
    let eps: Float64Array;
    const phase = this.counter % 4;
    if (phase === 0) {
      this.curModelOutput = new Float64Array(len);
      for (let i = 0; i < len; i++) this.curModelOutput[i] = modelOutput[i]! / 6;
      this.ets.push(Float64Array.from(modelOutput));
      this.curSample = sample;
      eps = Float64Array.from(modelOutput);
    } else if (phase === 1 || phase === 2) {
      const acc = this.curModelOutput ?? new Float64Array(len);
      for (let i = 0; i < len; i++) acc[i] = acc[i]! + modelOutput[i]! / 3;
      this.curModelOutput = acc;
      eps = Float64Array.from(modelOutput);
    } else {
      const acc = this.curModelOutput ?? new Float64Array(len);
      eps = new Float64Array(len);
      for (let i = 0; i < len; i++) eps[i] = acc[i]! + modelOutput[i]! / 6;
      this.curModelOutput = null;
    }
    const curSample = this.curSample ?? sample;
    const prev = this.prevSample(curSample, t, prevTimestep, eps);
    this.counter += 1;
    return prev;
  }

  private stepPlms(modelOutput: Float32Array, timestepIn: number, sampleIn: Float32Array): Float32Array {
    const N = this.config.num_train_timesteps;
    const n = this.numInferenceSteps!;
    let timestep = timestepIn;
    let sample = sampleIn;
    let prevTimestep = timestep - Math.floor(N / n);
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(Float64Array.from(modelOutput));
    } else {
      prevTimestep = timestep;
      timestep = timestep + Math.floor(N / n);
    }
    const len = modelOutput.length;
    const ets = this.ets;
    const e = new Float64Array(len);
    if (ets.length === 1 && this.counter === 0) {
      e.set(modelOutput);
      this.curSample = sample;
    } else if (ets.length === 1 && this.counter === 1) {
      const e1 = ets[ets.length - 1]!;
      for (let i = 0; i < len; i++) e[i] = (modelOutput[i]! + e1[i]!) / 2;
      sample = this.curSample!;
      this.curSample = null;
    } else if (ets.length === 2) {
      const a = ets[1]!;
      const b = ets[0]!;
      for (let i = 0; i < len; i++) e[i] = (3 * a[i]! - b[i]!) / 2;
    } else if (ets.length === 3) {
      const [c, b, a] = [ets[0]!, ets[1]!, ets[2]!];
      for (let i = 0; i < len; i++) e[i] = (23 * a[i]! - 16 * b[i]! + 5 * c[i]!) / 12;
    } else {
      const k = ets.length;
      const a = ets[k - 1]!;
      const b = ets[k - 2]!;
      const c = ets[k - 3]!;
      const d = ets[k - 4]!;
      for (let i = 0; i < len; i++) e[i] = (1 / 24) * (55 * a[i]! - 59 * b[i]! + 37 * c[i]! - 9 * d[i]!);
    }
    const prev = this.prevSample(sample, timestep, prevTimestep, e);
    this.counter += 1;
    return prev;
  }

  /** Formula (9) of the PNDM paper: x_{t-delta} from x_t and the (combined) model output. */
  private prevSample(sample: Float32Array, timestep: number, prevTimestep: number, modelOutput: Float64Array): Float32Array {
    const at = this.alphasCumprod[timestep]!;
    const atPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : this.finalAlphaCumprod;
    const bt = 1 - at;
    const btPrev = 1 - atPrev;
    const len = sample.length;
    const pt = this.config.prediction_type;
    const sampleCoeff = Math.sqrt(atPrev / at);
    const denom = at * Math.sqrt(btPrev) + Math.sqrt(at * bt * atPrev);
    const k = (atPrev - at) / denom;
    const out = new Float32Array(len);
    const sa = Math.sqrt(at);
    const sb = Math.sqrt(bt);
    for (let i = 0; i < len; i++) {
      let eps = modelOutput[i]!;
      const x = sample[i]!;
      if (pt === "v_prediction") eps = sa * eps + sb * x;
      else if (pt === "sample") eps = (x - sa * eps) / sb; // x0 -> epsilon (diffusers raises for "sample")
      out[i] = sampleCoeff * x - k * eps;
    }
    return out;
  }

  addNoise(originalSamples: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    this.checkPair(originalSamples, noise, "addNoise");
    return addNoiseAlphas(this.alphasCumprod, originalSamples, noise, timestep, this.className);
  }
}
