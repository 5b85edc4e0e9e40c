/**
 * Tiled VAE decoding (the algorithm of diffusers' AutoencoderKL.tiled_decode): the latents are cut into
 * overlapping tiles, each decoded on its own, and neighbouring tiles are blended linearly across the
 * overlap, so memory follows the tile size instead of the image size. Used for large images.
 */
import { AbortError, InvalidArgumentError } from "../errors.js";
import type { Tensor } from "../tensor.js";

/** What tiledDecode needs from a VAE (a `Vae`, or a stand-in in tests). */
export interface TileDecoder {
  readonly downscale: number;
  decode(z: Tensor, options?: { signal?: AbortSignal }): Promise<Tensor>;
}

export interface VaeTilingOptions {
  /** Tile size in latent pixels (diffusers: sample_size / 8 = 64 for SD 512 models). Default 64. */
  tileLatentSize?: number;
  /** Fraction of a tile shared with its neighbour (diffusers 0.25). */
  overlap?: number;
  signal?: AbortSignal;
}

function slice(z: Tensor, y0: number, x0: number, h: number, w: number): Tensor {
  const [B, C, H, W] = z.shape as [number, number, number, number];
  const hh = Math.min(h, H - y0), ww = Math.min(w, W - x0);
  const out = new Float32Array(B * C * hh * ww);
  for (let p = 0; p < B * C; p++)
    for (let y = 0; y < hh; y++) out.set(z.data.subarray(p * H * W + (y0 + y) * W + x0, p * H * W + (y0 + y) * W + x0 + ww), (p * hh + y) * ww);
  return { shape: [B, C, hh, ww], data: out };
}

/** b's first `extent` rows fade in from a's last rows (in place on b). */
function blendV(a: Tensor, b: Tensor, extent: number): void {
  const [B, C, ha, wa] = a.shape as [number, number, number, number];
  const [, , hb, wb] = b.shape as [number, number, number, number];
  const e = Math.min(ha, hb, extent);
  const w = Math.min(wa, wb);
  for (let p = 0; p < B * C; p++)
    for (let y = 0; y < e; y++) {
      const t = y / e;
      for (let x = 0; x < w; x++) {
        const ia = (p * ha + (ha - e + y)) * wa + x, ib = (p * hb + y) * wb + x;
        b.data[ib] = a.data[ia]! * (1 - t) + b.data[ib]! * t;
      }
    }
}

/** b's first `extent` columns fade in from a's last columns (in place on b). */
function blendH(a: Tensor, b: Tensor, extent: number): void {
  const [B, C, ha, wa] = a.shape as [number, number, number, number];
  const [, , hb, wb] = b.shape as [number, number, number, number];
  const e = Math.min(wa, wb, extent);
  const h = Math.min(ha, hb);
  for (let p = 0; p < B * C; p++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < e; x++) {
        const t = x / e;
        const ia = (p * ha + y) * wa + (wa - e + x), ib = (p * hb + y) * wb + x;
        b.data[ib] = a.data[ia]! * (1 - t) + b.data[ib]! * t;
      }
}

/** Decodes z [B, C, h, w] tile by tile when it is larger than one tile; same output shape as vae.decode(z). */
export async function tiledDecode(vae: TileDecoder, z: Tensor, options: VaeTilingOptions = {}): Promise<Tensor> {
  const tile = options.tileLatentSize ?? 64;
  const overlapFactor = options.overlap ?? 0.25;
  if (!Number.isInteger(tile) || tile < 2) throw new InvalidArgumentError(`tileLatentSize must be an integer >= 2, got ${tile}`);
  if (!(overlapFactor >= 0 && overlapFactor < 1)) throw new InvalidArgumentError(`overlap must be in [0, 1), got ${overlapFactor}`);
  const [B, , H, W] = z.shape as [number, number, number, number];
  // Latents that fit in one tile are decoded as a whole (as diffusers' decode does).
  if (H <= tile && W <= tile) return vae.decode(z, { signal: options.signal });
  const f = vae.downscale;
  const step = Math.floor(tile * (1 - overlapFactor));
  const tileSample = tile * f;
  const blendExtent = Math.floor(tileSample * overlapFactor);
  const rowLimit = tileSample - blendExtent;

  const rows: Tensor[][] = [];
  for (let i = 0; i < H; i += step) {
    const row: Tensor[] = [];
    for (let j = 0; j < W; j += step) {
      if (options.signal?.aborted) throw new AbortError("aborted during tiled decoding", { cause: options.signal.reason });
      row.push(await vae.decode(slice(z, i, j, tile, tile), { signal: options.signal }));
    }
    rows.push(row);
  }
  const outC = rows[0]![0]!.shape[1]!;
  const OH = H * f, OW = W * f;
  const out = new Float32Array(B * outC * OH * OW);
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < rows[r]!.length; c++) {
      const t = rows[r]![c]!;
      if (r > 0) blendV(rows[r - 1]![c]!, t, blendExtent);
      if (c > 0) blendH(rows[r]![c - 1]!, t, blendExtent);
      // Keep the tile's top-left rowLimit x rowLimit block at its place in the output.
      const [, , th, tw] = t.shape as [number, number, number, number];
      const y0 = r * step * f, x0 = c * step * f;
      const hh = Math.min(th, rowLimit, OH - y0), ww = Math.min(tw, rowLimit, OW - x0);
      for (let p = 0; p < B * outC; p++)
        for (let y = 0; y < hh; y++)
          out.set(t.data.subarray((p * th + y) * tw, (p * th + y) * tw + ww), (p * OH + y0 + y) * OW + x0);
    }
  }
  return { shape: [B, outC, OH, OW], data: out };
}
