// Every network of every tiny reference model against the diffusers goldens, through the public
// TypeScript API (loadTextEncoder / loadUNet / loadVae / loadImageEncoder). Tolerance: max abs error
// <= 1e-4 (float32 components, as the reference README suggests).
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createContext, loadImageEncoder, loadTextEncoder, loadUNet, loadVae, type Context, type Tensor } from "../../lib/index.js";
import { describeWithReference, referenceDir } from "../helpers/reference.js";
import { readF32Exact, readSafetensors } from "../helpers/safetensors.js";

const TOL = 1e-4;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

const models = referenceDir() ? readdirSync(join(referenceDir()!, "models")).filter((m) => !m.endsWith(".json")) : [];

describeWithReference("component parity with diffusers goldens (tiny models)", () => {
  let ctx: Context;
  beforeAll(async () => {
    ctx = await createContext({ device: "cpu" });
  });
  afterAll(() => ctx?.dispose());

  for (const model of models) {
    const dir = () => join(referenceDir()!, "models", model);
    const golden = () => join(referenceDir()!, "goldens", "components", model, "components.safetensors");

    it.skipIf(!existsSync(join(referenceDir() ?? "", "models", model, "text_encoder")))(`${model}: text encoder (last hidden, pooled, hidden states, clip skip 1)`, async () => {
      const te = await loadTextEncoder(ctx, join(dir(), "text_encoder"));
      const g = readSafetensors(golden());
      const ids = g.get("te_input_ids")!;
      const out = await te.forward({ shape: ids.shape, data: Int32Array.from(ids.data) }, { outputHiddenStates: true });
      expect(maxAbsDiff(out.lastHiddenState.data, readF32Exact(golden(), "te_last_hidden_state"))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(out.pooled.data, readF32Exact(golden(), "te_pooler_output"))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(out.hiddenStates!.data, readF32Exact(golden(), "te_hidden_states"))).toBeLessThanOrEqual(TOL);
      const first2 = { shape: [2, ids.shape[1]!], data: Int32Array.from(ids.data.subarray(0, 2 * ids.shape[1]!)) };
      const skip = await te.forward(first2, { clipSkip: 1 });
      expect(maxAbsDiff(skip.lastHiddenState.data, readF32Exact(golden(), "encode_prompt_clip_skip1"))).toBeLessThanOrEqual(TOL);
      te.dispose();
    });

    it(`${model}: UNet at timesteps 0, 999, 500, 945.7 and per-sample [10, 700]`, async () => {
      const unet = await loadUNet(ctx, join(dir(), "unet"));
      const g = readSafetensors(golden());
      const key = [...g.keys()].find((k) => /^unet_\d+x\d+_sample$/.test(k))!;
      const pre = key.slice(0, -"_sample".length);
      const sample: Tensor = { shape: g.get(key)!.shape, data: readF32Exact(golden(), key) };
      const ctxName = `${pre}_encoder_hidden_states`;
      const ehs: Tensor = { shape: g.get(ctxName)!.shape, data: readF32Exact(golden(), ctxName) };
      const labels = g.get(`${pre}_class_labels`);
      const opts = labels ? { classLabels: Array.from(labels.data) } : {};
      for (const [suffix, t] of [["_t0", 0], ["_t999", 999], ["_t500", 500], ["_t945.7", 945.7], ["_t10_700", [10, 700]]] as const) {
        const out = await unet.forward(sample, t as number | number[], ehs, opts);
        expect(maxAbsDiff(out.data, readF32Exact(golden(), pre + suffix)), `${pre}${suffix}`).toBeLessThanOrEqual(TOL);
      }
      unet.dispose();
    });

    it(`${model}: VAE encode (moments, mean, std) and decode`, async () => {
      const vae = await loadVae(ctx, join(dir(), "vae"));
      const g = readSafetensors(golden());
      const x: Tensor = { shape: g.get("vae_encode_input")!.shape, data: readF32Exact(golden(), "vae_encode_input") };
      const enc = await vae.encode(x);
      expect(maxAbsDiff(enc.moments.data, readF32Exact(golden(), "vae_encode_moments"))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(enc.mean.data, readF32Exact(golden(), "vae_encode_mean"))).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(enc.std.data, readF32Exact(golden(), "vae_encode_std"))).toBeLessThanOrEqual(TOL);
      const z: Tensor = { shape: g.get("vae_decode_input")!.shape, data: readF32Exact(golden(), "vae_decode_input") };
      const img = await vae.decode(z);
      expect(maxAbsDiff(img.data, readF32Exact(golden(), "vae_decode_output"))).toBeLessThanOrEqual(TOL);
      vae.dispose();
    });
  }

  it("tiny-sd-imgvar: image encoder (image embeds, last and penultimate hidden states)", async () => {
    const m = "tiny-sd-imgvar";
    const golden = join(referenceDir()!, "goldens", "components", m, "components.safetensors");
    const enc = await loadImageEncoder(ctx, join(referenceDir()!, "models", m, "image_encoder"));
    const px: Tensor = { shape: [1, 3, 224, 224], data: readF32Exact(golden, "image_encoder_pixel_values") };
    const out = await enc.forward(px, { outputHiddenStates: true });
    expect(maxAbsDiff(out.imageEmbeds.data, readF32Exact(golden, "image_encoder_image_embeds"))).toBeLessThanOrEqual(TOL);
    expect(maxAbsDiff(out.lastHiddenState.data, readF32Exact(golden, "image_encoder_last_hidden_state"))).toBeLessThanOrEqual(TOL);
    const L = out.hiddenStates!.shape[0]!;
    const plane = out.lastHiddenState.data.length;
    const penultimate = out.hiddenStates!.data.subarray((L - 2) * plane, (L - 1) * plane);
    expect(maxAbsDiff(penultimate, readF32Exact(golden, "image_encoder_penultimate_hidden_state"))).toBeLessThanOrEqual(TOL);
    enc.dispose();
  });

  it("tiny-sd1: the safety checker's vision tower loads from safety_checker/ and leaves the concept tensors unused", async () => {
    const golden = join(referenceDir()!, "goldens", "components", "tiny-sd1", "components.safetensors");
    const tower = await loadImageEncoder(ctx, join(referenceDir()!, "models", "tiny-sd1", "safety_checker"));
    expect(tower.unusedTensors).toEqual(expect.arrayContaining(["concept_embeds", "special_care_embeds"]));
    const embeds = readF32Exact(golden, "safety_image_embeds");
    expect(embeds.length).toBe(6 * tower.projectionDim);
    tower.dispose();
  });
});
