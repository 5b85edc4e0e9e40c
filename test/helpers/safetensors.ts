/**
 * A small pure-TypeScript reader for the reference goldens (.safetensors with F32/F64/I64/I32/U8/F16).
 * Test-only: the product reads weights through the native, memory-mapped reader.
 */
import { readFileSync } from "node:fs";

export interface GoldenTensor {
  dtype: string;
  shape: number[];
  /** Values widened to float64 (int64 via Number). */
  data: Float64Array;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export function readSafetensors(path: string): Map<string, GoldenTensor> {
  const buf = readFileSync(path);
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + headerLen;
  const out = new Map<string, GoldenTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [start, end] = info.data_offsets;
    const bytes = buf.subarray(base + start, base + end);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = info.shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      switch (info.dtype) {
        case "F32": data[i] = dv.getFloat32(i * 4, true); break;
        case "F64": data[i] = dv.getFloat64(i * 8, true); break;
        case "F16": data[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
        case "I64": data[i] = Number(dv.getBigInt64(i * 8, true)); break;
        case "I32": data[i] = dv.getInt32(i * 4, true); break;
        case "U8": data[i] = dv.getUint8(i); break;
        case "BOOL": data[i] = dv.getUint8(i); break;
        default: throw new Error(`readSafetensors: unsupported dtype ${info.dtype} for ${name}`);
      }
    }
    out.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return out;
}

const fileCache = new Map<string, Buffer>();

/** Raw float32 view of an F32 tensor (exact bits, no widening). Files are read once and cached. */
export function readF32Exact(path: string, name: string): Float32Array {
  let buf = fileCache.get(path);
  if (!buf) {
    buf = readFileSync(path);
    if (fileCache.size > 32) fileCache.clear();
    fileCache.set(path, buf);
  }
  const headerLen = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString("utf8"));
  const info = header[name];
  if (!info) throw new Error(`${name} not in ${path}`);
  if (info.dtype !== "F32") throw new Error(`${name} is ${info.dtype}, not F32`);
  const [start, end] = info.data_offsets;
  const copy = Buffer.from(buf.subarray(8 + headerLen + start, 8 + headerLen + end));
  return new Float32Array(copy.buffer, copy.byteOffset, (end - start) / 4);
}
