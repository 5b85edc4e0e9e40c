/**
 * Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3", SC'11) and
 * a CPU emulation of torch's CUDA `randn` built on it.
 *
 * torch's CUDA generator is (seed, offset): `manual_seed` sets the seed and offset 0. A float32 `randn`
 * launches a grid-stride kernel of `gridX` blocks x 256 threads; thread `idx` initialises a curand Philox
 * state with (key = seed, subsequence = idx, offset = current offset), and in each grid-stride round draws
 * four normals (`curand_normal4`: two Box-Muller pairs from four 32-bit outputs) which go to elements
 * `round_base + idx + k * (256 * gridX)` for k = 0..3. After the call the generator's offset advances by
 * `4 * ceil(numel / (256 * gridX * 4))` (already a multiple of 4). `gridX` is
 * `min(multiProcessorCount * (maxThreadsPerMultiProcessor / 256), ceil(numel / 256))`, so for tensors larger
 * than the resident thread count the numbers depend on the GPU model: pass the device's properties.
 *
 * Box-Muller as curand does it: u = x * 2^-32 + 2^-33, v = y * (2^-32 * 2pi) + (2^-32 * 2pi) / 2 (float32,
 * multiply-add fused as the CUDA compiler emits it), s = sqrt(-2 ln u), normals (s sin v, s cos v). On the
 * GPU `sin`/`cos` come from the fast `__sincosf` hardware approximation, whose exact bits are not publicly
 * specified; this emulation uses correctly rounded float32 sin/cos, so individual values may differ from a
 * real GPU by a few float32 ulps (about 1e-6 absolute). Parity with torch CUDA has NOT been verified on a GPU.
 */
import { InvalidArgumentError } from "../errors.js";
import { fmaf } from "./f32math.js";
import type { Generator } from "./generator.js";
import { numelOf } from "./generator.js";

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;

/** 32x32 -> 64 multiply; returns [hi, lo] as unsigned 32-bit numbers. */
function mulhilo(a: number, b: number, out: Uint32Array, hiIdx: number, loIdx: number): void {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  out[loIdx] = ((mid & 0xffff) << 16) | (ll & 0xffff);
  out[hiIdx] = hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536);
}

const scratch = new Uint32Array(4);

/**
 * The Philox4x32-10 bijection: 10 rounds on a 128-bit counter (4 words) under a 64-bit key (2 words).
 * Writes the 4 output words into `out` (which may alias nothing else passed in).
 */
export function philox4x32_10(ctr: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = ctr[0]! >>> 0;
  let c1 = ctr[1]! >>> 0;
  let c2 = ctr[2]! >>> 0;
  let c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  const s = scratch;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + PHILOX_W0) >>> 0;
      k1 = (k1 + PHILOX_W1) >>> 0;
    }
    mulhilo(PHILOX_M0, c0, s, 0, 1); // s0 = hi0, s1 = lo0
    mulhilo(PHILOX_M1, c2, s, 2, 3); // s2 = hi1, s3 = lo1
    const n0 = (s[2]! ^ c1 ^ k0) >>> 0;
    const n1 = s[3]!;
    const n2 = (s[0]! ^ c3 ^ k1) >>> 0;
    const n3 = s[1]!;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

const f32 = Math.fround;
const TWO_POW_M32 = f32(2.3283064e-10);
const TWO_POW_M32_2PI = f32(TWO_POW_M32 * f32(6.2831855));

/** curand's Box-Muller on two 32-bit words; writes [s*sin(v), s*cos(v)] into out[o], out[o+1]. */
function boxMullerCurand(x: number, y: number, out: Float32Array, o: number, limit: number): void {
  const u = fmaf(f32(x), TWO_POW_M32, f32(TWO_POW_M32 / 2));
  const v = fmaf(f32(y), TWO_POW_M32_2PI, f32(TWO_POW_M32_2PI / 2));
  const s = f32(Math.sqrt(f32(-2 * f32(Math.log(u)))));
  if (o < limit) out[o] = f32(s * f32(Math.sin(v)));
  if (o + 1 < limit) out[o + 1] = f32(s * f32(Math.cos(v)));
}

export interface CudaDeviceProperties {
  /** Streaming multiprocessors (e.g. 108 on A100, 132 on H100 SXM, 128 on RTX 4090). */
  multiProcessorCount: number;
  /** Max resident threads per SM (2048 on A100/H100, 1536 on RTX 30xx/40xx). */
  maxThreadsPerMultiProcessor: number;
}

/** Default: an A100-class device (108 SMs x 2048 threads). */
export const DEFAULT_CUDA_DEVICE: CudaDeviceProperties = { multiProcessorCount: 108, maxThreadsPerMultiProcessor: 2048 };

const BLOCK_SIZE = 256;
const UNROLL = 4;

/**
 * CPU emulation of `torch.Generator("cuda").manual_seed(seed)` + `torch.randn(shape, generator=g,
 * device="cuda", dtype=float32)`. Unverified against a real GPU (see the file comment).
 */
export class TorchCudaGenerator implements Generator {
  private seedValue = 67280421310721n;
  private offset = 0n;
  readonly device: CudaDeviceProperties;

  constructor(seed: number | bigint = 67280421310721n, device: CudaDeviceProperties = DEFAULT_CUDA_DEVICE) {
    if (
      !Number.isInteger(device.multiProcessorCount) || device.multiProcessorCount < 1 ||
      !Number.isInteger(device.maxThreadsPerMultiProcessor) || device.maxThreadsPerMultiProcessor < BLOCK_SIZE
    ) {
      throw new InvalidArgumentError("CUDA device properties must be positive integers (maxThreadsPerMultiProcessor >= 256)");
    }
    this.device = { ...device };
    this.manualSeed(seed);
  }

  get initialSeed(): bigint {
    return this.seedValue;
  }

  /** The Philox offset (per-thread counter increments consumed so far). */
  get philoxOffset(): bigint {
    return this.offset;
  }

  manualSeed(seed: number | bigint): this {
    const s = typeof seed === "bigint" ? seed : BigInt(seed);
    if (typeof seed === "number" && (!Number.isSafeInteger(seed) || seed < 0)) {
      throw new InvalidArgumentError(`seed must be a non-negative safe integer (or a bigint), got ${seed}`);
    }
    if (s < 0n || s >= 1n << 64n) throw new InvalidArgumentError(`seed ${s} is outside [0, 2^64)`);
    this.seedValue = s;
    this.offset = 0n;
    return this;
  }

  private launch(numel: number): { gridX: number; counterOffset: bigint } {
    const blocksPerSm = Math.floor(this.device.maxThreadsPerMultiProcessor / BLOCK_SIZE);
    const gridX = Math.max(1, Math.min(this.device.multiProcessorCount * blocksPerSm, Math.ceil(numel / BLOCK_SIZE)));
    const rounds = Math.floor((numel - 1) / (BLOCK_SIZE * gridX * UNROLL)) + 1;
    return { gridX, counterOffset: BigInt(rounds * UNROLL) };
  }

  /**
   * Walks torch's CUDA kernel layout for `numel` elements and advances the Philox offset: every thread
   * `idx` draws one Philox4x32-10 block per round (counter = offset/4 + round in words 0-1, idx in words
   * 2-3) and `fill(words, base, threads)` places its UNROLL values at base + threads * k.
   */
  private draw(numel: number, fill: (words: Uint32Array, base: number, threads: number) => void): void {
    if (numel === 0) return;
    const { gridX, counterOffset } = this.launch(numel);
    const baseOffset = this.offset;
    this.offset += ((counterOffset + 3n) / 4n) * 4n;
    const threads = BLOCK_SIZE * gridX;
    const stride = threads * UNROLL;
    const key = [Number(this.seedValue & 0xffffffffn), Number((this.seedValue >> 32n) & 0xffffffffn)];
    const ctr = new Uint32Array(4);
    const words = new Uint32Array(4);
    const startBlock = baseOffset / 4n; // torch's offsets are multiples of 4: state position stays 0
    const rounded = Math.ceil(numel / stride) * stride;
    for (let idx = 0; idx < threads && idx < numel; idx++) {
      let block = startBlock;
      for (let li = idx; li < rounded; li += stride) {
        ctr[0] = Number(block & 0xffffffffn);
        ctr[1] = Number((block >> 32n) & 0xffffffffn);
        ctr[2] = idx >>> 0;
        ctr[3] = 0;
        philox4x32_10(ctr, key, words);
        block += 1n;
        fill(words, li, threads);
      }
    }
  }

  randn(shape: readonly number[]): Float32Array {
    const numel = numelOf(shape);
    const out = new Float32Array(numel);
    const normals = new Float32Array(4);
    this.draw(numel, (words, base, threads) => {
      boxMullerCurand(words[0]!, words[1]!, normals, 0, 4);
      boxMullerCurand(words[2]!, words[3]!, normals, 2, 4);
      for (let k = 0; k < UNROLL; k++) {
        const e = base + threads * k;
        if (e < numel) out[e] = normals[k]!;
      }
    });
    return out;
  }

  /** torch CUDA `rand` (curand_uniform4: x * 2^-32 + 2^-33, float32), same launch geometry as randn. */
  rand(shape: readonly number[]): Float32Array {
    const numel = numelOf(shape);
    const out = new Float32Array(numel);
    this.draw(numel, (words, base, threads) => {
      for (let k = 0; k < UNROLL; k++) {
        const e = base + threads * k;
        if (e < numel) {
          // torch maps curand's (0, 1] to [0, 1): value == 1 becomes 0.
          const u = fmaf(f32(words[k]!), TWO_POW_M32, f32(TWO_POW_M32 / 2));
          out[e] = u === 1 ? 0 : u;
        }
      }
    });
    return out;
  }
}
