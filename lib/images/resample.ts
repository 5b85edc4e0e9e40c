/**
 * Image resampling that reproduces Pillow's `Image.resize(size, resample, reducing_gap=None)` on 8-bit
 * images bit for bit: a separable convolution (horizontal pass, then vertical pass, each pass rounding to
 * uint8), filter support scaled by the downscale factor, coefficients normalised to sum 1 in double
 * precision and then converted to 22-bit fixed point with round-half-away-from-zero, accumulation starting
 * at half an output unit and a final arithmetic shift with clamping to [0, 255].
 *
 * Written from the documented behaviour of the algorithm; no Pillow code is used.
 */
import { InvalidArgumentError } from "../errors.js";

/** Pillow resample codes (Image.Resampling). */
export const Resample = {
  NEAREST: 0,
  LANCZOS: 1,
  BILINEAR: 2,
  BICUBIC: 3,
  BOX: 4,
  HAMMING: 5,
} as const;
export type ResampleName = "nearest" | "lanczos" | "bilinear" | "bicubic" | "box" | "hamming";

interface Filter {
  support: number;
  fn: (x: number) => number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const BICUBIC_A = -0.5;

const FILTERS: Record<Exclude<ResampleName, "nearest">, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      const ax = Math.abs(x);
      return ax < 1 ? 1 - ax : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      if (x < 0) x = -x;
      if (x === 0) return 1;
      if (x >= 1) return 0;
      const px = Math.PI * x;
      return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = BICUBIC_A;
      if (x < 0) x = -x;
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: {
    support: 3,
    fn: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
  },
};

/** Normalises a resample argument (Pillow code or name). */
export function resampleName(r: number | ResampleName): ResampleName {
  if (typeof r === "string") {
    if (r === "nearest" || r in FILTERS) return r;
    throw new InvalidArgumentError(`unknown resample filter ${JSON.stringify(r)}`);
  }
  switch (r) {
    case 0: return "nearest";
    case 1: return "lanczos";
    case 2: return "bilinear";
    case 3: return "bicubic";
    case 4: return "box";
    case 5: return "hamming";
    default: throw new InvalidArgumentError(`unknown Pillow resample code ${r} (expected 0..5)`);
  }
}

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Coeffs {
  /** first input index per output pixel */
  start: Int32Array;
  /** tap count per output pixel */
  count: Int32Array;
  /** fixed-point taps, `ksize` per output pixel */
  k: Float64Array;
  ksize: number;
}

/** Fixed-point filter taps for resampling `inSize` samples to `outSize` over the box [in0, in1). */
function computeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  const scale = (in1 - in0) / outSize;
  const filterScale = scale < 1 ? 1 : scale;
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Float64Array(outSize * ksize);
  const tmp = new Float64Array(ksize);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      tmp[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? tmp[x]! / ww : tmp[x]!;
      // to fixed point, rounding half away from zero (C cast truncates toward zero)
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, k, ksize };
}

function clip8(acc: number): number {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** An 8-bit interleaved image (HWC). */
export interface PixelBuffer {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

function resampleHorizontal(src: PixelBuffer, outW: number, rows: [number, number], c: Coeffs): PixelBuffer {
  const C = src.channels;
  const [y0, y1] = rows;
  const outH = y1 - y0;
  const out = new Uint8Array(outW * outH * C);
  const sd = src.data;
  const srcStride = src.width * C;
  for (let y = 0; y < outH; y++) {
    const rowBase = (y + y0) * srcStride;
    const outBase = y * outW * C;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.start[xx]!, n = c.count[xx]!, kb = xx * c.ksize;
      for (let ch = 0; ch < C; ch++) {
        let acc = HALF;
        let p = rowBase + xmin * C + ch;
        for (let x = 0; x < n; x++, p += C) acc += sd[p]! * c.k[kb + x]!;
        out[outBase + xx * C + ch] = clip8(acc);
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: C };
}

function resampleVertical(src: PixelBuffer, outH: number, c: Coeffs, offset: number): PixelBuffer {
  const C = src.channels;
  const W = src.width;
  const stride = W * C;
  const out = new Uint8Array(outH * stride);
  const sd = src.data;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.start[yy]! - offset, n = c.count[yy]!, kb = yy * c.ksize;
    const outBase = yy * stride;
    for (let i = 0; i < stride; i++) {
      let acc = HALF;
      let p = ymin * stride + i;
      for (let y = 0; y < n; y++, p += stride) acc += sd[p]! * c.k[kb + y]!;
      out[outBase + i] = clip8(acc);
    }
  }
  return { data: out, width: W, height: outH, channels: C };
}

function resizeNearest(src: PixelBuffer, outW: number, outH: number): PixelBuffer {
  const C = src.channels;
  const out = new Uint8Array(outW * outH * C);
  const sx = src.width / outW, sy = src.height / outH;
  const xs = new Int32Array(outW);
  for (let x = 0; x < outW; x++) xs[x] = Math.min(src.width - 1, Math.trunc((x + 0.5) * sx));
  for (let y = 0; y < outH; y++) {
    const yy = Math.min(src.height - 1, Math.trunc((y + 0.5) * sy));
    for (let x = 0; x < outW; x++) {
      const si = (yy * src.width + xs[x]!) * C, di = (y * outW + x) * C;
      for (let ch = 0; ch < C; ch++) out[di + ch] = src.data[si + ch]!;
    }
  }
  return { data: out, width: outW, height: outH, channels: C };
}

/**
 * Pillow-exact `image.resize((width, height), resample)` with `reducing_gap=None` for 8-bit images of any
 * channel count (channels are filtered independently, as Pillow does for L / RGB / RGBX). Returns a copy when
 * the size is unchanged.
 */
export function resizeImage(src: PixelBuffer, width: number, height: number, resample: number | ResampleName): PixelBuffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`resize target must be positive integers, got ${width}x${height}`);
  }
  if (src.data.length !== src.width * src.height * src.channels) {
    throw new InvalidArgumentError(`image data has ${src.data.length} bytes, expected ${src.width}x${src.height}x${src.channels}`);
  }
  if (width === src.width && height === src.height) {
    return { data: src.data.slice(), width, height, channels: src.channels };
  }
  const name = resampleName(resample);
  if (name === "nearest") return resizeNearest(src, width, height);
  const filter = FILTERS[name];
  const needH = width !== src.width;
  const needV = height !== src.height;
  const ch = needH ? computeCoeffs(src.width, 0, src.width, width, filter) : null;
  const cv = needV ? computeCoeffs(src.height, 0, src.height, height, filter) : null;
  let img = src;
  let offset = 0;
  if (ch) {
    // only the rows the vertical pass reads
    let y0 = 0, y1 = src.height;
    if (cv) {
      y0 = cv.start[0]!;
      y1 = cv.start[height - 1]! + cv.count[height - 1]!;
      offset = y0;
    }
    img = resampleHorizontal(img, width, [y0, y1], ch);
  }
  if (cv) img = resampleVertical(img, height, cv, offset);
  return img;
}
