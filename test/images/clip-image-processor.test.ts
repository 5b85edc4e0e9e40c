import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { clipImageProcessor, loadImageRGB, parseImageProcessorConfig } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { readSafetensors } from "../helpers/safetensors.js";

interface Case {
  name: string;
  input_size_hw: [number, number];
  mode: string;
  pixel_values_shape: number[];
  pixel_values_first8: number[];
}

describeWithReference("CLIPImageProcessor goldens (goldens/image_processor)", () => {
  const dir = () => referencePath("goldens", "image_processor");
  const golden = () => JSON.parse(readFileSync(`${dir()}/clip_image_processor.json`, "utf8")) as { preprocessor_config: Record<string, unknown>; cases: Case[] };
  const checksums = () => readSafetensors(`${dir()}/clip_image_processor_checksums.safetensors`);

  for (const name of ["rgb_64x64", "rgb_landscape_200x300", "rgba_portrait_250x150", "gray_tiny_20x30"]) {
    it(`${name}: resized+cropped uint8 and pixel_values match exactly`, async () => {
      const g = golden();
      const c = g.cases.find((x) => x.name === name)!;
      const cfg = parseImageProcessorConfig(g.preprocessor_config, { file: "golden" });
      const proc = clipImageProcessor(cfg);
      const img = await loadImageRGB(`${dir()}/${name}_input.png`);
      expect([img.height, img.width]).toEqual(c.input_size_hw);
      const crop = proc.resizeAndCrop(img);
      const want = await loadImageRGB(`${dir()}/${name}_resized_cropped.png`);
      expect([crop.width, crop.height]).toEqual([want.width, want.height]);
      let mismatches = 0;
      for (let i = 0; i < want.data.length; i++) if (crop.data[i] !== want.data[i]) mismatches++;
      expect(mismatches).toBe(0);

      const pv = proc.preprocess(img);
      expect(pv.shape).toEqual(c.pixel_values_shape);
      expect(Array.from(pv.data.subarray(0, 8))).toEqual(c.pixel_values_first8);
      let sum = 0, abs = 0, sq = 0;
      for (const v of pv.data) {
        sum += v;
        abs += Math.abs(v);
        sq += v * v;
      }
      const ck = checksums().get(`${name}_pixel_values_checksum`)!.data;
      expect(Math.fround(sum)).toBe(ck[0]);
      expect(Math.fround(abs)).toBe(ck[1]);
      expect(Math.fround(sq)).toBe(ck[2]);
    });
  }

  it("the raw preprocessor_config.json object is accepted too, and batches stack", async () => {
    const g = golden();
    const proc = clipImageProcessor(g.preprocessor_config);
    const a = await loadImageRGB(`${dir()}/rgb_64x64_input.png`);
    const b = await loadImageRGB(`${dir()}/gray_tiny_20x30_input.png`);
    const pv = proc.preprocess([a, b]);
    expect(pv.shape).toEqual([2, 3, 224, 224]);
    const single = proc.preprocess(b);
    expect(Array.from(pv.data.subarray(3 * 224 * 224))).toEqual(Array.from(single.data));
  });
});
