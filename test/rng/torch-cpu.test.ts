/** torch CPU randn/rand parity: bitwise float32 equality with the goldens (and small bundled fixtures). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors.js";
import { MT19937, randnTensor, TorchCpuGenerator } from "../../lib/rng/index.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { readF32Exact, readSafetensors } from "../helpers/safetensors.js";

function bitsEqual(a: Float32Array, b: ArrayLike<number>): { equal: boolean; mismatches: number } {
  let mismatches = 0;
  if (a.length !== b.length) return { equal: false, mismatches: Math.abs(a.length - b.length) };
  const bb = Float32Array.from(b);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(bb.buffer, bb.byteOffset, bb.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) mismatches++;
  return { equal: mismatches === 0, mismatches };
}

describe("MT19937", () => {
  it("matches the reference 10000th output for the default seed 5489", () => {
    // Published check value of MT19937 (C++11 std::mt19937: the 10000th invocation with seed 5489).
    const mt = new MT19937(5489);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = mt.nextU32();
    expect(v).toBe(4123659995);
  });
});

describe("TorchCpuGenerator (bundled fixtures, no reference data needed)", () => {
  const fx = JSON.parse(readFileSync(repoPath("test", "fixtures", "rng", "torch_cpu_small.json"), "utf8")) as {
    cases: { key: string; op: "randn" | "rand"; seed: number; shape: number[]; values: number[] }[];
  };
  for (const c of fx.cases) {
    it(`${c.key} is bit-exact`, () => {
      const g = new TorchCpuGenerator(c.seed);
      const out = c.op === "randn" ? g.randn(c.shape) : g.rand(c.shape);
      expect(bitsEqual(out, c.values)).toEqual({ equal: true, mismatches: 0 });
    });
  }

  it("scalar path caches the second Box-Muller value across draws; manualSeed resets it", () => {
    const g = new TorchCpuGenerator(0);
    const a = g.randn([3]); // uses 2 pairs, caches one value
    const b = g.randn([1]); // returns the cached value
    const g2 = new TorchCpuGenerator(0);
    const four = [...g2.randn([2]), ...g2.randn([2])];
    expect([...a, ...b]).toEqual(four);
    g.manualSeed(0);
    expect(Array.from(g.randn([3]))).toEqual(Array.from(a));
  });

  it("clone() continues identically", () => {
    const g = new TorchCpuGenerator(7);
    g.randn([20]);
    const c = g.clone();
    expect(Array.from(c.randn([33]))).toEqual(Array.from(g.randn([33])));
  });

  it("rejects bad seeds and shapes with InvalidArgumentError", () => {
    expect(() => new TorchCpuGenerator(-1)).toThrow(InvalidArgumentError);
    expect(() => new TorchCpuGenerator(1.5)).toThrow(InvalidArgumentError);
    expect(() => new TorchCpuGenerator(1n << 64n)).toThrow(InvalidArgumentError);
    expect(() => new TorchCpuGenerator(0).randn([2, -1])).toThrow(InvalidArgumentError);
    expect(() => randnTensor([3, 4], [new TorchCpuGenerator(0), new TorchCpuGenerator(1)])).toThrow(InvalidArgumentError);
  });
});

describeWithReference("TorchCpuGenerator vs goldens/rng (bitwise)", () => {
  const file = referencePath("goldens", "rng", "torch_cpu_randn.safetensors");
  const tensors = readSafetensors(file);

  for (const [key, t] of tensors) {
    const m = /^randn_seed(\d+)_/.exec(key);
    if (!m) continue;
    it(`${key} ${JSON.stringify(t.shape)}`, () => {
      const g = new TorchCpuGenerator(BigInt(m[1]!));
      expect(bitsEqual(g.randn(t.shape), readF32Exact(file, key))).toEqual({ equal: true, mismatches: 0 });
    });
  }

  it("three consecutive draws from one generator (seed 42)", () => {
    const g = new TorchCpuGenerator(42);
    expect(bitsEqual(g.randn([1, 4, 8, 8]), readF32Exact(file, "sequence_seed42_draw0")).equal).toBe(true);
    expect(bitsEqual(g.randn([1, 4, 8, 8]), readF32Exact(file, "sequence_seed42_draw1")).equal).toBe(true);
    expect(bitsEqual(g.randn([5]), readF32Exact(file, "sequence_seed42_draw2_5")).equal).toBe(true);
  });

  it("diffusers randn_tensor with a list of generators [seed 0, seed 42]", () => {
    const out = randnTensor([2, 4, 8, 8], [new TorchCpuGenerator(0), new TorchCpuGenerator(42)]);
    expect(bitsEqual(out, readF32Exact(file, "randn_tensor_generator_list")).equal).toBe(true);
  });

  it("torch.rand seed 42", () => {
    const g = new TorchCpuGenerator(42);
    expect(bitsEqual(g.rand([1, 4, 8, 8]), readF32Exact(file, "rand_seed42_1x4x8x8")).equal).toBe(true);
  });

  it('the portable ("scalar") Box-Muller kernel differs from the AVX2 one only in the last bits', () => {
    const ref = readF32Exact(file, "randn_seed0_1x4x64x64");
    const out = new TorchCpuGenerator(0, { normalKernel: "scalar" }).randn([1, 4, 64, 64]);
    let maxAbs = 0;
    for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(out[i]! - ref[i]!));
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThan(5e-6);
  });
});
