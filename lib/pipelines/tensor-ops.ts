/**
 * Small float32 tensor operations the pipelines need between network calls, written to give the same
 * float32 results as the torch CPU operations diffusers uses (each elementwise result rounded to float32).
 */
import { ShapeError } from "../errors.js";
import { numel, type Tensor } from "../tensor.js";

const f32 = Math.fround;

/** Concatenation along the batch axis (torch.cat(dim=0)). */
export function catBatch(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new ShapeError("catBatch: nothing to concatenate");
  const rest = parts[0]!.shape.slice(1);
  let batch = 0;
  for (const p of parts) {
    if (p.shape.length !== rest.length + 1 || p.shape.slice(1).some((d, i) => d !== rest[i])) {
      throw new ShapeError(`catBatch: shapes [${p.shape.join(", ")}] and [${parts[0]!.shape.join(", ")}] differ beyond the batch axis`);
    }
    batch += p.shape[0]!;
  }
  const data = new Float32Array(batch * numel(rest));
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { shape: [batch, ...rest], data };
}

/** `t` repeated `times` along the batch axis as a whole (torch.cat([t] * times) / t.repeat(times, 1, 1, 1)). */
export function tileBatch(t: Tensor, times: number): Tensor {
  if (times === 1) return t;
  return catBatch(new Array<Tensor>(times).fill(t));
}

/** Every batch item repeated `times` in place (repeat(1, n, 1).view(...) on embeddings): [a, a, b, b]. */
export function repeatInterleaveBatch(t: Tensor, times: number): Tensor {
  if (times === 1) return t;
  const B = t.shape[0]!;
  const per = t.data.length / B;
  const data = new Float32Array(t.data.length * times);
  for (let b = 0; b < B; b++) {
    const item = t.data.subarray(b * per, (b + 1) * per);
    for (let k = 0; k < times; k++) data.set(item, (b * times + k) * per);
  }
  return { shape: [B * times, ...t.shape.slice(1)], data };
}

/** Concatenation along the channel axis of NCHW tensors with the same N, H, W (torch.cat(dim=1)). */
export function catChannels(parts: readonly Tensor[]): Tensor {
  const [N, , H, W] = parts[0]!.shape as [number, number, number, number];
  let C = 0;
  for (const p of parts) {
    if (p.shape.length !== 4 || p.shape[0] !== N || p.shape[2] !== H || p.shape[3] !== W) {
      throw new ShapeError(`catChannels: [${p.shape.join(", ")}] does not match [${N}, *, ${H}, ${W}]`);
    }
    C += p.shape[1]!;
  }
  const plane = H * W;
  const data = new Float32Array(N * C * plane);
  for (let n = 0; n < N; n++) {
    let c0 = 0;
    for (const p of parts) {
      const pc = p.shape[1]!;
      data.set(p.data.subarray(n * pc * plane, (n + 1) * pc * plane), (n * C + c0) * plane);
      c0 += pc;
    }
  }
  return { shape: [N, C, H, W], data };
}

/** Batch items [start, end). */
export function sliceBatch(t: Tensor, start: number, end: number): Tensor {
  const per = t.data.length / t.shape[0]!;
  return { shape: [end - start, ...t.shape.slice(1)], data: t.data.slice(start * per, end * per) };
}

/**
 * Classifier-free guidance on a [2B, ...] prediction (uncond first): uncond + g * (text - uncond), each
 * operation rounded to float32 as torch does, with g as float32.
 */
export function guidanceCombine(pred: Float32Array, guidance: number): Float32Array {
  const half = pred.length / 2;
  const g = f32(guidance);
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const u = pred[i]!;
    const d = f32(pred[half + i]! - u);
    out[i] = f32(u + f32(g * d));
  }
  return out;
}

/** diffusers rescale_noise_cfg (guidance_rescale, arXiv 2305.08891): per batch item, std over C, H, W. */
export function rescaleNoiseCfg(noiseCfg: Float32Array, noiseText: Float32Array, batch: number, rescale: number): Float32Array {
  const per = noiseCfg.length / batch;
  const out = new Float32Array(noiseCfg.length);
  const std = (x: Float32Array, o: number): number => {
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x[o + i]!;
    mean /= per;
    let v = 0;
    for (let i = 0; i < per; i++) v += (x[o + i]! - mean) ** 2;
    return f32(Math.sqrt(v / (per - 1)));
  };
  const r = f32(rescale);
  for (let b = 0; b < batch; b++) {
    const o = b * per;
    const ratio = f32(std(noiseText, o) / std(noiseCfg, o));
    for (let i = 0; i < per; i++) {
      const rescaled = f32(noiseCfg[o + i]! * ratio);
      out[o + i] = f32(f32(r * rescaled) + f32(f32(1 - r) * noiseCfg[o + i]!));
    }
  }
  return out;
}

/** x * s in float32 (s rounded to float32, as torch does with a Python scalar). */
export function scale(x: Float32Array, s: number): Float32Array {
  const k = f32(s);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * k;
  return out;
}

/** x / s in float32. */
export function divide(x: Float32Array, s: number): Float32Array {
  const k = f32(s);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / k;
  return out;
}

/** DiagonalGaussianDistribution.sample: mean + std * eps. */
export function gaussianSample(mean: Float32Array, std: Float32Array, eps: Float32Array): Float32Array {
  const out = new Float32Array(mean.length);
  for (let i = 0; i < out.length; i++) out[i] = f32(mean[i]! + f32(std[i]! * eps[i]!));
  return out;
}

/** torch.nn.functional.interpolate(mode="nearest") of an NCHW tensor to (outH, outW). */
export function resizeNearest(t: Tensor, outH: number, outW: number): Tensor {
  const [N, C, H, W] = t.shape as [number, number, number, number];
  const sh = f32(H / outH), sw = f32(W / outW);
  const rows = new Int32Array(outH), cols = new Int32Array(outW);
  for (let y = 0; y < outH; y++) rows[y] = Math.min(Math.floor(f32(y * sh)), H - 1);
  for (let x = 0; x < outW; x++) cols[x] = Math.min(Math.floor(f32(x * sw)), W - 1);
  const out = new Float32Array(N * C * outH * outW);
  for (let p = 0; p < N * C; p++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) out[(p * outH + y) * outW + x] = t.data[(p * H + rows[y]!) * W + cols[x]!]!;
    }
  }
  return { shape: [N, C, outH, outW], data: out };
}

function cubicWeights(t: number): [number, number, number, number] {
  // torch get_cubic_upsample_coefficients, A = -0.75, in float32
  const A = -0.75;
  const cc1 = (x: number) => f32(f32(f32(f32(f32(f32(A + 2) * x) - f32(A + 3)) * x) * x) + 1);
  const cc2 = (x: number) => f32(f32(f32(f32(f32(f32(A * x) - f32(5 * A)) * x) + f32(8 * A)) * x) - f32(4 * A));
  const x2 = f32(1 - t);
  return [cc2(f32(t + 1)), cc1(t), cc1(x2), cc2(f32(x2 + 1))];
}

function cubicTaps(inSize: number, outSize: number): { idx: Int32Array; w: Float32Array } {
  const scale = f32(inSize / outSize);
  const idx = new Int32Array(outSize * 4);
  const w = new Float32Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const src = f32(f32(scale * f32(o + 0.5)) - 0.5);
    const i0 = Math.floor(src);
    const ws = cubicWeights(f32(src - i0));
    for (let j = 0; j < 4; j++) {
      idx[o * 4 + j] = Math.max(Math.min(i0 - 1 + j, inSize - 1), 0);
      w[o * 4 + j] = ws[j]!;
    }
  }
  return { idx, w };
}

/**
 * torch.nn.functional.interpolate(mode="bicubic", align_corners=False) of an NCHW tensor (torch's CPU kernel:
 * A = -0.75, clamped border taps, rows of 4 horizontal taps combined with the vertical weights).
 */
export function resizeBicubic(t: Tensor, outH: number, outW: number): Tensor {
  const [N, C, H, W] = t.shape as [number, number, number, number];
  const ty = cubicTaps(H, outH), tx = cubicTaps(W, outW);
  const out = new Float32Array(N * C * outH * outW);
  for (let p = 0; p < N * C; p++) {
    const base = p * H * W;
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let j = 0; j < 4; j++) {
          const row = base + ty.idx[y * 4 + j]! * W;
          let r = 0;
          for (let k = 0; k < 4; k++) {
            const v = f32(t.data[row + tx.idx[x * 4 + k]!]! * tx.w[x * 4 + k]!);
            r = k === 0 ? v : f32(r + v);
          }
          const v = f32(r * ty.w[y * 4 + j]!);
          acc = j === 0 ? v : f32(acc + v);
        }
        out[(p * outH + y) * outW + x] = acc;
      }
    }
  }
  return { shape: [N, C, outH, outW], data: out };
}

/** Approximate RGB preview of SD latents (a fixed linear map of the 4 latent channels), HWC uint8. */
export function latentPreview(latents: Tensor, index = 0): { data: Uint8Array; width: number; height: number } {
  const [, C, h, w] = latents.shape as [number, number, number, number];
  const M = [
    [0.298, 0.207, 0.208],
    [0.187, 0.286, 0.173],
    [-0.158, 0.189, 0.264],
    [-0.184, -0.271, -0.473],
  ];
  const plane = h * w;
  const base = index * C * plane;
  const data = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < Math.min(C, 4); k++) v += latents.data[base + k * plane + i]! * M[k]![c]!;
      data[i * 3 + c] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
  }
  return { data, width: w, height: h };
}
