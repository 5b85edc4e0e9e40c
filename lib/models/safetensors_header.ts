/**
 * Header-only safetensors reader: reads the 8-byte little-endian header length and the JSON header, never
 * the tensor data. For fast inspection (family detection, config inference, name listing) and for tests.
 * The product reads tensor data through the native memory-mapped reader.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { FormatError, NotFoundError } from "../errors.js";
import { DTYPE_BYTES, formatShape, isTensorDType, numel, type TensorDType, type TensorInfo } from "./tensor_index.js";

export interface SafetensorsTensorEntry extends TensorInfo {
  /** Byte range [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  path: string;
  /** Tensors in header order (JSON object order). */
  tensors: SafetensorsTensorEntry[];
  /** `__metadata__` (string → string), or {} when absent. */
  metadata: Record<string, string>;
  /** Length of the JSON header in bytes. */
  headerLength: number;
  /** Byte offset of the data section in the file (8 + headerLength). */
  dataStart: number;
  fileSize: number;
}

/** Header size limit (safetensors itself caps it at 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;

function readExactly(fd: number, length: number, position: number, path: string): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new FormatError(`${path}: unexpected end of file while reading the safetensors header`);
    done += n;
  }
  return buf;
}

/** Parses a header from its raw bytes (exported for tests and for callers that already hold the bytes). */
export function parseSafetensorsHeaderJson(
  json: string,
  path: string,
  dataSize: number | null,
): { tensors: SafetensorsTensorEntry[]; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new FormatError(`${path}: safetensors header is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new FormatError(`${path}: safetensors header must be a JSON object`);
  }
  const tensors: SafetensorsTensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        throw new FormatError(`${path}: __metadata__ must be an object of strings`);
      }
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== "string") throw new FormatError(`${path}: __metadata__.${k} must be a string`);
      }
      metadata = v as Record<string, string>;
      continue;
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new FormatError(`${path}: header entry for tensor "${name}" must be an object`);
    }
    const e = v as Record<string, unknown>;
    if (!isTensorDType(e.dtype)) {
      throw new FormatError(`${path}: tensor "${name}" has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    const dtype: TensorDType = e.dtype;
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new FormatError(`${path}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
      (off[0] as number) > (off[1] as number)
    ) {
      throw new FormatError(`${path}: tensor "${name}" has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [b, en] = off as [number, number];
    const expectBytes = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (en - b !== expectBytes) {
      throw new FormatError(
        `${path}: tensor "${name}" (${dtype} ${formatShape(shape as number[])}) needs ${expectBytes} bytes but data_offsets span ${en - b}`,
      );
    }
    if (dataSize !== null && en > dataSize) {
      throw new FormatError(`${path}: tensor "${name}" data_offsets [${b}, ${en}) run past the end of the file (data section is ${dataSize} bytes)`);
    }
    tensors.push({ name, dtype, shape: (shape as number[]).slice(), dataOffsets: [b, en] });
  }
  return { tensors, metadata };
}

/** Reads the header of a .safetensors file. NotFoundError if missing, FormatError if malformed. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new NotFoundError(`${path}: file not found`, { cause: e });
    throw new FormatError(`${path}: cannot open (${(e as Error).message})`, { cause: e });
  }
  try {
    const fileSize = fstatSync(fd).size;
    if (fileSize < 8) throw new FormatError(`${path}: too small to be a safetensors file (${fileSize} bytes)`);
    const lenBuf = readExactly(fd, 8, 0, path);
    const len64 = lenBuf.readBigUInt64LE(0);
    if (len64 > BigInt(MAX_HEADER) || len64 > BigInt(fileSize - 8)) {
      throw new FormatError(`${path}: safetensors header length ${len64} is larger than the file or the 100 MB limit`);
    }
    const headerLength = Number(len64);
    const json = readExactly(fd, headerLength, 8, path).toString("utf8");
    const dataStart = 8 + headerLength;
    const { tensors, metadata } = parseSafetensorsHeaderJson(json, path, fileSize - dataStart);
    return { path, tensors, metadata, headerLength, dataStart, fileSize };
  } finally {
    closeSync(fd);
  }
}

/** Just the TensorIndex (name, dtype, shape) of a .safetensors file. */
export function readSafetensorsIndex(path: string): TensorInfo[] {
  return readSafetensorsHeader(path).tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape }));
}
