/**
 * Bit-exact reproduction of torch's CPU generator (`torch.Generator("cpu").manual_seed(seed)`) for
 * `torch.randn` / `torch.rand` on float32 tensors.
 *
 * Algorithm (facts about torch's CPUGeneratorImpl and its CPU distribution kernels):
 *  - engine: MT19937 seeded with the low 32 bits of the seed; `random()` = one 32-bit output,
 *    `random64()` = two outputs (first = high word).
 *  - float uniform: `(u32 & (2^24 - 1)) * 2^-24`; double uniform: `(u64 & (2^53 - 1)) * 2^-53`.
 *  - randn on a contiguous float tensor with >= 16 elements: fill every element with a float uniform, then
 *    transform each block of 16 in place (u1 = 1 - data[j], u2 = data[j + 8] for j < 8;
 *    data[j] = sqrt(-2 ln u1) cos(2 pi u2), data[j + 8] = sqrt(-2 ln u1) sin(2 pi u2), in float32). When
 *    the size is not a multiple of 16, the last 16 elements are refilled with fresh uniforms and
 *    transformed again. On x86 CPUs with AVX2 (the common case, and what the reference goldens were made
 *    on) torch evaluates ln/sin/cos with Cephes-style float32 polynomials with fused multiply-adds
 *    ("avx2" mode, the default here, bit-exact against the goldens); builds/CPUs without that kernel use
 *    libm's logf/cosf/sinf ("scalar" mode, reproduced by correctly rounded float32 results; they differ
 *    from "avx2" in the last bit or two for ~1-2% of values).
 *  - randn on fewer than 16 elements: per element a double Box-Muller normal (u1, u2 doubles;
 *    r = sqrt(-2 ln(1 - u2)), theta = 2 pi u1, returns r cos(theta) and caches r sin(theta) for the next
 *    scalar draw), cast to float32. Re-seeding clears the cache.
 */
import { InvalidArgumentError } from "../errors.js";
import type { Generator } from "./generator.js";
import { numelOf } from "./generator.js";
import { logCephesF32, sincosCephesF32 } from "./f32math.js";
import { MT19937 } from "./mt19937.js";

/** Which Box-Muller kernel of torch's vectorised randn path to reproduce (see the file comment). */
export type TorchCpuNormalKernel = "avx2" | "scalar";

export interface TorchCpuGeneratorOptions {
  /** Default "avx2" (torch on x86-64 with AVX2; the goldens). */
  normalKernel?: TorchCpuNormalKernel;
}

const f32 = Math.fround;
const TWO_POW_M24 = 1 / 16777216;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 4294967296;
const PI_F64 = Math.PI;

function toSeed(seed: number | bigint): bigint {
  if (typeof seed === "bigint") {
    if (seed < 0n || seed >= 1n << 64n) throw new InvalidArgumentError(`seed ${seed} is outside [0, 2^64)`);
    return seed;
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError(`seed must be a non-negative safe integer (or a bigint), got ${seed}`);
  }
  return BigInt(seed);
}

/** A CPU generator that produces the same numbers as torch's (torch 1.13 .. 2.x CPU kernels). */
export class TorchCpuGenerator implements Generator {
  private readonly engine = new MT19937();
  private seedValue = 67280421310721n; // torch's default_rng_seed_val
  private nextDoubleNormal: number | null = null;

  readonly normalKernel: TorchCpuNormalKernel;

  constructor(seed: number | bigint = 67280421310721n, options: TorchCpuGeneratorOptions = {}) {
    const kernel = options.normalKernel ?? "avx2";
    if (kernel !== "avx2" && kernel !== "scalar") {
      throw new InvalidArgumentError(`normalKernel must be "avx2" or "scalar", got ${String(kernel)}`);
    }
    this.normalKernel = kernel;
    this.manualSeed(seed);
  }

  get initialSeed(): bigint {
    return this.seedValue;
  }

  /** `generator.manual_seed(seed)`; returns this for chaining. */
  manualSeed(seed: number | bigint): this {
    this.seedValue = toSeed(seed);
    this.engine.seed(this.seedValue);
    this.nextDoubleNormal = null;
    return this;
  }

  /** One 32-bit engine output. */
  random(): number {
    return this.engine.nextU32();
  }

  /** Uniform float in [0,1) with 24 random bits (torch's float uniform_real_distribution). */
  private uniformF32(): number {
    return (this.engine.nextU32() & 0xffffff) * TWO_POW_M24;
  }

  /** Uniform double in [0,1) with 53 random bits (torch's double uniform_real_distribution). */
  private uniformF64(): number {
    const hi = this.engine.nextU32();
    const lo = this.engine.nextU32();
    // (hi << 32 | lo) & (2^53 - 1): keep the low 21 bits of hi.
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /** torch's scalar normal path (normal_distribution<double>), with the cached second value. */
  private normalF64(): number {
    if (this.nextDoubleNormal !== null) {
      const v = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return v;
    }
    const u1 = this.uniformF64();
    const u2 = this.uniformF64();
    const r = Math.sqrt(-2.0 * Math.log(1.0 - u2));
    const theta = 2.0 * PI_F64 * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  randn(shape: readonly number[]): Float32Array {
    const n = numelOf(shape);
    const out = new Float32Array(n);
    if (n >= 16) {
      for (let i = 0; i < n; i++) out[i] = this.uniformF32();
      const fill = this.normalKernel === "avx2" ? normalFill16Avx2 : normalFill16Scalar;
      for (let i = 0; i + 16 <= n; i += 16) fill(out, i);
      if (n % 16 !== 0) {
        const start = n - 16;
        for (let i = 0; i < 16; i++) out[start + i] = this.uniformF32();
        fill(out, start);
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = this.normalF64();
    }
    return out;
  }

  rand(shape: readonly number[]): Float32Array {
    const n = numelOf(shape);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniformF32();
    return out;
  }

  /** An independent copy with the same state (like `torch.Generator().set_state(g.get_state())`). */
  clone(): TorchCpuGenerator {
    const g = new TorchCpuGenerator(this.seedValue, { normalKernel: this.normalKernel });
    g.engine.setState(this.engine.getState());
    g.nextDoubleNormal = this.nextDoubleNormal;
    return g;
  }
}

const TWO_PI_F32 = f32(2 * Math.PI);
const sincosScratch = new Float64Array(2);

/** In-place Box-Muller on 16 float32 uniforms at data[off..off+16), as torch's AVX2 kernel computes it. */
function normalFill16Avx2(data: Float32Array, off: number): void {
  const sc = sincosScratch;
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[off + j]!);
    const u2 = data[off + j + 8]!;
    const radius = f32(Math.sqrt(f32(-2 * logCephesF32(u1, true))));
    sincosCephesF32(f32(TWO_PI_F32 * u2), true, sc);
    data[off + j] = f32(radius * sc[1]!);
    data[off + j + 8] = f32(radius * sc[0]!);
  }
}

/** In-place Box-Muller on 16 float32 uniforms, libm float32 functions (torch's portable kernel). */
function normalFill16Scalar(data: Float32Array, off: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[off + j]!);
    const u2 = data[off + j + 8]!;
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
    const theta = f32(2.0 * PI_F64 * u2);
    data[off + j] = f32(radius * f32(Math.cos(theta)));
    data[off + j + 8] = f32(radius * f32(Math.sin(theta)));
  }
}
