import { describe, expect, it } from "vitest";
import { AbortError, DisposedError, InvalidArgumentError, SdError, createContext } from "../../lib/index.js";

function naiveGemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
    c[i * n + j] = s;
  }
  return c;
}

function random(len: number, seed: number): Float32Array {
  const out = new Float32Array(len);
  let x = seed >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 32 - 0.5;
  }
  return out;
}

describe("Context", () => {
  it("computes a GEMM on the CPU that matches a float64 reference", async () => {
    const ctx = await createContext({ device: "cpu", threads: 2 });
    expect(ctx.backend).toBe("cpu");
    expect(ctx.threads).toBe(2);
    const [m, n, k] = [37, 19, 53];
    const a = random(m * k, 1), b = random(k * n, 2), c = new Float32Array(m * n).fill(NaN);
    await ctx.gemm(m, n, k, a, b, c);
    const ref = naiveGemm(m, n, k, a, b);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i]! - c[i]!));
    expect(worst).toBeLessThan(1e-5);
    ctx.dispose();
  });

  it("measures the linear-layer peak and restarts the memory peak on request", async () => {
    const ctx = await createContext({ device: "cpu" });
    expect(await ctx.measureLinearPeak(64, 0.05)).toBeGreaterThan(0);
    expect(() => ctx.measureLinearPeak(8, 0.05)).toThrow(/size/);
    ctx.resetPeakMemory();
    expect(ctx.memoryStats.peak).toBe(ctx.memoryStats.inUse);
    ctx.dispose();
  });

  it("describes what its backend runs", async () => {
    const ctx = await createContext({ device: "cpu" });
    expect(ctx.backendDescription).toMatch(/^cpu \((portable|avx2|avx512)/);
    ctx.dispose();
  });

  it("reports its backend memory with peak >= in use and reserved >= in use", async () => {
    const ctx = await createContext({ device: "cpu" });
    const m = ctx.memoryStats;
    for (const v of [m.inUse, m.peak, m.reserved]) expect(Number.isInteger(v) && v >= 0).toBe(true);
    expect(m.peak).toBeGreaterThanOrEqual(m.inUse);
    expect(m.reserved).toBeGreaterThanOrEqual(m.inUse);
    ctx.dispose();
    expect(() => ctx.memoryStats).toThrow();
  });

  it("records why it fell back to the CPU when CUDA is asked for and unusable", async () => {
    const ctx = await createContext({ device: "cuda" });
    if (ctx.backend === "cpu") expect(ctx.fallbackReason).toMatch(/using the CPU backend/);
    else expect(ctx.fallbackReason).toBe("");
    ctx.dispose();
  });

  it("rejects CUDA without fallback with a typed backend error when no GPU is usable", async () => {
    const probe = await createContext({ device: "auto" });
    const hasGpu = probe.backend === "cuda";
    probe.dispose();
    if (hasGpu) return;
    await expect(createContext({ device: "cuda", allowFallback: false })).rejects.toMatchObject({ code: "ERR_BACKEND" });
  });

  it("gives typed errors for bad arguments and short arrays, and keeps working after them", async () => {
    const ctx = await createContext({ device: "cpu", threads: 1 });
    await expect(createContext({ device: "tpu" as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => ctx.gemm(-1, 2, 2, new Float32Array(4), new Float32Array(4), new Float32Array(4))).toThrow(InvalidArgumentError);
    expect(() => ctx.gemm(2, 2, 2, [1, 2, 3, 4] as never, new Float32Array(4), new Float32Array(4))).toThrow(InvalidArgumentError);
    // Arrays shorter than the shape: rejected before the core could read past them.
    await expect(ctx.gemm(4, 4, 4, new Float32Array(3), new Float32Array(16), new Float32Array(16))).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
    // A stride smaller than the row: the core's own validation names it.
    const err = await ctx.gemm(2, 2, 2, new Float32Array(4), new Float32Array(4), new Float32Array(4), { lda: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdError);
    expect((err as SdError).code).toBe("ERR_INVALID_ARGUMENT");
    expect((err as Error).message).toMatch(/lda/);
    const c = new Float32Array(4);
    await ctx.gemm(2, 2, 2, new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), c);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
    ctx.dispose();
  });

  it("queues concurrent calls on one context instead of interleaving them", async () => {
    const ctx = await createContext({ device: "cpu" });
    const n = 96;
    const a = random(n * n, 3), b = random(n * n, 4);
    const outs = [0, 1, 2, 3].map(() => new Float32Array(n * n));
    await Promise.all(outs.map((c) => ctx.gemm(n, n, n, a, b, c)));
    for (const c of outs) expect(c).toEqual(outs[0]);
    expect(ctx.pendingOperations).toBe(0);
    ctx.dispose();
  });

  it("dispose is idempotent; use after dispose throws DisposedError; asyncDispose works", async () => {
    const ctx = await createContext({ device: "cpu" });
    ctx.dispose();
    ctx.dispose();
    expect(ctx.disposed).toBe(true);
    expect(() => ctx.threads).toThrow(DisposedError);
    expect(() => ctx.gemm(1, 1, 1, new Float32Array(1), new Float32Array(1), new Float32Array(1))).toThrow(DisposedError);
    const ctx2 = await createContext({ device: "cpu" });
    await ctx2[Symbol.asyncDispose]();
    expect(ctx2.disposed).toBe(true);
  });

  it("aborts a running operation through an AbortSignal with an AbortError", async () => {
    const ctx = await createContext({ device: "cpu" });
    const controller = new AbortController();
    const started = Date.now();
    const run = ctx.measureGemmPeak(256, 30, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).name).toBe("AbortError");
    expect(Date.now() - started).toBeLessThan(10_000);
    // An already-aborted signal rejects before starting, and the context still works afterwards.
    await expect(ctx.measureGemmPeak(64, 0.01, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(await ctx.measureGemmPeak(64, 0.05)).toBeGreaterThan(0);
    ctx.dispose();
  });

  it("reports progress on the JS thread", async () => {
    const ctx = await createContext({ device: "cpu" });
    const seen: Array<[number, number]> = [];
    const n = 64;
    await ctx.gemm(n, n, n, random(n * n, 5), random(n * n, 6), new Float32Array(n * n), { onProgress: (s, t) => seen.push([s, t]) });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContainEqual([1, 1]);
    ctx.dispose();
  });
});
