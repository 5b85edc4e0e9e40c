/**
 * DPM-Solver / DPM-Solver++ multistep (Lu et al. 2022), orders 1-3, ODE and SDE variants, midpoint/heun
 * second-order forms, Karras and Lu lambdas. Mirrors diffusers' DPMSolverMultistepScheduler.
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { f32, npLinspace, roundHalfEven, sigmaToT, thresholdSample } from "./numeric.js";
import { MultistepScheduler } from "./multistep-base.js";
import type { StepOptions, StepResult } from "./scheduler.js";

export class DPMSolverMultistepScheduler extends MultistepScheduler {
  readonly className = "DPMSolverMultistepScheduler" as const;
  private modelOutputs: (Float64Array | null)[];
  private lowerOrderNums = 0;
  private readonly algorithm: "dpmsolver++" | "dpmsolver" | "sde-dpmsolver++" | "sde-dpmsolver";
  private readonly solverType: "midpoint" | "heun";

  constructor(config: SchedulerConfig) {
    const algo = (config.algorithm_type as string) === "deis" ? "dpmsolver++" : config.algorithm_type;
    const st = ["logrho", "bh1", "bh2"].includes(config.solver_type) ? "midpoint" : config.solver_type;
    if (st !== "midpoint" && st !== "heun") throw new InvalidArgumentError(`DPMSolverMultistepScheduler: solver_type ${config.solver_type} is not supported`);
    if (!["dpmsolver++", "sde-dpmsolver++"].includes(algo) && config.final_sigmas_type === "zero") {
      throw new InvalidArgumentError(
        `DPMSolverMultistepScheduler: final_sigmas_type "zero" is not supported for algorithm_type ${algo}; use "sigma_min"`,
      );
    }
    if (config.use_karras_sigmas && config.use_lu_lambdas) {
      throw new InvalidArgumentError("DPMSolverMultistepScheduler: use_karras_sigmas and use_lu_lambdas are mutually exclusive");
    }
    super({ ...config, algorithm_type: algo, solver_type: st });
    this.algorithm = algo;
    this.solverType = st;
    this.modelOutputs = new Array(config.solver_order).fill(null);
  }

  protected computeTimesteps(n: number): void {
    const N = this.config.num_train_timesteps;
    // lambda_min_clipped: count of (ascending, float32) lambdas below the clip value.
    let clippedIdx = 0;
    if (this.config.lambda_min_clipped > -Infinity) {
      for (let t = N - 1; t >= 0; t--) {
        const a = this.alphasCumprod[t]!;
        const lam = f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a))))));
        if (lam < this.config.lambda_min_clipped) clippedIdx++;
        else break;
      }
    }
    const last = N - clippedIdx;
    let timesteps = this.spacedTimesteps(n, last);
    let sigmas: number[];
    if (this.config.use_karras_sigmas) {
      ({ sigmas, timesteps } = this.karrasSchedule(n));
    } else if (this.config.use_lu_lambdas) {
      const L = this.logSigmasF32.length;
      const lMin = this.logSigmasF32[0]!;
      const lMax = this.logSigmasF32[L - 1]!;
      const lambdas = npLinspace(0, 1, n).map((r) => lMax + r * (lMin - lMax));
      sigmas = lambdas.map((l) => Math.exp(l));
      timesteps = sigmas.map((s) => roundHalfEven(sigmaToT(s, this.logSigmasF32)));
    } else {
      sigmas = this.interpAt(timesteps);
    }
    const last32 = this.config.final_sigmas_type === "sigma_min" ? this.sigmaMinF32() : 0;
    this.sigmas = [...sigmas, last32].map(f32);
    this.timesteps = timesteps;
    this.numInferenceSteps = timesteps.length;
    this.modelOutputs = new Array(this.config.solver_order).fill(null);
    this.lowerOrderNums = 0;
  }

  private convertModelOutput(modelOutput: Float32Array, sample: Float32Array, batch: number): Float64Array {
    const len = sample.length;
    const { alpha, sig } = this.alphaSigma(this.sigmas![this.stepIndexValue!]!);
    const pt = this.config.prediction_type;
    const out = new Float64Array(len);
    const dataPred = this.algorithm === "dpmsolver++" || this.algorithm === "sde-dpmsolver++";
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      let x0: number;
      if (pt === "epsilon") x0 = (x - sig * m) / alpha;
      else if (pt === "sample") x0 = m;
      else x0 = alpha * x - sig * m;
      out[i] = x0;
    }
    if (this.config.thresholding) thresholdSample(out, batch, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
    if (dataPred) return out;
    // noise-prediction solvers work on epsilon
    for (let i = 0; i < len; i++) {
      const x = sample[i]!;
      if (pt === "epsilon" && !this.config.thresholding) out[i] = modelOutput[i]!;
      else out[i] = (x - alpha * out[i]!) / sig;
    }
    return out;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { n: len, shape, batch } = this.checkLatents(modelOutput, sample, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const nT = this.timesteps.length;
    const cfg = this.config;
    const lowerOrderFinal =
      si === nT - 1 && (cfg.euler_at_final || (cfg.lower_order_final && nT < 15) || cfg.final_sigmas_type === "zero");
    const lowerOrderSecond = si === nT - 2 && cfg.lower_order_final && nT < 15;
    const converted = this.convertModelOutput(modelOutput, sample, batch);
    const k = cfg.solver_order;
    for (let i = 0; i < k - 1; i++) this.modelOutputs[i] = this.modelOutputs[i + 1]!;
    this.modelOutputs[k - 1] = converted;
    const sde = this.algorithm === "sde-dpmsolver++" || this.algorithm === "sde-dpmsolver";
    let noise: Float32Array | null = null;
    if (sde) {
      if (options?.varianceNoise) {
        if (options.varianceNoise.length !== len) throw new ShapeError(`varianceNoise has ${options.varianceNoise.length} elements, expected ${len}`);
        noise = options.varianceNoise;
      } else noise = this.drawNoise(shape, options);
    }
    let prev: Float64Array;
    if (k === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) prev = this.firstOrder(converted, sample, noise);
    else if (k === 2 || this.lowerOrderNums < 2 || lowerOrderSecond) prev = this.secondOrder(sample, noise);
    else prev = this.thirdOrder(sample);
    if (this.lowerOrderNums < k) this.lowerOrderNums += 1;
    this.stepIndexValue = si + 1;
    return { prevSample: Float32Array.from(prev) };
  }

  private firstOrder(m: Float64Array, sample: Float32Array, noise: Float32Array | null): Float64Array {
    const si = this.stepIndexValue!;
    const t = this.alphaSigma(this.sigmas![si + 1]!);
    const s = this.alphaSigma(this.sigmas![si]!);
    const h = t.lambda - s.lambda;
    const len = sample.length;
    const out = new Float64Array(len);
    let cx: number;
    let cm: number;
    let cn = 0;
    switch (this.algorithm) {
      case "dpmsolver++":
        cx = t.sig / s.sig;
        cm = -(t.alpha * (Math.exp(-h) - 1));
        break;
      case "dpmsolver":
        cx = t.alpha / s.alpha;
        cm = -(t.sig * (Math.exp(h) - 1));
        break;
      case "sde-dpmsolver++":
        cx = (t.sig / s.sig) * Math.exp(-h);
        cm = t.alpha * (1 - Math.exp(-2 * h));
        cn = t.sig * Math.sqrt(1 - Math.exp(-2 * h));
        break;
      case "sde-dpmsolver":
        cx = t.alpha / s.alpha;
        cm = -2 * (t.sig * (Math.exp(h) - 1));
        cn = t.sig * Math.sqrt(Math.exp(2 * h) - 1);
        break;
    }
    for (let i = 0; i < len; i++) out[i] = cx * sample[i]! + cm * m[i]! + (noise ? cn * noise[i]! : 0);
    return out;
  }

  private secondOrder(sample: Float32Array, noise: Float32Array | null): Float64Array {
    const si = this.stepIndexValue!;
    const k = this.modelOutputs.length;
    const m0 = this.modelOutputs[k - 1]!;
    const m1 = this.modelOutputs[k - 2]!;
    const t = this.alphaSigma(this.sigmas![si + 1]!);
    const s0 = this.alphaSigma(this.sigmas![si]!);
    const s1 = this.alphaSigma(this.sigmas![si - 1]!);
    const h = t.lambda - s0.lambda;
    const h0 = s0.lambda - s1.lambda;
    const r0 = h0 / h;
    const invR0 = 1 / r0;
    let cx: number;
    let c0: number;
    let c1: number;
    let cn = 0;
    const mid = this.solverType === "midpoint";
    switch (this.algorithm) {
      case "dpmsolver++":
        cx = t.sig / s0.sig;
        c0 = -(t.alpha * (Math.exp(-h) - 1));
        c1 = mid ? -0.5 * (t.alpha * (Math.exp(-h) - 1)) : t.alpha * ((Math.exp(-h) - 1) / h + 1);
        break;
      case "dpmsolver":
        cx = t.alpha / s0.alpha;
        c0 = -(t.sig * (Math.exp(h) - 1));
        c1 = mid ? -0.5 * (t.sig * (Math.exp(h) - 1)) : -(t.sig * ((Math.exp(h) - 1) / h - 1));
        break;
      case "sde-dpmsolver++":
        cx = (t.sig / s0.sig) * Math.exp(-h);
        c0 = t.alpha * (1 - Math.exp(-2 * h));
        c1 = mid ? 0.5 * (t.alpha * (1 - Math.exp(-2 * h))) : t.alpha * ((1 - Math.exp(-2 * h)) / (-2 * h) + 1);
        cn = t.sig * Math.sqrt(1 - Math.exp(-2 * h));
        break;
      case "sde-dpmsolver":
        cx = t.alpha / s0.alpha;
        c0 = -2 * (t.sig * (Math.exp(h) - 1));
        c1 = mid ? -(t.sig * (Math.exp(h) - 1)) : -2 * (t.sig * ((Math.exp(h) - 1) / h - 1));
        cn = t.sig * Math.sqrt(Math.exp(2 * h) - 1);
        break;
    }
    const len = sample.length;
    const out = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const d1 = invR0 * (m0[i]! - m1[i]!);
      out[i] = cx * sample[i]! + c0 * m0[i]! + c1 * d1 + (noise ? cn * noise[i]! : 0);
    }
    return out;
  }

  private thirdOrder(sample: Float32Array): Float64Array {
    if (this.algorithm !== "dpmsolver++" && this.algorithm !== "dpmsolver") {
      throw new InvalidArgumentError("DPMSolverMultistepScheduler: third-order SDE solvers are not supported");
    }
    const si = this.stepIndexValue!;
    const k = this.modelOutputs.length;
    const m0 = this.modelOutputs[k - 1]!;
    const m1 = this.modelOutputs[k - 2]!;
    const m2 = this.modelOutputs[k - 3]!;
    const t = this.alphaSigma(this.sigmas![si + 1]!);
    const s0 = this.alphaSigma(this.sigmas![si]!);
    const s1 = this.alphaSigma(this.sigmas![si - 1]!);
    const s2 = this.alphaSigma(this.sigmas![si - 2]!);
    const h = t.lambda - s0.lambda;
    const h0 = s0.lambda - s1.lambda;
    const h1 = s1.lambda - s2.lambda;
    const r0 = h0 / h;
    const r1 = h1 / h;
    let cx: number;
    let c0: number;
    let c1: number;
    let c2: number;
    if (this.algorithm === "dpmsolver++") {
      cx = t.sig / s0.sig;
      c0 = -(t.alpha * (Math.exp(-h) - 1));
      c1 = t.alpha * ((Math.exp(-h) - 1) / h + 1);
      c2 = -(t.alpha * ((Math.exp(-h) - 1 + h) / (h * h) - 0.5));
    } else {
      cx = t.alpha / s0.alpha;
      c0 = -(t.sig * (Math.exp(h) - 1));
      c1 = -(t.sig * ((Math.exp(h) - 1) / h - 1));
      c2 = -(t.sig * ((Math.exp(h) - 1 - h) / (h * h) - 0.5));
    }
    const len = sample.length;
    const out = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const d10 = (1 / r0) * (m0[i]! - m1[i]!);
      const d11 = (1 / r1) * (m1[i]! - m2[i]!);
      const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11);
      const d2 = (1 / (r0 + r1)) * (d10 - d11);
      out[i] = cx * sample[i]! + c0 * m0[i]! + c1 * d1 + c2 * d2;
    }
    return out;
  }
}
