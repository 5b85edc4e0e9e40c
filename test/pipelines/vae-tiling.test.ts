// Tiled VAE decoding: the tile layout and linear blending of diffusers' tiled_decode, checked with a stand-in
// decoder whose tiles are constants (so every output pixel's source is known), then on a real tiny VAE and
// through a pipeline.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StableDiffusionPipeline, createContext, loadPipeline, loadVae, tiledDecode, type Tensor, type TileDecoder } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

/** Decodes every tile to a constant: 1 + (index of the tile in call order). */
function constantTiles(downscale: number): TileDecoder & { calls: number } {
  const d = {
    downscale,
    calls: 0,
    async decode(z: Tensor): Promise<Tensor> {
      d.calls++;
      const [B, , h, w] = z.shape as [number, number, number, number];
      const data = new Float32Array(B * 3 * h * downscale * w * downscale).fill(d.calls);
      return { shape: [B, 3, h * downscale, w * downscale], data };
    },
  };
  return d;
}

describe("tiledDecode", () => {
  it("one tile covering the latents gives that tile unchanged", async () => {
    const dec = constantTiles(8);
    const out = await tiledDecode(dec, { shape: [1, 4, 6, 5], data: new Float32Array(120) }, { tileLatentSize: 8 });
    expect(out.shape).toEqual([1, 3, 48, 40]);
    expect(dec.calls).toBe(1);
    expect(out.data.every((v) => v === 1)).toBe(true);
  });

  it("tiles step by tile*(1-overlap); seams blend linearly from the previous tile into the next", async () => {
    const dec = constantTiles(2);
    // 8 latent rows, tiles of 4 with overlap 0.25: starts 0, 3, 6 -> 3 rows x 1 column of tiles.
    const out = await tiledDecode(dec, { shape: [1, 4, 8, 3], data: new Float32Array(96) }, { tileLatentSize: 4, overlap: 0.25 });
    expect(dec.calls).toBe(3);
    expect(out.shape).toEqual([1, 3, 16, 6]);
    const col = (y: number) => out.data[y * 6 + 2]!;
    // tile 0 owns rows [0, 6) unblended; tile 1 starts at row 6 and fades in over blendExtent = 2 rows
    for (let y = 0; y < 6; y++) expect(col(y)).toBe(1);
    expect(col(6)).toBeCloseTo(1, 6); // weight 0 on the new tile
    expect(col(7)).toBeCloseTo(1.5, 6); // halfway
    for (let y = 8; y < 12; y++) expect(col(y)).toBe(2);
    expect(col(12)).toBeCloseTo(2, 6);
    expect(col(13)).toBeCloseTo(2.5, 6);
    for (let y = 14; y < 16; y++) expect(col(y)).toBe(3);
  });

  it("rejects bad options with typed errors", async () => {
    const z = { shape: [1, 4, 4, 4], data: new Float32Array(64) };
    await expect(tiledDecode(constantTiles(8), z, { tileLatentSize: 1 })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
    await expect(tiledDecode(constantTiles(8), z, { overlap: 1 })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
  });
});

describeWithReference("tiled decoding with a real VAE and in a pipeline (tiny-sd1)", () => {
  it("a tile as large as the latents equals the plain decode; smaller tiles give the same shape, finite", async () => {
    await using ctx = await createContext({ device: "cpu" });
    const vae = await loadVae(ctx, join(referencePath("models", "tiny-sd1"), "vae"));
    const z: Tensor = { shape: [1, 4, 12, 16], data: Float32Array.from({ length: 768 }, (_, i) => Math.sin(i * 0.3)) };
    const plain = await vae.decode(z);
    const whole = await tiledDecode(vae, z, { tileLatentSize: 16 });
    expect(whole.data).toEqual(plain.data);
    const tiled = await tiledDecode(vae, z, { tileLatentSize: 8 });
    expect(tiled.shape).toEqual(plain.shape);
    expect(tiled.data.every(Number.isFinite)).toBe(true);
    vae.dispose();
  });

  it("pipelines take vaeTiling (load option and per call)", async () => {
    await using pipe = await StableDiffusionPipeline.load(referencePath("models", "tiny-sd1"), { vaeTiling: true, safetyChecker: false });
    const opts = { prompt: "a cat", steps: 2, seed: 7, width: 64, height: 64, outputType: "raw" as const };
    const tiled = await pipe.generate(opts);
    const plain = await pipe.generate({ ...opts, vaeTiling: false });
    // 64 px = one 8-latent tile for this model: tiling changes nothing.
    expect(tiled.images[0]).toEqual(plain.images[0]);
    const big = await pipe.generate({ ...opts, width: 128 });
    expect((big.images[0] as { width: number }).width).toBe(128);
    await expect(loadPipeline(referencePath("models", "tiny-sd1"), { vaeTiling: "yes" as never })).rejects.toMatchObject({ code: "ERR_INVALID_ARGUMENT" });
  });
});
