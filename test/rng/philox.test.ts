/**
 * Philox4x32-10 known-answer tests and properties of the torch-CUDA randn emulation.
 *
 * KAT vectors: Random123 (D. E. Shaw Research), file tests/kat_vectors of the Random123 1.x distribution,
 * lines "philox4x32 10 <ctr x4> <key x2> <expected x4>"; the same three vectors are reproduced e.g. in
 * TensorFlow's tensorflow/compiler/tests/stateful_random_ops_test.py (which cites Random123's test_philox.cpp).
 *
 * NOTE: parity of TorchCudaGenerator with torch's real CUDA randn is UNVERIFIED (no GPU in the session that
 * wrote it; the GPU's fast __sincosf is only approximated).
 */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors.js";
import { philox4x32_10, TorchCudaGenerator } from "../../lib/rng/index.js";

const KAT: { ctr: number[]; key: number[]; out: number[] }[] = [
  { ctr: [0, 0, 0, 0], key: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
  {
    ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
    key: [0xffffffff, 0xffffffff],
    out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
  },
  {
    ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
    key: [0xa4093822, 0x299f31d0],
    out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
  },
];

describe("Philox4x32-10 (Random123 known answers)", () => {
  for (const k of KAT) {
    it(`ctr ${k.ctr.map((v) => v.toString(16)).join(" ")}`, () => {
      expect(Array.from(philox4x32_10(k.ctr, k.key))).toEqual(k.out);
    });
  }
});

describe("TorchCudaGenerator (CPU emulation, unverified against a GPU)", () => {
  it("is deterministic, advances its offset by multiples of 4 and gives standard normals", () => {
    const g = new TorchCudaGenerator(42);
    const a = g.randn([1, 4, 64, 64]);
    expect(g.philoxOffset % 4n).toBe(0n);
    expect(g.philoxOffset).toBeGreaterThan(0n);
    const b = new TorchCudaGenerator(42).randn([1, 4, 64, 64]);
    expect(Array.from(a)).toEqual(Array.from(b));
    let s = 0;
    let s2 = 0;
    for (const v of a) {
      s += v;
      s2 += v * v;
    }
    const mean = s / a.length;
    const varc = s2 / a.length - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(varc - 1)).toBeLessThan(0.05);
    const c = g.randn([1, 4, 64, 64]);
    expect(Array.from(c)).not.toEqual(Array.from(a));
    const u = new TorchCudaGenerator(1).rand([1000]);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
  });

  it("element i of a small tensor comes from thread i's first Philox block", () => {
    const g = new TorchCudaGenerator(5);
    const small = g.randn([8]);
    // Thread 0 draws four normals for elements 0, 256*grid, ...; with 8 elements grid = 1 block of 256
    // threads, so element 1 comes from thread 1 (counter [0,0,1,0]).
    const w = philox4x32_10([0, 0, 1, 0], [5, 0]);
    const u = Math.fround(Math.fround(w[0]!) * 2.3283064e-10 + Math.fround(2.3283064e-10 / 2));
    const v = Math.fround(w[1]!) * Math.fround(Math.fround(2.3283064e-10) * Math.fround(6.2831855));
    const expected = Math.sqrt(-2 * Math.log(u)) * Math.sin(v);
    expect(Math.abs(small[1]! - expected)).toBeLessThan(1e-5);
  });

  it("rejects bad device properties and seeds", () => {
    expect(() => new TorchCudaGenerator(0, { multiProcessorCount: 0, maxThreadsPerMultiProcessor: 2048 })).toThrow(InvalidArgumentError);
    expect(() => new TorchCudaGenerator(-3)).toThrow(InvalidArgumentError);
  });
});
