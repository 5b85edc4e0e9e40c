/**
 * Numeric building blocks that reproduce what diffusers computes with torch (float32) and numpy (float64):
 * beta schedules, alphas_cumprod, numpy-style linspace/arange/round/interp, Karras sigmas, sigma -> t.
 */
import { InvalidArgumentError } from "../errors.js";
import { fmaf } from "../rng/f32math.js";

export const f32 = Math.fround;

/** numpy's round (half to even), as `np.round` / `ndarray.round()` do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x - Math.trunc(x)) === 0.5) return 2 * Math.round(x / 2);
  return r;
}

/** `np.linspace(start, stop, num)` in float64 (y[i] = i * step + start, last element = stop). */
export function npLinspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const div = num - 1;
  const delta = stop - start;
  const step = delta / div;
  const out = new Array<number>(num);
  for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/** `np.arange(start, stop, step)` for float arguments (values start + i * (first difference)). */
export function npArange(start: number, stop: number, step: number): number[] {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Array<number>(len);
  if (len === 0) return out;
  out[0] = start;
  if (len === 1) return out;
  const delta = start + step - start;
  for (let i = 1; i < len; i++) out[i] = start + i * delta;
  return out;
}

/**
 * `torch.linspace(start, end, steps, dtype=float32)` on x86-64 CPU: float32 arithmetic with the
 * multiply-adds fused (the kernel is built with FMA), values from `start` for the first half and from `end`
 * for the second, generated 8 at a time as `base + k * step` (the vectorised kernel) in blocks of 16, the
 * tail element by element. Bit-exact against the reference alphas_cumprod.
 */
export function torchLinspaceF32(startIn: number, endIn: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 0) return out;
  if (steps === 1) {
    out[0] = f32(startIn);
    return out;
  }
  const start = f32(startIn);
  const end = f32(endIn);
  const step = f32(f32(end - start) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const baseAt = (idx: number): number =>
    idx < halfway ? fmaf(step, idx, start) : fmaf(-step, steps - idx - 1, end);
  let i = 0;
  for (; i + 16 <= steps; i += 16) {
    for (let v = 0; v < 2; v++) {
      const idx = i + 8 * v;
      const base = baseAt(idx);
      for (let k = 0; k < 8; k++) out[idx + k] = fmaf(k, step, base);
    }
  }
  for (; i < steps; i++) out[i] = baseAt(i);
  return out;
}

export type BetaSchedule = "linear" | "scaled_linear" | "squaredcos_cap_v2";
export const BETA_SCHEDULES: readonly BetaSchedule[] = ["linear", "scaled_linear", "squaredcos_cap_v2"];

/** diffusers' `betas_for_alpha_bar` with the cosine alpha_bar (float64, then float32). */
function cosineBetas(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t1 = i / n;
    const t2 = (i + 1) / n;
    out[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return out;
}

export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: readonly number[] | null;
}

/** The float32 betas of a diffusers scheduler. */
export function makeBetas(c: BetaConfig): Float32Array {
  if (c.trained_betas) return Float32Array.from(c.trained_betas);
  switch (c.beta_schedule) {
    case "linear":
      return torchLinspaceF32(c.beta_start, c.beta_end, c.num_train_timesteps);
    case "scaled_linear": {
      const b = torchLinspaceF32(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), c.num_train_timesteps);
      for (let i = 0; i < b.length; i++) b[i] = f32(b[i]! * b[i]!);
      return b;
    }
    case "squaredcos_cap_v2":
      return cosineBetas(c.num_train_timesteps);
    default:
      throw new InvalidArgumentError(`unknown beta_schedule ${String(c.beta_schedule)}`);
  }
}

/** diffusers' `rescale_zero_terminal_snr` (float32 torch ops), on betas. */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const n = betas.length;
  const alphasBarSqrt = new Float64Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= f32(1 - betas[i]!);
    alphasBarSqrt[i] = f32(Math.sqrt(f32(acc)));
  }
  const a0 = alphasBarSqrt[0]!;
  const aT = alphasBarSqrt[n - 1]!;
  for (let i = 0; i < n; i++) alphasBarSqrt[i] = f32(f32(f32(alphasBarSqrt[i]! - aT) * a0) / f32(a0 - aT));
  const alphasBar = alphasBarSqrt.map((v) => f32(v * v));
  const out = new Float32Array(n);
  let prev = 1;
  for (let i = 0; i < n; i++) {
    const alpha = i === 0 ? alphasBar[0]! : f32(alphasBar[i]! / prev);
    prev = alphasBar[i]!;
    out[i] = f32(1 - alpha);
  }
  return out;
}

/** alphas = 1 - betas (float32); alphas_cumprod = cumprod (accumulated in float64 like torch's CPU cumprod). */
export function alphasCumprodOf(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]!);
    out[i] = acc;
  }
  return out;
}

/** Training sigmas ((1 - a) / a) ** 0.5 in float32, index = training timestep. */
export function trainSigmas(alphasCumprod: Float32Array): Float32Array {
  const out = new Float32Array(alphasCumprod.length);
  for (let i = 0; i < out.length; i++) {
    const a = alphasCumprod[i]!;
    out[i] = Math.sqrt(f32(f32(1 - a) / a));
  }
  return out;
}

/** `np.log` of the float32 training sigmas (float32 result). */
export function logSigmasOf(sigmas: Float32Array): Float32Array {
  const out = new Float32Array(sigmas.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.log(sigmas[i]!);
  return out;
}

/** `np.interp(x, arange(len(fp)), fp)` in float64. */
export function interpTrain(x: number, fp: ArrayLike<number>): number {
  const n = fp.length;
  if (x <= 0) return fp[0]!;
  if (x >= n - 1) return fp[n - 1]!;
  const j = Math.floor(x);
  if (x === j) return fp[j]!;
  const slope = (fp[j + 1]! - fp[j]!) / (j + 1 - j);
  return slope * (x - j) + fp[j]!;
}

/** Karras et al. (2022) sigmas: rho = 7 between sigmaMax and sigmaMin (float64, np.linspace ramp). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7.0): number[] {
  const ramp = npLinspace(0, 1, n);
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * diffusers' `_sigma_to_t`: fractional training timestep of `sigma` by linear interpolation in log-sigma
 * between the two nearest training sigmas (float64 with the float32 log-sigma table).
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // low_idx = argmax(cumsum(log_sigma >= log_sigmas)) = the last index where the comparison holds (0 if none).
  let lowIdx = 0;
  for (let i = 0; i < n; i++) if (logSigma - logSigmas[i]! >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, n - 2);
  const highIdx = lowIdx + 1;
  const low = logSigmas[lowIdx]!;
  const high = logSigmas[highIdx]!;
  let w = (low - logSigma) / (low - high);
  w = Math.min(Math.max(w, 0), 1);
  return (1 - w) * lowIdx + w * highIdx;
}

/** Same as `sigmaToT` but evaluated in float32 arithmetic (as diffusers does when given torch tensors). */
export function sigmaToTF32(sigma: number, logSigmas: Float32Array): number {
  const logSigma = f32(Math.log(f32(Math.max(f32(sigma), f32(1e-10)))));
  const n = logSigmas.length;
  let lowIdx = 0;
  for (let i = 0; i < n; i++) if (f32(logSigma - logSigmas[i]!) >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, n - 2);
  const highIdx = lowIdx + 1;
  const low = logSigmas[lowIdx]!;
  const high = logSigmas[highIdx]!;
  let w = f32(f32(low - logSigma) / f32(low - high));
  if (Number.isNaN(w)) return NaN;
  w = Math.min(Math.max(w, 0), 1);
  return f32(f32(f32(1 - w) * lowIdx) + f32(w * highIdx));
}

/** Timestep spacing of the "discrete sigma" schedulers (Euler, LMS, Heun, KDPM2), float32 values. */
export function sigmaSchedulerTimesteps(
  spacing: TimestepSpacing,
  n: number,
  numTrain: number,
  stepsOffset: number,
): number[] {
  switch (spacing) {
    case "linspace":
      return npLinspace(0, numTrain - 1, n).map(f32).reverse();
    case "leading": {
      const ratio = Math.floor(numTrain / n);
      const ts: number[] = [];
      for (let i = 0; i < n; i++) ts.push(f32(roundHalfEven(i * ratio)));
      return ts.reverse().map((t) => f32(t + stepsOffset));
    }
    case "trailing": {
      const ratio = numTrain / n;
      return npArange(numTrain, 0, -ratio).map((t) => f32(f32(roundHalfEven(t)) - 1));
    }
  }
}

export type TimestepSpacing = "linspace" | "leading" | "trailing";
export const TIMESTEP_SPACINGS: readonly TimestepSpacing[] = ["linspace", "leading", "trailing"];

/**
 * diffusers' dynamic thresholding (`_threshold_sample`): per batch item, s = quantile(|x|, ratio) clamped to
 * [1, maxValue]; x = clamp(x, -s, s) / s. In place on a float64 buffer.
 */
export function thresholdSample(x: Float64Array, batch: number, ratio: number, maxValue: number): void {
  const per = x.length / batch;
  const tmp = new Float64Array(per);
  for (let b = 0; b < batch; b++) {
    const off = b * per;
    for (let i = 0; i < per; i++) tmp[i] = Math.abs(x[off + i]!);
    tmp.sort();
    const pos = ratio * (per - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, per - 1);
    const frac = pos - lo;
    let s = tmp[lo]! + frac * (tmp[hi]! - tmp[lo]!);
    s = Math.min(Math.max(s, 1), maxValue);
    for (let i = 0; i < per; i++) x[off + i] = Math.min(Math.max(x[off + i]!, -s), s) / s;
  }
}
