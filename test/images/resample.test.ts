import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeImage, loadImageGray, loadImageRGB, preprocessMask, resizeImage, type ResampleName } from "../../lib/index.js";
import { repoPath } from "../helpers/reference.js";

const fx = (name: string) => repoPath("test", "fixtures", "images", name);

interface Case { filter: ResampleName; width: number; height: number; file: string }

describe("Pillow-exact resampling (fixtures made with Pillow Image.resize(reducing_gap=None))", () => {
  const cases = (JSON.parse(readFileSync(fx("resample_cases.json"), "utf8")) as { cases: Case[] }).cases;
  for (const c of cases) {
    it(`${c.filter} 37x29 -> ${c.width}x${c.height}`, async () => {
      const src = await loadImageRGB(fx("resample_src_rgb.png"));
      const want = await loadImageRGB(fx(c.file));
      const got = resizeImage({ ...src, channels: 3 }, c.width, c.height, c.filter);
      expect([got.width, got.height]).toEqual([want.width, want.height]);
      let bad = 0;
      for (let i = 0; i < want.data.length; i++) if (got.data[i] !== want.data[i]) bad++;
      expect(bad).toBe(0);
    });
  }

  it("Pillow resample codes are accepted (1 = LANCZOS, 3 = BICUBIC)", async () => {
    const src = await loadImageRGB(fx("resample_src_rgb.png"));
    const a = resizeImage({ ...src, channels: 3 }, 16, 12, 1);
    const b = resizeImage({ ...src, channels: 3 }, 16, 12, "lanczos");
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(() => resizeImage({ ...src, channels: 3 }, 16, 12, 9)).toThrow(/resample/);
    expect(() => resizeImage({ ...src, channels: 3 }, 0, 12, 1)).toThrow(/positive/);
  });

  it("same size returns an equal copy", async () => {
    const src = await loadImageRGB(fx("resample_src_rgb.png"));
    const r = resizeImage({ ...src, channels: 3 }, src.width, src.height, "lanczos");
    expect(r.data).not.toBe(src.data);
    expect(Buffer.from(r.data).equals(Buffer.from(src.data))).toBe(true);
  });

  it("single-channel (L) LANCZOS resize and the mask processor's binarization", async () => {
    const m = await loadImageGray(fx("mask_src_l.png"));
    const want = await loadImageGray(fx("mask_lanczos_64x48.png"));
    const got = resizeImage({ ...m, channels: 1 }, 64, 48, "lanczos");
    expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true);
    const t = preprocessMask(m, 64, 48);
    expect(t.shape).toEqual([1, 1, 48, 64]);
    for (let i = 0; i < want.data.length; i++) expect(t.data[i]).toBe(want.data[i]! / 255 >= 0.5 ? 1 : 0);
    // the value 127 -> 0.498 -> 0, 128 -> 0.502 -> 1
    const edge = preprocessMask({ data: Uint8Array.from([127, 128]), width: 2, height: 1 }, 2, 1);
    expect(Array.from(edge.data)).toEqual([0, 1]);
  });
});

describe("PIL mode conversions", () => {
  it("RGBA / LA / P -> RGB drop alpha without compositing (convert('RGB'))", async () => {
    const want = await loadImageRGB(fx("mode_expected_rgb.png"));
    const parts = await Promise.all(["mode_rgba.png", "mode_la.png", "mode_p.png"].map((f) => loadImageRGB(fx(f))));
    const w = parts[0]!.width, h = parts[0]!.height;
    expect(want.width).toBe(3 * w);
    for (let p = 0; p < 3; p++) {
      const img = parts[p]!;
      expect([img.width, img.height]).toEqual([w, h]);
      for (let y = 0; y < h; y++) {
        const got = img.data.subarray(y * w * 3, (y + 1) * w * 3);
        const exp = want.data.subarray((y * want.width + p * w) * 3, (y * want.width + (p + 1) * w) * 3);
        expect(Buffer.from(got).equals(Buffer.from(exp))).toBe(true);
      }
    }
  });

  it("RGB / RGBA / LA -> L use PIL's fixed-point luma (convert('L'))", async () => {
    const want = await loadImageGray(fx("mode_expected_l.png"));
    const parts = await Promise.all(["resample_src_rgb.png", "mode_rgba.png", "mode_la.png"].map((f) => loadImageGray(fx(f))));
    const w = parts[0]!.width, h = parts[0]!.height;
    for (let p = 0; p < 3; p++) {
      for (let y = 0; y < h; y++) {
        const got = parts[p]!.data.subarray(y * w, (y + 1) * w);
        const exp = want.data.subarray(y * want.width + p * w, y * want.width + (p + 1) * w);
        expect(Buffer.from(got).equals(Buffer.from(exp))).toBe(true);
      }
    }
  });

  it("decodeImage keeps the file's own layout", async () => {
    expect((await decodeImage(fx("mode_rgba.png"))).channels).toBe(4);
    expect((await decodeImage(fx("mode_la.png"))).channels).toBe(2);
    expect((await decodeImage(fx("mask_src_l.png"))).channels).toBe(1);
    expect((await decodeImage(fx("resample_src_rgb.png"))).channels).toBe(3);
  });
});
