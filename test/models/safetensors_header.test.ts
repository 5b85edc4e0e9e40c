import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError, NotFoundError } from "../../lib/errors.js";
import { readSafetensorsHeader, readSafetensorsIndex } from "../../lib/models/safetensors_header.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

function file(header: unknown, dataBytes: number, rawHeader?: string): string {
  const json = Buffer.from(rawHeader ?? JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const p = join(mkdtempSync(join(tmpdir(), "sdn-st-")), "t.safetensors");
  writeFileSync(p, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return p;
}

describe("safetensors header reader", () => {
  it("reads names, dtypes, shapes, offsets and metadata", () => {
    const p = file({ __metadata__: { format: "pt" }, a: { dtype: "F16", shape: [2, 3], data_offsets: [0, 12] }, b: { dtype: "I64", shape: [], data_offsets: [12, 20] } }, 20);
    const h = readSafetensorsHeader(p);
    expect(h.metadata).toEqual({ format: "pt" });
    expect(h.tensors).toEqual([
      { name: "a", dtype: "F16", shape: [2, 3], dataOffsets: [0, 12] },
      { name: "b", dtype: "I64", shape: [], dataOffsets: [12, 20] },
    ]);
    expect(h.dataStart).toBe(8 + h.headerLength);
    expect(readSafetensorsIndex(p)).toEqual([{ name: "a", dtype: "F16", shape: [2, 3] }, { name: "b", dtype: "I64", shape: [] }]);
  });

  it("rejects malformed files with FormatError naming the file", () => {
    const bad: [unknown, number, string?][] = [
      [{ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 8], // size mismatch
      [{ a: { dtype: "Q4", shape: [2], data_offsets: [0, 8] } }, 8], // dtype
      [{ a: { dtype: "F32", shape: [-1], data_offsets: [0, 8] } }, 8], // shape
      [{ a: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 8], // past end
      [null, 0, "{not json"],
      [null, 0, "[1,2]"],
    ];
    for (const [h, n, raw] of bad) {
      const p = file(h, n, raw);
      expect(() => readSafetensorsHeader(p)).toThrow(FormatError);
      expect(() => readSafetensorsHeader(p)).toThrow(new RegExp(p.replace(/[.]/g, "\\.")));
    }
    const huge = join(mkdtempSync(join(tmpdir(), "sdn-st-")), "h.safetensors");
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(1n << 40n);
    writeFileSync(huge, len);
    expect(() => readSafetensorsHeader(huge)).toThrow(/header length/);
    const tiny = join(mkdtempSync(join(tmpdir(), "sdn-st-")), "x.safetensors");
    writeFileSync(tiny, "abc");
    expect(() => readSafetensorsHeader(tiny)).toThrow(/too small/);
    expect(() => readSafetensorsHeader(join(tmpdir(), "definitely-missing.safetensors"))).toThrow(NotFoundError);
  });
});

describeWithReference("safetensors header reader on the tiny models", () => {
  it("tiny-sd1 UNet", () => {
    const h = readSafetensorsHeader(referencePath("models/tiny-sd1/unet/diffusion_pytorch_model.safetensors"));
    expect(h.tensors.find((t) => t.name === "conv_in.weight")).toMatchObject({ dtype: "F32", shape: [8, 4, 3, 3] });
    const total = h.tensors.reduce((a, t) => a + t.dataOffsets[1] - t.dataOffsets[0], 0);
    expect(h.dataStart + total).toBe(h.fileSize);
  });
});
