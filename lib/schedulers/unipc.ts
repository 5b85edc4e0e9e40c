/**
 * UniPC (Zhao et al. 2023): multistep predictor (UniP) + corrector (UniC), B(h) variants bh1/bh2. Mirrors
 * diffusers' UniPCMultistepScheduler (data prediction by default, solver_order 2, lower_order_final).
 */
import { InvalidArgumentError } from "../errors.js";
import type { SchedulerConfig } from "./config.js";
import { f32, thresholdSample } from "./numeric.js";
import { MultistepScheduler } from "./multistep-base.js";
import type { StepOptions, StepResult } from "./scheduler.js";

/** Solves the small dense system A x = b (Gaussian elimination with partial pivoting). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row.slice(0, n), b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k] = M[r]![k]! - f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

export class UniPCMultistepScheduler extends MultistepScheduler {
  readonly className = "UniPCMultistepScheduler" as const;
  private modelOutputs: (Float64Array | null)[];
  private timestepList: (number | null)[];
  private lowerOrderNums = 0;
  private lastSample: Float64Array | null = null;
  private thisOrder = 1;

  constructor(config: SchedulerConfig) {
    if (!["bh1", "bh2"].includes(config.solver_type)) {
      if (["midpoint", "heun", "logrho"].includes(config.solver_type)) config = { ...config, solver_type: "bh2" };
      else throw new InvalidArgumentError(`UniPCMultistepScheduler: solver_type ${config.solver_type} is not supported`);
    }
    super(config);
    this.modelOutputs = new Array(config.solver_order).fill(null);
    this.timestepList = new Array(config.solver_order).fill(null);
  }

  protected computeTimesteps(n: number): void {
    let timesteps = this.spacedTimesteps(n, this.config.num_train_timesteps);
    let sigmas: number[];
    if (this.config.use_karras_sigmas) {
      ({ sigmas, timesteps } = this.karrasSchedule(n));
      sigmas = [...sigmas, sigmas[sigmas.length - 1]!];
    } else {
      sigmas = [...this.interpAt(timesteps), this.sigmaMinF32()];
    }
    this.sigmas = sigmas.map(f32);
    this.timesteps = timesteps;
    this.numInferenceSteps = timesteps.length;
    this.modelOutputs = new Array(this.config.solver_order).fill(null);
    this.timestepList = new Array(this.config.solver_order).fill(null);
    this.lowerOrderNums = 0;
    this.lastSample = null;
    this.thisOrder = 1;
  }

  private convertModelOutput(modelOutput: Float32Array, sample: Float32Array, batch: number): Float64Array {
    const { alpha, sig } = this.alphaSigma(this.sigmas![this.stepIndexValue!]!);
    const pt = this.config.prediction_type;
    const len = sample.length;
    const out = new Float64Array(len);
    for (let i = 0; i < len; i++) {
      const m = modelOutput[i]!;
      const x = sample[i]!;
      out[i] = pt === "epsilon" ? (x - sig * m) / alpha : pt === "sample" ? m : alpha * x - sig * m;
    }
    if (this.config.thresholding) thresholdSample(out, batch, this.config.dynamic_thresholding_ratio, this.config.sample_max_value);
    if (this.config.predict_x0) return out;
    for (let i = 0; i < len; i++) {
      if (pt === "epsilon" && !this.config.thresholding) out[i] = modelOutput[i]!;
      else out[i] = (sample[i]! - alpha * out[i]!) / sig;
    }
    return out;
  }

  /** rks, the phi-based right-hand sides b and B(h) for an update of `order` with step h (shared by P and C). */
  private coefficients(h: number, rks: number[], order: number): { hPhi1: number; Bh: number; R: number[][]; b: number[] } {
    const hh = this.config.predict_x0 ? -h : h;
    const hPhi1 = Math.expm1(hh);
    let hPhiK = hPhi1 / hh - 1;
    let factorial = 1;
    const Bh = this.config.solver_type === "bh1" ? hh : Math.expm1(hh);
    const R: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= order; i++) {
      R.push(rks.map((r) => r ** (i - 1)));
      b.push((hPhiK * factorial) / Bh);
      factorial *= i + 1;
      hPhiK = hPhiK / hh - 1 / factorial;
    }
    return { hPhi1, Bh, R, b };
  }

  private predictor(sample: Float64Array, order: number): Float64Array {
    const si = this.stepIndexValue!;
    const k = this.modelOutputs.length;
    const m0 = this.modelOutputs[k - 1]!;
    const t = this.alphaSigma(this.sigmas![si + 1]!);
    const s0 = this.alphaSigma(this.sigmas![si]!);
    const h = t.lambda - s0.lambda;
    const rks: number[] = [];
    const D1s: Float64Array[] = [];
    const len = sample.length;
    for (let i = 1; i < order; i++) {
      const mi = this.modelOutputs[k - (i + 1)]!;
      const li = this.alphaSigma(this.sigmas![si - i]!).lambda;
      const rk = (li - s0.lambda) / h;
      rks.push(rk);
      const d = new Float64Array(len);
      for (let j = 0; j < len; j++) d[j] = (mi[j]! - m0[j]!) / rk;
      D1s.push(d);
    }
    rks.push(1);
    const { hPhi1, Bh, R, b } = this.coefficients(h, rks, order);
    let rhos: number[] = [];
    if (D1s.length > 0) {
      rhos = order === 2 ? [0.5] : solve(R.slice(0, -1).map((r) => r.slice(0, -1)), b.slice(0, -1));
    }
    const out = new Float64Array(len);
    const x0 = this.config.predict_x0;
    const cx = x0 ? t.sig / s0.sig : t.alpha / s0.alpha;
    const cm = x0 ? t.alpha * hPhi1 : t.sig * hPhi1;
    const cr = x0 ? t.alpha * Bh : t.sig * Bh;
    for (let j = 0; j < len; j++) {
      let res = 0;
      for (let q = 0; q < D1s.length; q++) res += rhos[q]! * D1s[q]![j]!;
      out[j] = cx * sample[j]! - cm * m0[j]! - (D1s.length > 0 ? cr * res : 0);
    }
    return out;
  }

  private corrector(modelT: Float64Array, lastSample: Float64Array, order: number): Float64Array {
    const si = this.stepIndexValue!;
    const k = this.modelOutputs.length;
    const m0 = this.modelOutputs[k - 1]!;
    const t = this.alphaSigma(this.sigmas![si]!);
    const s0 = this.alphaSigma(this.sigmas![si - 1]!);
    const h = t.lambda - s0.lambda;
    const rks: number[] = [];
    const D1s: Float64Array[] = [];
    const len = lastSample.length;
    for (let i = 1; i < order; i++) {
      const mi = this.modelOutputs[k - (i + 1)]!;
      const li = this.alphaSigma(this.sigmas![si - (i + 1)]!).lambda;
      const rk = (li - s0.lambda) / h;
      rks.push(rk);
      const d = new Float64Array(len);
      for (let j = 0; j < len; j++) d[j] = (mi[j]! - m0[j]!) / rk;
      D1s.push(d);
    }
    rks.push(1);
    const { hPhi1, Bh, R, b } = this.coefficients(h, rks, order);
    const rhos = order === 1 ? [0.5] : solve(R, b);
    const x0 = this.config.predict_x0;
    const cx = x0 ? t.sig / s0.sig : t.alpha / s0.alpha;
    const cm = x0 ? t.alpha * hPhi1 : t.sig * hPhi1;
    const cr = x0 ? t.alpha * Bh : t.sig * Bh;
    const rLast = rhos[rhos.length - 1]!;
    const out = new Float64Array(len);
    for (let j = 0; j < len; j++) {
      let res = 0;
      for (let q = 0; q < D1s.length; q++) res += rhos[q]! * D1s[q]![j]!;
      const d1t = modelT[j]! - m0[j]!;
      out[j] = cx * lastSample[j]! - cm * m0[j]! - cr * (res + rLast * d1t);
    }
    return out;
  }

  step(modelOutput: Float32Array, timestep: number, sampleIn: Float32Array, options?: StepOptions): StepResult {
    this.requireTimesteps();
    this.checkTimestepValue(timestep);
    const { batch } = this.checkLatents(modelOutput, sampleIn, options);
    if (this.stepIndexValue === null) this.initStepIndex(timestep);
    const si = this.stepIndexValue!;
    const useCorrector = si > 0 && !this.config.disable_corrector.includes(si - 1) && this.lastSample !== null;
    const converted = this.convertModelOutput(modelOutput, sampleIn, batch);
    let sample: Float64Array = Float64Array.from(sampleIn);
    if (useCorrector) sample = this.corrector(converted, this.lastSample!, this.thisOrder);
    const k = this.config.solver_order;
    for (let i = 0; i < k - 1; i++) {
      this.modelOutputs[i] = this.modelOutputs[i + 1]!;
      this.timestepList[i] = this.timestepList[i + 1]!;
    }
    this.modelOutputs[k - 1] = converted;
    this.timestepList[k - 1] = timestep;
    const thisOrder = this.config.lower_order_final ? Math.min(k, this.timesteps.length - si) : k;
    this.thisOrder = Math.min(thisOrder, this.lowerOrderNums + 1);
    this.lastSample = sample;
    const prev = this.predictor(sample, this.thisOrder);
    if (this.lowerOrderNums < k) this.lowerOrderNums += 1;
    this.stepIndexValue = si + 1;
    return { prevSample: Float32Array.from(prev) };
  }
}
