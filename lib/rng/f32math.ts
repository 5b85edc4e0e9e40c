/**
 * Float32 arithmetic helpers used to reproduce float32 kernels bit for bit: `fmaf` (fused multiply-add with
 * a single float32 rounding) and float32 ports of the Cephes-style polynomial `log` and `sincos`
 * approximations that torch's AVX2 CPU kernels use for Box-Muller (written from the published Cephes
 * coefficients and range reduction; every operation is rounded to float32 like the SIMD code).
 */
const f32 = Math.fround;

/** Exact float32 fused multiply-add: round_f32(a * b + c) for float32 inputs. */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b; // exact: 24 + 24 bit significands fit in a double
  const s = p + c;
  const r = f32(s);
  if (r === s) return r;
  // TwoSum: exact error of the double addition.
  const bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  if (err === 0) return r;
  // Double rounding can only go wrong when s sits exactly on a float32 rounding midpoint between r and its
  // neighbour v = r + 2 (s - r) (then v is itself a float32; otherwise it lies strictly between two floats).
  const d = s - r;
  const v = r + 2 * d;
  if (v === r || f32(v) !== v) return r;
  return err > 0 === d > 0 ? v : r;
}

const cvtF32 = new Float32Array(1);
const cvtU32 = new Uint32Array(cvtF32.buffer);
function bitsOf(x: number): number {
  cvtF32[0] = x;
  return cvtU32[0]!;
}
function fromBits(b: number): number {
  cvtU32[0] = b >>> 0;
  return cvtF32[0]!;
}
export function nextUpF32(x: number): number {
  if (x === 0) return fromBits(1);
  const b = bitsOf(x);
  return x > 0 ? fromBits(b + 1) : fromBits(b - 1);
}
export function nextDownF32(x: number): number {
  return -nextUpF32(-x);
}

const SQRTHF = f32(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.12194440e-4);
const LOG_Q2 = f32(0.693359375);
const MIN_NORM_POS = 1.1754943508222875e-38;

/**
 * Cephes-style float32 natural log as vectorised in avx_mathfun (input > 0). `fused` selects whether the
 * multiply-adds are contracted into FMAs (as a compiler does for SIMD code built with FMA enabled).
 */
export function logCephesF32(xIn: number, fused: boolean): number {
  if (!(xIn > 0)) return xIn === 0 ? -Infinity : NaN;
  let x = Math.max(xIn, MIN_NORM_POS);
  const bits = bitsOf(x);
  let e = f32(((bits >>> 23) & 0xff) - 0x7f + 1);
  x = fromBits((bits & ~0x7f800000) | 0x3f000000); // mantissa in [0.5, 1)
  if (x < SQRTHF) {
    e = f32(e - 1);
    x = f32(f32(x - 1) + x);
  } else {
    x = f32(x - 1);
  }
  const z = f32(x * x);
  let y = LOG_P[0]!;
  for (let i = 1; i < 9; i++) y = fused ? fmaf(y, x, LOG_P[i]!) : f32(f32(y * x) + LOG_P[i]!);
  y = f32(y * x);
  if (fused) {
    y = fmaf(y, z, f32(e * LOG_Q1));
  } else {
    y = f32(f32(y * z) + f32(e * LOG_Q1));
  }
  y = f32(y - f32(z * 0.5));
  x = f32(x + y);
  x = f32(x + f32(e * LOG_Q2));
  return x;
}

const FOPI = f32(1.27323954473516);
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P0 = f32(-1.9515295891e-4);
const SIN_P1 = f32(8.3321608736e-3);
const SIN_P2 = f32(-1.6666654611e-1);
const COS_P0 = f32(2.443315711809948e-5);
const COS_P1 = f32(-1.388731625493765e-3);
const COS_P2 = f32(4.166664568298827e-2);

/** Cephes-style float32 sin and cos (avx_mathfun's sincos), returned as [sin, cos]. */
export function sincosCephesF32(xIn: number, fused: boolean, out: Float64Array): void {
  const signSin = xIn < 0 || Object.is(xIn, -0) ? -1 : 1;
  let x = Math.abs(xIn);
  let j = Math.trunc(f32(x * FOPI));
  j = (j + 1) & ~1;
  const y0 = j;
  const swapSin = (j & 4) !== 0;
  const polyMask = (j & 2) === 0;
  if (fused) {
    x = fmaf(y0, DP1, x);
    x = fmaf(y0, DP2, x);
    x = fmaf(y0, DP3, x);
  } else {
    x = f32(x + f32(y0 * DP1));
    x = f32(x + f32(y0 * DP2));
    x = f32(x + f32(y0 * DP3));
  }
  const cosNeg = ((~(j - 2)) & 4) !== 0;
  const z = f32(x * x);
  let y: number;
  let y2: number;
  if (fused) {
    y = fmaf(COS_P0, z, COS_P1);
    y = fmaf(y, z, COS_P2);
    y = f32(y * z);
    y = fmaf(y, z, -f32(z * 0.5));
    y = f32(y + 1);
    y2 = fmaf(SIN_P0, z, SIN_P1);
    y2 = fmaf(y2, z, SIN_P2);
    y2 = f32(y2 * z);
    y2 = fmaf(y2, x, x);
  } else {
    y = f32(f32(COS_P0 * z) + COS_P1);
    y = f32(f32(y * z) + COS_P2);
    y = f32(y * z);
    y = f32(y * z);
    y = f32(y - f32(z * 0.5));
    y = f32(y + 1);
    y2 = f32(f32(SIN_P0 * z) + SIN_P1);
    y2 = f32(f32(y2 * z) + SIN_P2);
    y2 = f32(y2 * z);
    y2 = f32(y2 * x);
    y2 = f32(y2 + x);
  }
  let s = polyMask ? y2 : y;
  let c = polyMask ? y : y2;
  if (swapSin) s = -s;
  s *= signSin;
  if (cosNeg) c = -c;
  out[0] = s;
  out[1] = c;
}
