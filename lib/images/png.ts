/**
 * A small PNG writer (8-bit gray / gray+alpha / RGB / RGBA, non-interlaced) that stores text metadata as
 * tEXt chunks (iTXt for text that is not Latin-1), and a reader for those text chunks.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { FormatError, InvalidArgumentError } from "../errors.js";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let CRC_TABLE: Uint32Array | null = null;
function crcTable(): Uint32Array {
  if (CRC_TABLE) return CRC_TABLE;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  CRC_TABLE = t;
  return t;
}

/** CRC-32 (ISO 3309 / PNG) of the concatenated buffers. */
export function crc32(...parts: Uint8Array[]): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = t[(c ^ p[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const typeBuf = Buffer.from(type, "latin1");
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  typeBuf.copy(out, 4);
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 8);
  out.writeUInt32BE(crc32(typeBuf, data), 8 + data.length);
  return out;
}

function isLatin1(s: string): boolean {
  // Latin-1 printable text plus newline; other control characters are not allowed in tEXt
  return /^[\n\x20-\x7e\xa0-\xff]*$/.test(s);
}

function textChunk(key: string, value: string): Buffer {
  if (key.length < 1 || key.length > 79 || !/^[\x20-\x7e\xa1-\xff]+$/.test(key) || /^ | $|  /.test(key)) {
    throw new InvalidArgumentError(`PNG text keyword ${JSON.stringify(key)} must be 1-79 printable Latin-1 characters without leading, trailing or double spaces`);
  }
  if (isLatin1(value)) {
    return chunk("tEXt", Buffer.concat([Buffer.from(key, "latin1"), Buffer.from([0]), Buffer.from(value, "latin1")]));
  }
  // iTXt: keyword \0 compression-flag(0) compression-method(0) language-tag \0 translated-keyword \0 text(UTF-8)
  return chunk("iTXt", Buffer.concat([Buffer.from(key, "latin1"), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(value, "utf8")]));
}

/** Encodes 8-bit interleaved pixels as PNG (filter: per-row choice of None/Sub/Up/Paeth by least sum). */
export function encodePngSync(img: { data: Uint8Array; width: number; height: number; channels?: number }, text?: Record<string, string>): Buffer {
  const { width, height } = img;
  const channels = img.channels ?? 3;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new InvalidArgumentError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new InvalidArgumentError(`PNG channels must be 1-4, got ${channels}`);
  if (img.data.length !== width * height * channels) {
    throw new InvalidArgumentError(`image data has ${img.data.length} bytes, expected ${width}x${height}x${channels}`);
  }
  const colorType = [0, 4, 2, 6][channels - 1]!;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colorType;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  const cand = [Buffer.alloc(stride), Buffer.alloc(stride), Buffer.alloc(stride), Buffer.alloc(stride)];
  const d = img.data;
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const prev = y > 0 ? row - stride : -1;
    let best = 0, bestSum = Infinity;
    const types = [0, 1, 2, 4];
    for (let f = 0; f < 4; f++) {
      const c = cand[f]!;
      let sum = 0;
      for (let i = 0; i < stride; i++) {
        const x = d[row + i]!;
        const a = i >= channels ? d[row + i - channels]! : 0;
        const b = prev >= 0 ? d[prev + i]! : 0;
        const cc = prev >= 0 && i >= channels ? d[prev + i - channels]! : 0;
        let pred = 0;
        switch (types[f]) {
          case 0: pred = 0; break;
          case 1: pred = a; break;
          case 2: pred = b; break;
          default: {
            const p = a + b - cc;
            const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - cc);
            pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : cc;
          }
        }
        const v = (x - pred) & 0xff;
        c[i] = v;
        sum += v < 128 ? v : 256 - v;
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
      }
    }
    raw[y * (stride + 1)] = types[best]!;
    cand[best]!.copy(raw, y * (stride + 1) + 1);
  }
  const parts = [SIGNATURE, chunk("IHDR", ihdr)];
  for (const [k, v] of Object.entries(text ?? {})) parts.push(textChunk(k, String(v)));
  parts.push(chunk("IDAT", deflateSync(raw, { level: 6 })));
  parts.push(chunk("IEND", new Uint8Array(0)));
  return Buffer.concat(parts);
}

interface PngChunk {
  type: string;
  data: Buffer;
}

function readChunks(buf: Uint8Array, what: string): PngChunk[] {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) throw new FormatError(`${what}: not a PNG file (bad signature)`);
  const out: PngChunk[] = [];
  let p = 8;
  while (p + 12 <= b.length) {
    const len = b.readUInt32BE(p);
    const type = b.toString("latin1", p + 4, p + 8);
    if (p + 12 + len > b.length) throw new FormatError(`${what}: truncated ${type} chunk`);
    const data = b.subarray(p + 8, p + 8 + len);
    const crc = b.readUInt32BE(p + 8 + len);
    if (crc !== crc32(b.subarray(p + 4, p + 8), data)) throw new FormatError(`${what}: CRC mismatch in ${type} chunk`);
    out.push({ type, data });
    p += 12 + len;
    if (type === "IEND") break;
  }
  return out;
}

/** The text metadata of a PNG (tEXt, zTXt and iTXt chunks), keyword -> text. */
export function decodePngText(buf: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of readChunks(buf, "PNG")) {
    if (c.type === "tEXt") {
      const z = c.data.indexOf(0);
      if (z < 0) continue;
      out[c.data.toString("latin1", 0, z)] = c.data.toString("latin1", z + 1);
    } else if (c.type === "zTXt") {
      const z = c.data.indexOf(0);
      if (z < 0) continue;
      out[c.data.toString("latin1", 0, z)] = inflateSync(c.data.subarray(z + 2)).toString("latin1");
    } else if (c.type === "iTXt") {
      const z = c.data.indexOf(0);
      if (z < 0) continue;
      const key = c.data.toString("latin1", 0, z);
      const compressed = c.data[z + 1] === 1;
      const langEnd = c.data.indexOf(0, z + 3);
      const transEnd = c.data.indexOf(0, langEnd + 1);
      if (langEnd < 0 || transEnd < 0) continue;
      const body = c.data.subarray(transEnd + 1);
      out[key] = (compressed ? inflateSync(body) : body).toString("utf8");
    }
  }
  return out;
}
