/**
 * Euler method of Karras et al. (2022), k-diffusion's `sample_euler`. Like diffusers it draws one noise
 * tensor per step even when s_churn = 0 (only then unused), so a shared generator advances identically.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { f32, karrasSigmas, sigmaToT, torchLinspaceF32 } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { SigmaScheduler } from "./sigma-base.js";

export class EulerDiscreteScheduler extends SigmaScheduler {
  readonly className = "EulerDiscreteScheduler" as const;

  constructor(config: SchedulerConfig) {
    super(config);
  }

  protected override usesSigmaZeroSnrFix(): boolean {
    return true;
  }

  protected computeTimesteps(n: number): void {
    let timesteps = this.baseTimesteps(n);
    let sigmas: number[];
    if (this.config.interpolation_type === "log_linear") {
      const N = this.trainSigmasF32.length;
      const lin = torchLinspaceF32(Math.log(this.trainSigmasF32[N - 1]!), Math.log(this.trainSigmasF32[0]!), n + 1);
      sigmas = Array.from(lin, (v) => f32(Math.exp(v)));
    } else {
      sigmas = this.interpSigmas(timesteps);
    }
    if (this.config.use_karras_sigmas) {
      const sMin = this.config.sigma_min ?? sigmas[sigmas.length - 1]!;
      const sMax = this.config.sigma_max ?? sigmas[0]!;
      sigmas = karrasSigmas(sMin, sMax, n);
      timesteps = sigmas.map((s) => sigmaToT(s, this.logSigmasF32));
    }
    const sig32 = sigmas.map(f32);
    if (this.config.timestep_type === "continuous" && this.config.prediction_type === "v_prediction") {
      this.timesteps = sig32.map((s) => f32(0.25 * f32(Math.log(s))));
    } else {
      this.timesteps = timesteps.map(f32);
    }
    this.sigmas = [...sig32, 0];
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len, shape } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const sigmas = this.sigmas!;
    const sigma = sigmas[si]!;
    const sChurn = options?.sChurn ?? 0;
    const sTmin = options?.sTmin ?? 0;
    const sTmax = options?.sTmax ?? Infinity;
    const sNoise = options?.sNoise ?? 1;
    if (!(sChurn >= 0)) throw new InvalidArgumentError(`EulerDiscreteScheduler.step: sChurn must be >= 0, got ${sChurn}`);
    const gamma = sTmin <= sigma && sigma <= sTmax ? Math.min(sChurn / (sigmas.length - 1), Math.SQRT2 - 1) : 0;
    const noise = this.drawNoise(shape, options);
    const sigmaHat = sigma * (gamma + 1);
    const x = Float64Array.from(sample);
    if (gamma > 0) {
      const k = Math.sqrt(sigmaHat * sigmaHat - sigma * sigma);
      for (let i = 0; i < len; i++) x[i] = x[i]! + noise[i]! * sNoise * k;
    }
    const pt = this.config.prediction_type;
    const c = -sigma / Math.sqrt(sigma * sigma + 1);
    const d = 1 / (sigma * sigma + 1);
    const dt = sigmas[si + 1]! - sigmaHat;
    const prev = new Float32Array(len);
    const x0 = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const xi = x[i]!;
      const p = pt === "epsilon" ? xi - sigmaHat * m : pt === "v_prediction" ? m * c + xi * d : m;
      x0[i] = p;
      prev[i] = xi + ((xi - p) / sigmaHat) * dt;
    }
    this.stepIndexValue = si + 1;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
