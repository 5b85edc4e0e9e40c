import { readFileSync } from "node:fs";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  clipImageProcessor, decodePngText, defaultHeightWidth, encodePng, FormatError, imageVariationPreprocess, loadImageRGB,
  NotFoundError, postprocessImage, preprocessImage, type RGBImage,
} from "../../lib/index.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { readSafetensors } from "../helpers/safetensors.js";

const fx = (name: string) => repoPath("test", "fixtures", "images", name);

function pattern(w: number, h: number): RGBImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >> 5)) & 0xff;
  return { data, width: w, height: h };
}

describe("PNG writing with text metadata", () => {
  it("round trip: pixels decode identically (sharp) and text chunks come back", async () => {
    const img = pattern(23, 17);
    const meta = { prompt: "a photo of an astronaut riding a horse", negative_prompt: "blurry", seed: "42", steps: "20", unicode: "café ☕ 東京", multiline: "a\nb" };
    const png = await encodePng(img, meta);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([23, 17, 3]);
    expect(Buffer.from(data).equals(Buffer.from(img.data))).toBe(true);
    expect(decodePngText(png)).toEqual(meta);
    // Latin-1 values are plain tEXt, the rest iTXt
    expect(png.includes(Buffer.from("tEXtprompt\0"))).toBe(true);
    expect(png.includes(Buffer.from("iTXtunicode\0"))).toBe(true);
  });

  it("gray, RGBA; loadImageRGB reads the written file back", async () => {
    const g = { data: Uint8Array.from({ length: 12 }, (_, i) => i * 20), width: 4, height: 3, channels: 1 };
    const rgba = { data: Uint8Array.from({ length: 48 }, (_, i) => i * 5), width: 4, height: 3, channels: 4 };
    const back = await loadImageRGB(await encodePng(g));
    expect(Array.from(back.data.subarray(0, 6))).toEqual([0, 0, 0, 20, 20, 20]);
    const back4 = await loadImageRGB(await encodePng(rgba));
    expect(Array.from(back4.data.subarray(0, 6))).toEqual([0, 5, 10, 20, 25, 30]);
  });

  it("decodePngText rejects non-PNG and corrupt data with FormatError", async () => {
    expect(() => decodePngText(Buffer.from("not a png"))).toThrow(FormatError);
    const png = Buffer.from(await encodePng(pattern(4, 4), { a: "b" }));
    png[40] ^= 0xff;
    expect(() => decodePngText(png)).toThrow(FormatError);
  });

  it("bad keywords and sizes are InvalidArgument errors", async () => {
    await expect(encodePng(pattern(4, 4), { "": "x" })).rejects.toThrow(/keyword/);
    await expect(encodePng({ data: new Uint8Array(5), width: 4, height: 4 })).rejects.toThrow(/bytes/);
  });
});

describe("loadImageRGB inputs", () => {
  it("path, Buffer, Uint8Array, sharp instance and raw pixels agree", async () => {
    const path = fx("resample_src_rgb.png");
    const a = await loadImageRGB(path);
    const bytes = readFileSync(path);
    const b = await loadImageRGB(bytes);
    const c = await loadImageRGB(new Uint8Array(bytes));
    const d = await loadImageRGB(sharp(path));
    const e = await loadImageRGB({ data: a.data, width: a.width, height: a.height, channels: 3 });
    for (const x of [b, c, d, e]) {
      expect([x.width, x.height]).toEqual([a.width, a.height]);
      expect(Buffer.from(x.data).equals(Buffer.from(a.data))).toBe(true);
    }
    const rgba = await loadImageRGB({ data: new Uint8ClampedArray([1, 2, 3, 4, 5, 6, 7, 8]), width: 2, height: 1, channels: 4 });
    expect(Array.from(rgba.data)).toEqual([1, 2, 3, 5, 6, 7]);
    const gray = await loadImageRGB({ data: new Uint8Array([9, 10]), width: 2, height: 1, channels: 1 });
    expect(Array.from(gray.data)).toEqual([9, 9, 9, 10, 10, 10]);
  });

  it("typed errors name the file", async () => {
    await expect(loadImageRGB("/nonexistent/dir/x.png")).rejects.toBeInstanceOf(NotFoundError);
    await expect(loadImageRGB("/nonexistent/dir/x.png")).rejects.toThrow(/x\.png/);
    const bad = fx("resample_cases.json");
    await expect(loadImageRGB(bad)).rejects.toBeInstanceOf(FormatError);
    await expect(loadImageRGB(bad)).rejects.toThrow(/resample_cases\.json/);
    await expect(loadImageRGB(Buffer.from("garbage bytes"))).rejects.toBeInstanceOf(FormatError);
    await expect(loadImageRGB({ data: new Uint8Array(3), width: 2, height: 1, channels: 3 })).rejects.toThrow(/bytes/);
  });
});

describe("diffusers VaeImageProcessor numerics", () => {
  it("preprocessImage: x/255*2-1 in float32, NCHW, no resize at the same size", () => {
    const img = pattern(8, 4);
    const t = preprocessImage(img, 8, 4);
    expect(t.shape).toEqual([1, 3, 4, 8]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 32; i++) {
        const x = Math.fround(img.data[i * 3 + c]! / 255);
        expect(t.data[c * 32 + i]).toBe(Math.fround(2 * x - 1));
      }
    }
    const r = preprocessImage(img, 16, 8);
    expect(r.shape).toEqual([1, 3, 8, 16]);
    expect(r.data.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it("postprocessImage: clamp((x/2+0.5)) then round-half-even of x*255", () => {
    // values chosen so x*255 lands on .5 ties after the float32 ops
    const vals = [-2, -1, 1, 2, NaN, 0];
    const half = (k: number) => Math.fround((k / 255) * 2 - 1); // k/255 -> after denorm ~ k/255
    const data = new Float32Array(3 * 2 * 3);
    data.set(vals, 0);
    data.set([half(0.5), half(1.5), half(2.5), half(254.5), half(100), half(200)], 6);
    const [img] = postprocessImage({ shape: [1, 3, 2, 3], data });
    const r = Array.from({ length: 6 }, (_, i) => img!.data[i * 3]!);
    expect(r).toEqual([0, 0, 255, 255, 0, 128]);
    for (let i = 0; i < 6; i++) {
      const x = data[6 + i]!;
      let v = Math.fround(Math.fround(x / 2) + 0.5);
      v = Math.min(Math.max(v, 0), 1);
      const s = Math.fround(v * 255);
      const fl = Math.floor(s);
      const want = s - fl === 0.5 ? (fl % 2 === 0 ? fl : fl + 1) : Math.round(s);
      expect(img!.data[i * 3 + 1]).toBe(want);
    }
  });

  it("doDenormalize=false leaves values as [0,1] (numpy_to_pil only)", () => {
    const [img] = postprocessImage({ shape: [1, 3, 1, 1], data: Float32Array.from([0.5, 1, 0]) }, [false]);
    expect(Array.from(img!.data)).toEqual([128, 255, 0]);
  });

  it("defaultHeightWidth rounds down to a multiple of 8", () => {
    expect(defaultHeightWidth({ width: 100, height: 71 })).toEqual({ width: 96, height: 64 });
    expect(defaultHeightWidth({ width: 100, height: 71 }, 512, 513)).toEqual({ width: 512, height: 512 });
  });
});

describeWithReference("pipeline goldens: image I/O", () => {
  it("numpy_to_pil of the golden float images equals the golden PNGs", async () => {
    for (const run of ["txt2img_sd1_pndm", "img2img_sd1_strength0.75", "inpaint_sd2style", "image_variation", "txt2img_sd1_euler_ancestral"]) {
      const t = readSafetensors(referencePath("goldens", "pipelines", `${run}.safetensors`)).get("image")!;
      const [B, H, W] = t.shape as [number, number, number, number];
      const nchw = new Float32Array(B * 3 * H * W);
      for (let b = 0; b < B; b++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) {
        nchw[((b * 3 + c) * H + y) * W + x] = t.data[((b * H + y) * W + x) * 3 + c]!;
      }
      const imgs = postprocessImage({ shape: [B, 3, H, W], data: nchw }, new Array(B).fill(false));
      for (let b = 0; b < B; b++) {
        const want = await loadImageRGB(referencePath("goldens", "pipelines", `${run}__image${b}.png`));
        expect(Buffer.from(imgs[b]!.data).equals(Buffer.from(want.data))).toBe(true);
      }
    }
  });

  it("input PNGs decode to the stored input_image_uint8 / input_mask_image_uint8", async () => {
    for (const run of ["img2img_sd1_strength0.75", "inpaint_sd2style", "image_variation", "upscale_x4_noise20", "depth2img_depth_map"]) {
      const st = readSafetensors(referencePath("goldens", "pipelines", `${run}.safetensors`));
      const img = await loadImageRGB(referencePath("goldens", "pipelines", `${run}__input_image.png`));
      const want = st.get("input_image_uint8")!;
      expect([img.height, img.width, 3]).toEqual(want.shape);
      expect(Array.from(img.data)).toEqual(Array.from(want.data));
    }
    const st = readSafetensors(referencePath("goldens", "pipelines", "inpaint_sd2style.safetensors"));
    const mask = st.get("input_mask_image_uint8")!;
    const { loadImageGray } = await import("../../lib/index.js");
    const m = await loadImageGray(referencePath("goldens", "pipelines", "inpaint_sd2style__input_mask_image.png"));
    expect(Array.from(m.data)).toEqual(Array.from(mask.data));
  });

  it("imageVariationPreprocess (default) = CLIPImageProcessor, as the image_variation golden used", async () => {
    const img = await loadImageRGB(referencePath("goldens", "pipelines", "image_variation__input_image.png"));
    const cfg = JSON.parse(readFileSync(referencePath("models", "tiny-sd-imgvar", "feature_extractor", "preprocessor_config.json"), "utf8"));
    const a = imageVariationPreprocess(img, { config: cfg });
    const b = clipImageProcessor(cfg).preprocess(img);
    expect(a.shape).toEqual([1, 3, 224, 224]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const c = imageVariationPreprocess(img);
    expect(Array.from(c.data)).toEqual(Array.from(b.data));
    const mc = imageVariationPreprocess(img, { mode: "model-card" });
    expect(mc.shape).toEqual([1, 3, 224, 224]);
    expect(mc.data.every(Number.isFinite)).toBe(true);
  });
});

describe("imageVariationPreprocess model-card mode (torch bicubic, a=-0.75, align_corners=False)", () => {
  it("a constant image stays constant; upsampling by 2 interpolates with the cubic kernel", () => {
    const img = { data: new Uint8Array(4 * 4 * 3).fill(51), width: 4, height: 4 };
    const t = imageVariationPreprocess(img, { mode: "model-card", size: 8 });
    const mean = [0.48145466, 0.4578275, 0.40821073], std = [0.26862954, 0.26130258, 0.27577711];
    for (let c = 0; c < 3; c++) {
      const want = Math.fround(Math.fround(Math.fround(51 / 255) - Math.fround(mean[c]!)) / Math.fround(std[c]!));
      for (let i = 0; i < 64; i++) expect(Math.abs(t.data[c * 64 + i]! - want)).toBeLessThan(1e-6);
    }
  });
});
