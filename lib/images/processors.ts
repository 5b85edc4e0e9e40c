/**
 * Image pre/post-processing with the exact numerics of diffusers 0.27 VaeImageProcessor (PIL path) and
 * transformers 4.38 CLIPImageProcessor (numpy/PIL path).
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";
import {
  OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, parseImageProcessorConfig, type ClipImageProcessorConfig, type ImageProcessorConfig,
} from "../models/configs/image_processor.js";
import type { Tensor } from "../tensor.js";
import { toGray, type GrayImage, type RGBImage } from "./load.js";
import { resizeImage, type ResampleName } from "./resample.js";

const f32 = Math.fround;

function checkImage(what: string, img: { data: Uint8Array; width: number; height: number }, channels: number): void {
  if (!img || !(img.data instanceof Uint8Array)) throw new InvalidArgumentError(`${what} must be { data: Uint8Array, width, height }`);
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new InvalidArgumentError(`${what}: size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * channels) {
    throw new InvalidArgumentError(`${what}: data has ${img.data.length} bytes, expected ${img.width}x${img.height}x${channels}`);
  }
}

function checkTarget(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`target size must be positive integers, got ${width}x${height}`);
  }
}

/**
 * diffusers VaeImageProcessor.get_default_height_width: the requested size (or the image's) rounded down to
 * a multiple of `vaeScaleFactor`.
 */
export function defaultHeightWidth(img: { width: number; height: number }, height?: number | null, width?: number | null, vaeScaleFactor = 8): { height: number; width: number } {
  const h = height ?? img.height;
  const w = width ?? img.width;
  return { height: h - (h % vaeScaleFactor), width: w - (w % vaeScaleFactor) };
}

/**
 * diffusers VaeImageProcessor.preprocess for a PIL RGB image: resize to width x height with PIL LANCZOS when
 * the size differs, x/255 in float32, 2x-1, NCHW [1, 3, height, width].
 */
export function preprocessImage(img: RGBImage, width: number, height: number, resample: number | ResampleName = "lanczos"): Tensor {
  checkImage("image", img, 3);
  checkTarget(width, height);
  const r = resizeImage({ ...img, channels: 3 }, width, height, resample);
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const d = r.data;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const x = f32(d[i * 3 + c]! / 255);
      out[c * plane + i] = f32(2 * x - 1);
    }
  }
  return { shape: [1, 3, height, width], data: out };
}

/**
 * diffusers mask processor (do_convert_grayscale, do_binarize, no normalize): convert("L"), resize with PIL
 * LANCZOS, x/255, then 0 where < 0.5 and 1 where >= 0.5; [1, 1, height, width]. RGB(A) masks are converted
 * to L first (PIL luma); a GrayImage is used as is.
 */
export function preprocessMask(mask: RGBImage | GrayImage | { data: Uint8Array; width: number; height: number; channels: number }, width: number, height: number, resample: number | ResampleName = "lanczos"): Tensor {
  checkTarget(width, height);
  let channels = (mask as { channels?: number }).channels;
  if (channels === undefined) {
    const n = mask.width * mask.height;
    channels = mask.data.length === n ? 1 : mask.data.length === n * 3 ? 3 : mask.data.length === n * 4 ? 4 : -1;
  }
  if (![1, 2, 3, 4].includes(channels)) throw new InvalidArgumentError(`mask: data has ${mask.data.length} bytes, not 1, 3 or 4 channels of ${mask.width}x${mask.height}`);
  checkImage("mask", mask, channels);
  const gray = toGray({ data: mask.data, width: mask.width, height: mask.height, channels: channels as 1 | 2 | 3 | 4 });
  const r = resizeImage({ ...gray, channels: 1 }, width, height, resample);
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = f32(r.data[i]! / 255) < 0.5 ? 0 : 1;
  return { shape: [1, 1, height, width], data: out };
}

/**
 * diffusers VaeImageProcessor.postprocess(output_type="pil"): (x/2 + 0.5).clamp(0, 1) in float32, then
 * numpy_to_pil's (x * 255).round() (half to even) as uint8, HWC. `doDenormalize[i] = false` skips the
 * denormalisation for image i (as diffusers does for images the safety checker blacked out).
 */
export function postprocessImage(t: Tensor, doDenormalize?: boolean[]): RGBImage[] {
  if (!t || t.shape.length !== 4 || t.shape[1] !== 3) throw new ShapeError(`postprocessImage: expected [batch, 3, height, width], got [${t?.shape?.join(", ")}]`);
  const [B, , H, W] = t.shape as [number, number, number, number];
  if (t.data.length !== B * 3 * H * W) throw new ShapeError(`postprocessImage: data has ${t.data.length} elements for shape [${t.shape.join(", ")}]`);
  const plane = H * W;
  const out: RGBImage[] = [];
  for (let b = 0; b < B; b++) {
    const denorm = doDenormalize?.[b] ?? true;
    const data = new Uint8Array(plane * 3);
    const base = b * 3 * plane;
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < plane; i++) {
        let v = t.data[base + c * plane + i]!;
        if (denorm) {
          v = f32(f32(v / 2) + 0.5);
          v = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        if (Number.isNaN(v)) v = 0;
        const s = f32(v * 255);
        data[i * 3 + c] = roundHalfEvenU8(s);
      }
    }
    out.push({ data, width: W, height: H });
  }
  return out;
}

/** numpy's round (half to even) followed by astype("uint8") for values in [0, 255]. */
function roundHalfEvenU8(x: number): number {
  let r = Math.round(x);
  if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

// ---- CLIPImageProcessor --------------------------------------------------------------------------------

export interface ClipImageProcessor {
  readonly config: ClipImageProcessorConfig;
  /** Output [batch, 3, cropHeight, cropWidth] pixel values. */
  preprocess(images: RGBImage | RGBImage[]): Tensor;
  /** The uint8 image after convert/resize/crop (before rescale and normalize). */
  resizeAndCrop(image: RGBImage): RGBImage;
}

/** transformers get_resize_output_image_size(default_to_square=False) for `shortest_edge`. */
export function shortestEdgeSize(width: number, height: number, shortestEdge: number): { width: number; height: number } {
  const short = Math.min(width, height), long = Math.max(width, height);
  const newShort = shortestEdge;
  const newLong = Math.trunc((shortestEdge * long) / short);
  return width <= height ? { width: newShort, height: newLong } : { width: newLong, height: newShort };
}

/** transformers center_crop: top = (h - ch) // 2, left = (w - cw) // 2; zero padding (centred, ceil) when smaller. */
export function centerCrop(img: RGBImage, cropHeight: number, cropWidth: number): RGBImage {
  const { width: w, height: h } = img;
  let top = Math.floor((h - cropHeight) / 2);
  let left = Math.floor((w - cropWidth) / 2);
  let src = img;
  if (!(top >= 0 && top + cropHeight <= h && left >= 0 && left + cropWidth <= w)) {
    const nh = Math.max(cropHeight, h), nw = Math.max(cropWidth, w);
    const padded = new Uint8Array(nh * nw * 3);
    const topPad = Math.ceil((nh - h) / 2), leftPad = Math.ceil((nw - w) / 2);
    for (let y = 0; y < h; y++) {
      padded.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y + topPad) * nw + leftPad) * 3);
    }
    src = { data: padded, width: nw, height: nh };
    top += topPad;
    left += leftPad;
    const bottom = Math.min(nh, top + cropHeight), right = Math.min(nw, left + cropWidth);
    top = Math.max(0, top);
    left = Math.max(0, left);
    return sliceImage(src, top, left, bottom - top, right - left);
  }
  return sliceImage(src, top, left, cropHeight, cropWidth);
}

function sliceImage(img: RGBImage, top: number, left: number, h: number, w: number): RGBImage {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    const s = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(s, s + w * 3), y * w * 3);
  }
  return { data: out, width: w, height: h };
}

function asClipConfig(config: ImageProcessorConfig | Record<string, unknown> | undefined): ClipImageProcessorConfig {
  if (config && (config as { kind?: unknown }).kind === "clip") return config as ClipImageProcessorConfig;
  if (config && (config as { kind?: unknown }).kind === "dpt") throw new InvalidArgumentError("clipImageProcessor: got a DPT image processor config");
  const parsed = parseImageProcessorConfig(config ?? {}, { file: "preprocessor_config.json" });
  if (parsed.kind !== "clip") throw new InvalidArgumentError("clipImageProcessor: config is not a CLIPImageProcessor config");
  return parsed;
}

/**
 * CLIPImageProcessor (transformers 4.38, numpy/PIL path). `config` is a parsed preprocessor config (from
 * parseImageProcessorConfig) or the raw preprocessor_config.json object; omitted = the OpenAI CLIP defaults.
 */
export function clipImageProcessor(config?: ImageProcessorConfig | Record<string, unknown>): ClipImageProcessor {
  const cfg = asClipConfig(config);
  const mean = cfg.image_mean.map(f32);
  const std = cfg.image_std.map(f32);
  const resizeAndCrop = (image: RGBImage): RGBImage => {
    checkImage("image", image, 3);
    let img = image;
    if (cfg.do_resize) {
      const s = cfg.size;
      const target = "shortest_edge" in s ? shortestEdgeSize(img.width, img.height, s.shortest_edge) : { width: s.width, height: s.height };
      const r = resizeImage({ ...img, channels: 3 }, target.width, target.height, cfg.resample);
      img = { data: r.data, width: r.width, height: r.height };
    }
    if (cfg.do_center_crop) {
      const c = cfg.crop_size;
      const [ch, cw] = "shortest_edge" in c ? [c.shortest_edge, c.shortest_edge] : [c.height, c.width];
      img = centerCrop(img, ch, cw);
    }
    return img;
  };
  const preprocess = (images: RGBImage | RGBImage[]): Tensor => {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new InvalidArgumentError("clipImageProcessor.preprocess: no images");
    const crops = list.map(resizeAndCrop);
    const H = crops[0]!.height, W = crops[0]!.width;
    for (const c of crops) {
      if (c.height !== H || c.width !== W) throw new ShapeError(`clipImageProcessor: images end up with different sizes (${W}x${H} vs ${c.width}x${c.height}); enable center crop`);
    }
    const plane = H * W;
    const out = new Float32Array(list.length * 3 * plane);
    for (let b = 0; b < crops.length; b++) {
      const d = crops[b]!.data;
      for (let c = 0; c < 3; c++) {
        const base = (b * 3 + c) * plane;
        for (let i = 0; i < plane; i++) {
          let v = d[i * 3 + c]!;
          if (cfg.do_rescale) v = f32(v * cfg.rescale_factor);
          if (cfg.do_normalize) v = f32(f32(v - mean[c]!) / std[c]!);
          out[base + i] = v;
        }
      }
    }
    return { shape: [list.length, 3, H, W], data: out };
  };
  return { config: cfg, preprocess, resizeAndCrop };
}

// ---- image variation -----------------------------------------------------------------------------------

export interface ImageVariationPreprocessOptions {
  /**
   * "clip" (default): CLIPImageProcessor with the model's feature_extractor config (or the OpenAI defaults),
   * which is what diffusers' StableDiffusionImageVariationPipeline does (and what the reference golden used).
   * "model-card": the lambdalabs model card's torchvision transform — Resize((224, 224), BICUBIC,
   * antialias=False) on the [0, 1] float tensor, then Normalize with the CLIP mean/std.
   */
  mode?: "clip" | "model-card";
  /** Feature extractor config for mode "clip". */
  config?: ImageProcessorConfig | Record<string, unknown>;
  /** Output size for mode "model-card" (default 224). */
  size?: number;
}

/** Pixel values [1, 3, 224, 224] for the image-variation pipeline's CLIP image encoder. */
export function imageVariationPreprocess(img: RGBImage, options: ImageVariationPreprocessOptions = {}): Tensor {
  const mode = options.mode ?? "clip";
  if (mode === "clip") return clipImageProcessor(options.config).preprocess(img);
  if (mode !== "model-card") throw new InvalidArgumentError(`imageVariationPreprocess: unknown mode ${JSON.stringify(mode)}`);
  checkImage("image", img, 3);
  const size = options.size ?? 224;
  const resized = torchBicubicResize(img, size, size);
  const plane = size * size;
  const mean = OPENAI_CLIP_MEAN.map(f32), std = OPENAI_CLIP_STD.map(f32);
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) out[c * plane + i] = f32(f32(resized[c * plane + i]! - mean[c]!) / std[c]!);
  }
  return { shape: [1, 3, size, size], data: out };
}

function cubicWeights(t: number, A: number): [number, number, number, number] {
  const cc1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const cc2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
}

function axisTaps(inSize: number, outSize: number): { idx: Int32Array; w: Float64Array } {
  const scale = f32(inSize / outSize);
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const real = f32(f32(scale * f32(o + 0.5)) - 0.5);
    const i0 = Math.floor(real);
    const t = f32(real - i0);
    const ws = cubicWeights(t, -0.75);
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      w[o * 4 + k] = f32(ws[k]!);
    }
  }
  return { idx, w };
}

/** torch F.interpolate(mode="bicubic", align_corners=False, antialias=False) on x/255; returns CHW float32. */
function torchBicubicResize(img: RGBImage, outW: number, outH: number): Float32Array {
  const { width: W, height: H } = img;
  const tx = axisTaps(W, outW), ty = axisTaps(H, outH);
  const out = new Float32Array(3 * outW * outH);
  const src = new Float32Array(W * H * 3);
  for (let i = 0; i < src.length; i++) src[i] = f32(img.data[i]! / 255);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < outH; y++) {
      for (let x = 0; x < outW; x++) {
        let acc = 0;
        for (let ky = 0; ky < 4; ky++) {
          const row = ty.idx[y * 4 + ky]! * W;
          let r = 0;
          for (let kx = 0; kx < 4; kx++) r += src[(row + tx.idx[x * 4 + kx]!) * 3 + c]! * tx.w[x * 4 + kx]!;
          acc += f32(r) * ty.w[y * 4 + ky]!;
        }
        out[(c * outH + y) * outW + x] = f32(acc);
      }
    }
  }
  return out;
}
