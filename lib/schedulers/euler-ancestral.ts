/** Ancestral Euler (k-diffusion's `sample_euler_ancestral`, eta = 1). Mirrors diffusers' EulerAncestralDiscreteScheduler. */
import type { SchedulerConfig } from "./config.js";
import { f32 } from "./numeric.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { SigmaScheduler } from "./sigma-base.js";

export class EulerAncestralDiscreteScheduler extends SigmaScheduler {
  readonly className = "EulerAncestralDiscreteScheduler" as const;

  constructor(config: SchedulerConfig) {
    super(config);
  }

  protected override usesSigmaZeroSnrFix(): boolean {
    return true;
  }

  protected computeTimesteps(n: number): void {
    const timesteps = this.baseTimesteps(n);
    const sigmas = this.interpSigmas(timesteps);
    this.sigmas = [...sigmas, 0].map(f32);
    this.timesteps = timesteps;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len, shape } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const sigmaFrom = this.sigmas![si]!;
    const sigmaTo = this.sigmas![si + 1]!;
    const sigma = sigmaFrom;
    const sigmaUp = Math.sqrt((sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)) / (sigmaFrom * sigmaFrom));
    const sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
    const dt = sigmaDown - sigma;
    const pt = this.config.prediction_type;
    const c = -sigma / Math.sqrt(sigma * sigma + 1);
    const d = 1 / (sigma * sigma + 1);
    const prev = new Float64Array(len);
    const x0 = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      const p = pt === "epsilon" ? x - sigma * m : pt === "v_prediction" ? m * c + x * d : m;
      x0[i] = p;
      prev[i] = x + ((x - p) / sigma) * dt;
    }
    const noise = this.drawNoise(shape, options);
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) out[i] = prev[i]! + noise[i]! * sigmaUp;
    this.stepIndexValue = si + 1;
    return { prevSample: out, predOriginalSample: x0 };
  }
}
