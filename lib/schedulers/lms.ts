/**
 * Linear multistep (k-diffusion's LMS, order 4). The coefficients integrate the Lagrange basis polynomials
 * over [sigma_i, sigma_{i+1}] numerically like diffusers (scipy.integrate.quad, epsrel 1e-4); the integrand is
 * evaluated in float32 as diffusers does with its float32 sigma tensors.
 */
import type { SchedulerConfig } from "./config.js";
import { f32 } from "./numeric.js";
import { integrate } from "./quadrature.js";
import type { StepOptions, StepResult } from "./scheduler.js";
import { SigmaScheduler } from "./sigma-base.js";

export interface LmsOptions {
  /** Evaluate the Lagrange integrand in float32 like diffusers (default true) or in float64. */
  float32Integrand?: boolean;
}

export class LMSDiscreteScheduler extends SigmaScheduler {
  readonly className = "LMSDiscreteScheduler" as const;
  private derivatives: Float64Array[] = [];
  private readonly float32Integrand: boolean;

  constructor(config: SchedulerConfig, options: LmsOptions = {}) {
    super(config);
    this.float32Integrand = options.float32Integrand ?? true;
  }

  protected computeTimesteps(n: number): void {
    const { timesteps, sigmas } = this.interpolatedSchedule(n);
    this.sigmas = [...sigmas, 0].map(f32);
    this.timesteps = timesteps;
    this.derivatives = [];
  }

  /** The LMS coefficient of the `current`-th most recent derivative for a method of `order` at step `t`. */
  lmsCoefficient(order: number, t: number, current: number): number {
    const s = this.sigmas!;
    const fl = this.float32Integrand;
    const integrand = (tau: number): number => {
      let prod = 1.0;
      for (let k = 0; k < order; k++) {
        if (k === current) continue;
        if (fl) {
          const num = f32(f32(tau) - s[t - k]!);
          const den = f32(s[t - current]! - s[t - k]!);
          prod = f32(prod * f32(num / den));
        } else {
          prod *= (tau - s[t - k]!) / (s[t - current]! - s[t - k]!);
        }
      }
      return prod;
    };
    return integrate(integrand, s[t]!, s[t + 1]!, { epsrel: 1e-4 }).value;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const sigma = this.sigmas![si]!;
    const pt = this.config.prediction_type;
    const x0 = new Float64Array(len);
    const c = -sigma / Math.sqrt(sigma * sigma + 1);
    const d = 1 / (sigma * sigma + 1);
    const deriv = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      x0[i] = pt === "epsilon" ? x - sigma * m : pt === "v_prediction" ? m * c + x * d : m;
      deriv[i] = (x - x0[i]!) / sigma;
    }
    const maxOrder = 4;
    this.derivatives.push(deriv);
    if (this.derivatives.length > maxOrder) this.derivatives.shift();
    const order = Math.min(si + 1, maxOrder);
    const coeffs: number[] = [];
    for (let k = 0; k < order; k++) coeffs.push(this.lmsCoefficient(order, si, k));
    const prev = Float64Array.from(sample);
    const nd = this.derivatives.length;
    for (let k = 0; k < coeffs.length && k < nd; k++) {
      const dk = this.derivatives[nd - 1 - k]!;
      const ck = coeffs[k]!;
      for (let i = 0; i < len; i++) prev[i] = prev[i]! + ck * dk[i]!;
    }
    this.stepIndexValue = si + 1;
    return { prevSample: Float32Array.from(prev), predOriginalSample: Float32Array.from(x0) };
  }
}
