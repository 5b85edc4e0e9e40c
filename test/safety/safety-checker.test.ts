import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createContext, DisposedError, NotFoundError, SafetyChecker, safetyScores, type Context, type RGBImage } from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { readSafetensors, type GoldenTensor } from "../helpers/safetensors.js";

interface Detail {
  image: string;
  has_nsfw_concept: boolean;
  special_scores: Record<string, number>;
  concept_scores: Record<string, number>;
  bad_concepts: number[];
  adjustment: number;
}

describeWithReference("safety checker vs goldens/components/tiny-sd1", () => {
  let ctx: Context;
  let checker: SafetyChecker;
  let golden: { safety_checker: { probe_names: string[]; has_nsfw_concepts: boolean[]; returned_image_is_black: boolean[]; returned_image_unchanged: boolean[]; details: Detail[] } };
  let tensors: Map<string, GoldenTensor>;
  let probes: RGBImage[];

  beforeAll(async () => {
    const model = referencePath("models", "tiny-sd1");
    ctx = await createContext({ device: "cpu", threads: 2 });
    checker = await SafetyChecker.load(ctx, `${model}/safety_checker`, `${model}/feature_extractor`);
    const dir = referencePath("goldens", "components", "tiny-sd1");
    golden = JSON.parse(readFileSync(`${dir}/components.json`, "utf8"));
    tensors = readSafetensors(`${dir}/components.safetensors`);
    const t = tensors.get("safety_probe_images_uint8")!;
    const [n, h, w, c] = t.shape as [number, number, number, number];
    probes = [];
    for (let i = 0; i < n; i++) probes.push({ data: Uint8Array.from(t.data.subarray(i * h * w * c, (i + 1) * h * w * c)), width: w, height: h });
  });

  afterAll(() => {
    checker?.dispose();
    ctx?.dispose();
  });

  it("image embeddings match safety_image_embeds within 1e-4", async () => {
    const embeds = await checker.embed(probes);
    const want = tensors.get("safety_image_embeds")!;
    expect(embeds.shape).toEqual(want.shape);
    let maxDiff = 0;
    for (let i = 0; i < want.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(embeds.data[i]! - want.data[i]!));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it("cosine matrices match the goldens", () => {
    const embeds = tensors.get("safety_image_embeds")!;
    const r = safetyScores({ shape: embeds.shape, data: Float32Array.from(embeds.data) }, checker.concepts);
    for (const [name, got] of [["safety_special_cos", r.specialCos], ["safety_concept_cos", r.conceptCos]] as const) {
      const want = tensors.get(name)!;
      expect(got.length).toBe(want.data.length);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want.data[i]!)).toBeLessThan(1e-6);
    }
  });

  it("special / concept scores, flags and black replacement match exactly", async () => {
    const sc = golden.safety_checker;
    const res = await checker.check(probes);
    expect(res.nsfw).toEqual(sc.has_nsfw_concepts);
    for (let i = 0; i < probes.length; i++) {
      const d = sc.details[i]!;
      expect(d.image).toBe(sc.probe_names[i]);
      const wantSpecial = Object.keys(d.special_scores).map((k) => d.special_scores[k]);
      const wantConcept = Object.keys(d.concept_scores).map((k) => d.concept_scores[k]);
      expect(res.scores[i]!.special).toEqual(wantSpecial);
      expect(res.scores[i]!.concept).toEqual(wantConcept);
      const bad = res.scores[i]!.concept.flatMap((s, k) => (s > 0 ? [k] : []));
      expect(bad).toEqual(d.bad_concepts);
      const out = res.images[i]!;
      expect([out.width, out.height]).toEqual([probes[i]!.width, probes[i]!.height]);
      expect(out.data.every((v) => v === 0)).toBe(sc.returned_image_is_black[i]);
      if (sc.returned_image_unchanged[i]) expect(Buffer.from(out.data).equals(Buffer.from(probes[i]!.data))).toBe(true);
    }
    // "checker" is flagged only through the +0.01 special-care adjustment
    expect(golden.safety_checker.details[1]!.adjustment).toBe(0.01);
  });

  it("the input images are not modified", async () => {
    const copy = probes.map((p) => Uint8Array.from(p.data));
    await checker.check(probes);
    probes.forEach((p, i) => expect(Buffer.from(p.data).equals(Buffer.from(copy[i]!))).toBe(true));
  });

  it("typed errors: missing folder, disposed checker", async () => {
    await expect(SafetyChecker.load(ctx, "/nonexistent/safety_checker", null)).rejects.toBeInstanceOf(NotFoundError);
    const model = referencePath("models", "tiny-sd1");
    const c = await SafetyChecker.load(ctx, `${model}/safety_checker`, null);
    c.dispose();
    await expect(c.check(probes)).rejects.toBeInstanceOf(DisposedError);
  });
});

it("safetyScores: adjustment applies after the first positive special score", () => {
  // dim 2; image along x. special 0 matches exactly (cos 1) with threshold 0.995 -> +0.005 > 0 -> adjustment
  const concepts = {
    dim: 2,
    specialEmbeds: Float32Array.from([1, 0, 1, 0]),
    specialWeights: Float32Array.from([0.995, 1.005]),
    conceptEmbeds: Float32Array.from([1, 0, 0, 1]),
    conceptWeights: Float32Array.from([1.005, 0.5]),
  };
  const r = safetyScores({ shape: [1, 2], data: Float32Array.from([3, 0]) }, concepts);
  expect(r.scores[0]!.special).toEqual([0.005, 0.005]);
  expect(r.scores[0]!.concept).toEqual([0.005, -0.49]);
  expect(r.nsfw).toEqual([true]);
});
