// How the networks behave on awkward and bad input: typed errors for wrong shapes and sizes, NaN
// propagation without crashes, cancellation mid-forward, batch and per-sample consistency, non-square
// latents, and that a model keeps working after each failure.
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  AbortError,
  InvalidArgumentError,
  NotFoundError,
  SdError,
  ShapeError,
  createContext,
  loadTextEncoder,
  loadUNet,
  loadVae,
  type Context,
  type TextEncoder,
  type Tensor,
  type UNet,
  type Vae,
} from "../../lib/index.js";
import { describeWithReference, referenceDir } from "../helpers/reference.js";

function filled(shape: number[], f: (i: number) => number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = f(i);
  return { shape, data };
}

const wave = (i: number) => Math.sin(i * 0.37) * 0.8;

describeWithReference("network behaviour on bad and awkward input (tiny-sd1)", () => {
  let ctx: Context;
  let unet: UNet;
  let vae: Vae;
  let te: TextEncoder;
  const dir = () => join(referenceDir()!, "models", "tiny-sd1");
  beforeAll(async () => {
    ctx = await createContext({ device: "cpu" });
    unet = await loadUNet(ctx, join(dir(), "unet"));
    vae = await loadVae(ctx, join(dir(), "vae"));
    te = await loadTextEncoder(ctx, join(dir(), "text_encoder"));
  });
  afterAll(() => ctx?.dispose());

  const context77 = () => filled([1, 77, 16], wave);

  it("rejects wrong shapes with ShapeError naming the tensor, and keeps working", async () => {
    await expect(unet.forward(filled([1, 3, 8, 8], wave), 10, context77())).rejects.toBeInstanceOf(ShapeError);
    await expect(unet.forward(filled([1, 4, 8, 8], wave), 10, filled([1, 77, 15], wave))).rejects.toThrow(/encoderHiddenStates/);
    await expect(unet.forward(filled([2, 4, 8, 8], wave), [1, 2, 3], filled([2, 77, 16], wave))).rejects.toBeInstanceOf(ShapeError);
    await expect(unet.forward(filled([1, 4, 8, 8], wave), Number.NaN, context77())).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(te.forward([[1, 2, 3], [4, 5]])).rejects.toBeInstanceOf(ShapeError);
    await expect(te.forward({ shape: [1, 3], data: Int32Array.from([0, 49408, 2]) })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
    await expect(te.forward({ shape: [1, 78], data: new Int32Array(78) })).rejects.toMatchObject({ code: "ERR_SHAPE" });
    const ok = await unet.forward(filled([1, 4, 8, 8], wave), 10, context77());
    expect(ok.shape).toEqual([1, 4, 8, 8]);
    expect(ok.data.every(Number.isFinite)).toBe(true);
  });

  it("VAE encode refuses image sizes that are not multiples of 8 with a typed error", async () => {
    const err = await vae.encode(filled([1, 3, 60, 64], wave)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdError);
    expect((err as SdError).code).toBe("ERR_SHAPE");
    expect((err as Error).message).toMatch(/multiple of 8/);
  });

  it("propagates NaN inputs as NaN outputs (no crash, no exception)", async () => {
    const x = filled([1, 4, 8, 8], wave);
    x.data[5] = Number.NaN;
    const out = await unet.forward(x, 500, context77());
    expect(out.data.some(Number.isNaN)).toBe(true);
    const z = filled([1, 4, 8, 8], wave);
    z.data[0] = Number.NaN;
    const img = await vae.decode(z);
    expect(img.data.some(Number.isNaN)).toBe(true);
  });

  it("computes non-square latents (8x16 and 16x8) and odd-sized ones (12x20 -> 6 -> 3 -> 2 levels)", async () => {
    for (const [h, w] of [[8, 16], [16, 8], [12, 20]] as const) {
      const out = await unet.forward(filled([1, 4, h, w], wave), 321.5, context77());
      expect(out.shape).toEqual([1, 4, h, w]);
      expect(out.data.every(Number.isFinite)).toBe(true);
    }
    const img = await vae.decode(filled([1, 4, 4, 6], wave));
    expect(img.shape).toEqual([1, 3, 32, 48]);
  });

  it("a batch equals its samples run one by one, including per-sample timesteps", async () => {
    const a = filled([1, 4, 8, 8], wave), b = filled([1, 4, 8, 8], (i) => Math.cos(i * 0.11));
    const ca = context77(), cb = filled([1, 77, 16], (i) => Math.sin(i * 0.05));
    const both: Tensor = { shape: [2, 4, 8, 8], data: new Float32Array([...a.data, ...b.data]) };
    const ctxBoth: Tensor = { shape: [2, 77, 16], data: new Float32Array([...ca.data, ...cb.data]) };
    const batched = await unet.forward(both, [10, 700], ctxBoth);
    const ra = await unet.forward(a, 10, ca);
    const rb = await unet.forward(b, 700, cb);
    let worst = 0;
    for (let i = 0; i < ra.data.length; i++) worst = Math.max(worst, Math.abs(batched.data[i]! - ra.data[i]!));
    for (let i = 0; i < rb.data.length; i++) worst = Math.max(worst, Math.abs(batched.data[ra.data.length + i]! - rb.data[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it("stops mid-forward when the signal aborts, then runs again", async () => {
    const controller = new AbortController();
    let calls = 0;
    const big = filled([2, 4, 64, 64], wave);
    const run = unet.forward(big, 500, filled([2, 77, 16], wave), {
      signal: controller.signal,
      onProgress: () => {
        calls++;
        controller.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
    const again = await unet.forward(filled([1, 4, 8, 8], wave), 10, context77());
    expect(again.data.every(Number.isFinite)).toBe(true);
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  it("a missing component folder is a NotFoundError naming it", async () => {
    await expect(loadUNet(ctx, join(dir(), "no-such-unet"))).rejects.toBeInstanceOf(NotFoundError);
  });

  it("disposed models refuse work with ERR_DISPOSED; dispose is idempotent", async () => {
    const v2 = await loadVae(ctx, join(dir(), "vae"));
    v2.dispose();
    v2.dispose();
    expect(v2.disposed).toBe(true);
    await expect(async () => v2.decode(filled([1, 4, 8, 8], wave))).rejects.toMatchObject({ code: "ERR_DISPOSED" });
  });
});
