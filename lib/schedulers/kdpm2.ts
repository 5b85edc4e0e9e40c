/**
 * DPM-Solver-2 as in k-diffusion's `sample_dpm_2` (KDPM2): a midpoint step in log-sigma. Mirrors diffusers'
 * KDPM2DiscreteScheduler (order 2; interpolated sigmas/timesteps computed in float32 like diffusers).
 */
import type { SchedulerConfig } from "./config.js";
import { f32, sigmaToTF32 } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { SigmaScheduler } from "./sigma-base.js";

export class KDPM2DiscreteScheduler extends SigmaScheduler {
  readonly className = "KDPM2DiscreteScheduler" as const;
  override readonly order = 2;
  /** Interleaved midpoint sigmas (diffusers' sigmas_interpol). */
  sigmasInterpol: number[] = [];
  private savedSample: Float32Array | null = null;

  constructor(config: SchedulerConfig) {
    super(config);
  }

  get stateInFirstOrder(): boolean {
    return this.savedSample === null;
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.interpolatedSchedule(n, true);
    const s32 = [...sigmas, 0].map(f32);
    // log-space midpoint with the previous sigma (torch lerp with weight 0.5, float32)
    const interp = s32.map((s, i) => {
      const self = f32(Math.log(s));
      const end = f32(Math.log(s32[(i - 1 + s32.length) % s32.length]!));
      const v = f32(end - f32(f32(end - self) * 0.5));
      return f32(Math.exp(v));
    });
    const rep = (a: number[]): number[] => {
      const out = [a[0]!];
      for (let i = 1; i < a.length; i++) out.push(a[i]!, a[i]!);
      out.push(a[a.length - 1]!);
      return out;
    };
    this.sigmas = rep(s32);
    this.sigmasInterpol = rep(interp);
    const tsInterp = interp.map((s) => sigmaToTF32(s, this.logSigmasF32));
    const all: number[] = [timesteps[0]!];
    for (let i = 1; i < timesteps.length; i++) all.push(tsInterp[i]!, timesteps[i]!);
    this.timesteps = all;
    this.savedSample = null;
  }

  protected override inputSigma(): number {
    const si = this.stepIndexValue!;
    return this.stateInFirstOrder ? this.sigmas![si]! : this.sigmasInterpol[si]!;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const first = this.stateInFirstOrder;
    let sigma: number;
    let sigmaInterpol: number;
    let sigmaNext: number;
    if (first) {
      sigma = this.sigmas![si]!;
      sigmaInterpol = this.sigmasInterpol[si + 1]!;
      sigmaNext = this.sigmas![si + 1]!;
    } else {
      sigma = this.sigmas![si - 1]!;
      sigmaInterpol = this.sigmasInterpol[si]!;
      sigmaNext = this.sigmas![si]!;
    }
    const sigmaHat = sigma;
    const sigmaInput = first ? sigmaHat : sigmaInterpol;
    const pt = this.config.prediction_type;
    const c = -sigmaInput / Math.sqrt(sigmaInput * sigmaInput + 1);
    const d = 1 / (sigmaInput * sigmaInput + 1);
    const x0 = new Float32Array(len);
    const prev = new Float32Array(len);
    if (first) {
      const dt = sigmaInterpol - sigmaHat;
      for (let i = 0; i < len; i++) {
        const m = modelOutput[i]!;
        const x = sample[i]!;
        const p = pt === "epsilon" ? x - sigmaInput * m : pt === "v_prediction" ? m * c + x * d : m;
        x0[i] = p;
        prev[i] = x + ((x - p) / sigmaHat) * dt;
      }
      this.savedSample = sample;
    } else {
      const dt = sigmaNext - sigmaHat;
      const base = this.savedSample!;
      for (let i = 0; i < len; i++) {
        const m = modelOutput[i]!;
        const x = sample[i]!;
        const p = pt === "epsilon" ? x - sigmaInput * m : pt === "v_prediction" ? m * c + x * d : m;
        x0[i] = p;
        prev[i] = base[i]! + ((x - p) / sigmaInterpol) * dt;
      }
      this.savedSample = null;
    }
    this.stepIndexValue = si + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
