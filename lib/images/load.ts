/**
 * Decoding images into 8-bit interleaved pixels with Pillow's mode-conversion semantics:
 * convert("RGB") drops alpha without compositing and replicates gray; convert("L") uses the ITU-R 601-2
 * luma transform L = R*299/1000 + G*587/1000 + B*114/1000 in 16-bit fixed point with rounding.
 */
import { readFile } from "node:fs/promises";
import sharp, { type Sharp } from "sharp";

type SharpFactory = typeof sharp;
import { FormatError, InvalidArgumentError, NotFoundError } from "../errors.js";

/** Raw pixels given directly (HWC, 8-bit). */
export interface RawImageInput {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** A file path, encoded image bytes (PNG, JPEG, WebP, ...), a sharp pipeline, or raw pixels. */
export type ImageInput = string | Buffer | Uint8Array | Sharp | RawImageInput;

/** An 8-bit RGB image, HWC interleaved. */
export interface RGBImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** An 8-bit single-channel image. */
export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decoded pixels in their own channel layout: 1 = L, 2 = LA, 3 = RGB, 4 = RGBA. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

async function loadSharp(): Promise<SharpFactory> {
  return sharp;
}

function isSharp(x: unknown): x is Sharp {
  return typeof x === "object" && x !== null && typeof (x as Sharp).toBuffer === "function" && typeof (x as Sharp).raw === "function" && typeof (x as Sharp).metadata === "function";
}

function isRaw(x: unknown): x is RawImageInput {
  return typeof x === "object" && x !== null && !(x instanceof Uint8Array) && "data" in x && "width" in x && "height" in x;
}

function fromRaw(x: RawImageInput): DecodedImage {
  const { width, height } = x;
  const channels = x.channels ?? 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`raw image size must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (![1, 3, 4].includes(channels)) throw new InvalidArgumentError(`raw image channels must be 1, 3 or 4, got ${String(channels)}`);
  if (!(x.data instanceof Uint8Array || x.data instanceof Uint8ClampedArray)) {
    throw new InvalidArgumentError("raw image data must be a Uint8Array or Uint8ClampedArray");
  }
  if (x.data.length !== width * height * channels) {
    throw new InvalidArgumentError(`raw image data has ${x.data.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
  return { data: new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.length).slice(), width, height, channels: channels as 1 | 3 | 4 };
}

async function decodeWithSharp(pipeline: Sharp, what: string): Promise<DecodedImage> {
  try {
    const meta = await pipeline.clone().metadata();
    let p = pipeline.clone();
    const gray = meta.space === "b-w" || meta.space === "grey16";
    const grayAlpha = gray && (meta.channels === 2 || meta.hasAlpha === true);
    if (gray && !grayAlpha) p = p.toColourspace("b-w");
    const { data: raw, info } = await p.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    let data: Uint8Array = new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
    let channels = info.channels as 1 | 2 | 3 | 4;
    if (grayAlpha && channels === 4) {
      // gray + alpha comes back as replicated RGB + alpha: keep L and A
      const n = info.width * info.height;
      const la = new Uint8Array(n * 2);
      for (let i = 0; i < n; i++) {
        la[i * 2] = data[i * 4]!;
        la[i * 2 + 1] = data[i * 4 + 3]!;
      }
      data = la;
      channels = 2;
    }
    if (![1, 2, 3, 4].includes(channels)) throw new FormatError(`${what}: unsupported channel count ${channels}`);
    return { data, width: info.width, height: info.height, channels };
  } catch (err) {
    if (err instanceof FormatError) throw err;
    throw new FormatError(`${what}: cannot decode image (${(err as Error).message})`, { cause: err });
  }
}

/** Decodes any ImageInput to 8-bit pixels in its own channel layout (no mode conversion yet). */
export async function decodeImage(input: ImageInput): Promise<DecodedImage> {
  if (typeof input === "string") {
    let bytes: Buffer;
    try {
      bytes = await readFile(input);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new NotFoundError(`image file ${input} does not exist`, { cause: err });
      throw new FormatError(`image file ${input}: cannot read (${(err as Error).message})`, { cause: err });
    }
    const sharp = await loadSharp();
    let pipeline: Sharp;
    try {
      pipeline = sharp(bytes);
    } catch (err) {
      throw new FormatError(`image file ${input}: cannot decode image (${(err as Error).message})`, { cause: err });
    }
    return decodeWithSharp(pipeline, `image file ${input}`);
  }
  if (input instanceof Uint8Array) {
    if (input.length === 0) throw new FormatError("image bytes: empty buffer");
    const sharp = await loadSharp();
    let pipeline: Sharp;
    try {
      pipeline = sharp(input);
    } catch (err) {
      throw new FormatError(`image bytes (${input.length} bytes): cannot decode image (${(err as Error).message})`, { cause: err });
    }
    return decodeWithSharp(pipeline, `image bytes (${input.length} bytes)`);
  }
  if (isSharp(input)) return decodeWithSharp(input, "sharp pipeline");
  if (isRaw(input)) return fromRaw(input);
  throw new InvalidArgumentError("image must be a file path, a Buffer / Uint8Array of encoded bytes, a sharp instance or { data, width, height, channels }");
}

/** PIL convert("RGB"): gray replicated, alpha dropped without compositing. */
export function toRGB(img: DecodedImage): RGBImage {
  const { width, height, channels } = img;
  if (channels === 3) return { data: img.data, width, height };
  const n = width * height;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    if (channels === 1 || channels === 2) {
      const v = d[i * channels]!;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = d[i * channels]!;
      out[i * 3 + 1] = d[i * channels + 1]!;
      out[i * 3 + 2] = d[i * channels + 2]!;
    }
  }
  return { data: out, width, height };
}

/** PIL convert("L"): luma in 16-bit fixed point (19595 R + 38470 G + 7471 B + 0x8000) >> 16; alpha ignored. */
export function toGray(img: DecodedImage | (RGBImage & { channels?: number })): GrayImage {
  const { width, height } = img;
  const channels = img.channels ?? 3;
  const n = width * height;
  const d = img.data;
  if (channels === 1) return { data: d, width, height };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (channels === 2) out[i] = d[i * 2]!;
    else {
      const p = i * channels;
      out[i] = (d[p]! * 19595 + d[p + 1]! * 38470 + d[p + 2]! * 7471 + 0x8000) >>> 16;
    }
  }
  return { data: out, width, height };
}

/** Loads an image as 8-bit RGB (HWC), as PIL's `Image.open(x).convert("RGB")` gives it. */
export async function loadImageRGB(input: ImageInput): Promise<RGBImage> {
  return toRGB(await decodeImage(input));
}

/** Loads an image as 8-bit gray, as PIL's `Image.open(x).convert("L")` gives it. */
export async function loadImageGray(input: ImageInput): Promise<GrayImage> {
  return toGray(await decodeImage(input));
}
