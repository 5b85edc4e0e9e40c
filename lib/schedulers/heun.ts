/** Heun's 2nd-order method (Karras et al. 2022, Algorithm 1). Mirrors diffusers' HeunDiscreteScheduler (order 2). */
import type { SchedulerConfig } from "./config.js";
import { f32 } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { SigmaScheduler } from "./sigma-base.js";

export class HeunDiscreteScheduler extends SigmaScheduler {
  readonly className = "HeunDiscreteScheduler" as const;
  override readonly order = 2;
  private prevDerivative: Float64Array | null = null;
  private dt: number | null = null;
  private savedSample: Float32Array | null = null;

  constructor(config: SchedulerConfig) {
    super(config);
  }

  /** True between the two model evaluations of a Heun step is false; true before the first. */
  get stateInFirstOrder(): boolean {
    return this.dt === null;
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.interpolatedSchedule(n);
    const s32 = [...sigmas, 0].map(f32);
    const inter: number[] = [s32[0]!];
    for (let i = 1; i < s32.length - 1; i++) inter.push(s32[i]!, s32[i]!);
    inter.push(s32[s32.length - 1]!);
    this.sigmas = inter;
    const ts: number[] = [timesteps[0]!];
    for (let i = 1; i < timesteps.length; i++) ts.push(timesteps[i]!, timesteps[i]!);
    this.timesteps = ts;
    this.prevDerivative = null;
    this.dt = null;
    this.savedSample = null;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const first = this.stateInFirstOrder;
    const sigma = first ? this.sigmas![si]! : this.sigmas![si - 1]!;
    const sigmaNext = first ? this.sigmas![si + 1]! : this.sigmas![si]!;
    const sigmaHat = sigma;
    const sigmaInput = first ? sigmaHat : sigmaNext;
    const pt = this.config.prediction_type;
    const c = -sigmaInput / Math.sqrt(sigmaInput * sigmaInput + 1);
    const d = 1 / (sigmaInput * sigmaInput + 1);
    const x0 = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      x0[i] = pt === "epsilon" ? x - sigmaInput * m : pt === "v_prediction" ? m * c + x * d : m;
    }
    if (this.config.clip_sample) {
      const r = this.config.clip_sample_range;
      for (let i = 0; i < len; i++) x0[i] = Math.min(Math.max(x0[i]!, -r), r);
    }
    const prev = new Float32Array(len);
    if (first) {
      const deriv = new Float64Array(len);
      for (let i = 0; i < len; i++) deriv[i] = (sample[i]! - x0[i]!) / sigmaHat;
      const dt = sigmaNext - sigmaHat;
      this.prevDerivative = deriv;
      this.dt = dt;
      this.savedSample = sample;
      for (let i = 0; i < len; i++) prev[i] = sample[i]! + deriv[i]! * dt;
    } else {
      const pd = this.prevDerivative!;
      const dt = this.dt!;
      const base = this.savedSample!;
      for (let i = 0; i < len; i++) {
        const dcur = (sample[i]! - x0[i]!) / sigmaNext;
        prev[i] = base[i]! + ((pd[i]! + dcur) / 2) * dt;
      }
      this.prevDerivative = null;
      this.dt = null;
      this.savedSample = null;
    }
    this.stepIndexValue = si + 1;
    return { prevSample: prev, predOriginalSample: Float32Array.from(x0) };
  }
}
