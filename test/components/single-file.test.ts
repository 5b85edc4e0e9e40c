// Tiny reference models written as original CompVis / Stability single-file checkpoints (our reverse name
// mapping, OpenCLIP q/k/v fused back into in_proj, one extra OpenCLIP block as real SD2 files have), then
// loaded with loadSingleFile: every network must reproduce the diffusers goldens (max abs error <= 1e-4).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  buildTextEncoderMapping,
  buildUNetMapping,
  buildVaeMapping,
  createContext,
  loadComponentConfig,
  loadSingleFile,
  writeSafetensors,
  type Context,
  type TensorToWrite,
} from "../../lib/index.js";
import type { ClipTextConfig } from "../../lib/models/configs/clip.js";
import type { UNet2DConditionConfig } from "../../lib/models/configs/unet.js";
import type { AutoencoderKLConfig } from "../../lib/models/configs/vae.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { readF32Exact, readSafetensors } from "../helpers/safetensors.js";

const TOL = 1e-4;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Writes <out> holding the model's UNet, VAE and text encoder under their original names. */
async function writeOriginalCheckpoint(modelDir: string, style: "clip-hf" | "openclip", out: string) {
  const unet = loadComponentConfig("unet", join(modelDir, "unet/config.json")).config as never as UNet2DConditionConfig;
  const vae = loadComponentConfig("vae", join(modelDir, "vae/config.json")).config as never as AutoencoderKLConfig;
  const te = loadComponentConfig("clip_text", join(modelDir, "text_encoder/config.json")).config as never as ClipTextConfig;
  const files = {
    unet: join(modelDir, "unet/diffusion_pytorch_model.safetensors"),
    vae: join(modelDir, "vae/diffusion_pytorch_model.safetensors"),
    text_encoder: join(modelDir, "text_encoder/model.safetensors"),
  };
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of [...buildUNetMapping(unet), ...buildVaeMapping(vae), ...buildTextEncoderMapping(te, style)]) {
    const src = readF32Exact(files[e.component], e.target);
    let dst = tensors.get(e.source);
    if (!dst) {
      dst = { shape: e.sourceShape, data: new Float32Array(e.sourceShape.reduce((a, b) => a * b, 1)) };
      tensors.set(e.source, dst);
    }
    const rowElems = e.rows ? src.length / (e.rows[1] - e.rows[0]) : 0;
    dst.data.set(src, e.rows ? e.rows[0] * rowElems : 0);
  }
  if (style === "openclip") {
    // Real SD2 checkpoints carry a 24th block diffusers drops, plus the projection: add their equivalents.
    const l = te.num_hidden_layers;
    for (const [name, t] of [...tensors]) {
      const m = new RegExp(`^cond_stage_model\\.model\\.transformer\\.resblocks\\.${l - 1}\\.(.*)$`).exec(name);
      if (m) tensors.set(`cond_stage_model.model.transformer.resblocks.${l}.${m[1]}`, { shape: t.shape, data: t.data.map((v) => v * 0.5) });
    }
    tensors.set("cond_stage_model.model.text_projection", { shape: [te.hidden_size, te.hidden_size], data: new Float32Array(te.hidden_size ** 2) });
    tensors.set("cond_stage_model.model.logit_scale", { shape: [], data: new Float32Array([4.6]) });
  }
  tensors.set("model_ema.decay", { shape: [], data: new Float32Array([0.9999]) });
  const list: TensorToWrite[] = [...tensors].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape, data: t.data }));
  await writeSafetensors(out, list);
  return { unet, vae, te };
}

describeWithReference("single-file checkpoints in the original layout (tiny models)", () => {
  let ctx: Context;
  let dir: string;
  beforeAll(async () => {
    ctx = await createContext({ device: "cpu" });
    dir = mkdtempSync(join(tmpdir(), "sdn-single-"));
  });
  afterAll(() => {
    ctx?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: [string, "clip-hf" | "openclip", string][] = [
    ["tiny-sd1", "clip-hf", "sd1"],
    ["tiny-sd2-v", "openclip", "sd2-v"],
    ["tiny-sd2-base", "openclip", "sd2-base"],
    ["tiny-sd-inpaint", "openclip", "sd2-inpainting"],
    ["tiny-sd-depth", "openclip", "sd2-depth"],
    ["tiny-sd-upscale", "openclip", "sd-x4-upscaler"],
  ];
  for (const [model, style, family] of cases) {
    it(`${model} (${family}, ${style} text encoder): UNet, VAE and text encoder match the goldens`, async () => {
      const modelDir = referencePath("models", model);
      const file = join(dir, `${model}.safetensors`);
      const { unet: ucfg, vae: vcfg, te: tcfg } = await writeOriginalCheckpoint(modelDir, style, file);
      // Heads, group counts and sample sizes are not in the shapes: the tiny values are given as overrides.
      const loaded = await loadSingleFile(ctx, file, {
        family: family as never,
        overrides: {
          unet: { attention_head_dim: ucfg.attention_head_dim, norm_num_groups: ucfg.norm_num_groups, sample_size: ucfg.sample_size, upcast_attention: ucfg.upcast_attention },
          vae: { norm_num_groups: vcfg.norm_num_groups, sample_size: vcfg.sample_size, scaling_factor: vcfg.scaling_factor },
          text_encoder: { num_attention_heads: tcfg.num_attention_heads, hidden_act: tcfg.hidden_act, projection_dim: tcfg.projection_dim },
        },
      });
      expect(loaded.conversion.model.family).toBe(family);
      expect(loaded.conversion.warnings.join("\n")).toMatch(/EMA|model_ema/);
      const golden = referencePath("goldens", "components", model, "components.safetensors");
      const g = readSafetensors(golden);

      const ids = g.get("te_input_ids")!;
      const te = await loaded.textEncoder!.forward({ shape: ids.shape, data: Int32Array.from(ids.data) });
      expect(maxAbsDiff(te.lastHiddenState.data, readF32Exact(golden, "te_last_hidden_state"))).toBeLessThanOrEqual(TOL);

      const key = [...g.keys()].find((k) => /^unet_\d+x\d+_sample$/.test(k))!;
      const pre = key.slice(0, -"_sample".length);
      const labels = g.get(`${pre}_class_labels`);
      const out = await loaded.unet.forward(
        { shape: g.get(key)!.shape, data: readF32Exact(golden, key) },
        [10, 700],
        { shape: g.get(`${pre}_encoder_hidden_states`)!.shape, data: readF32Exact(golden, `${pre}_encoder_hidden_states`) },
        labels ? { classLabels: Array.from(labels.data) } : {},
      );
      expect(maxAbsDiff(out.data, readF32Exact(golden, `${pre}_t10_700`))).toBeLessThanOrEqual(TOL);

      const img = await loaded.vae.decode({ shape: g.get("vae_decode_input")!.shape, data: readF32Exact(golden, "vae_decode_input") });
      expect(maxAbsDiff(img.data, readF32Exact(golden, "vae_decode_output"))).toBeLessThanOrEqual(TOL);
      loaded.unet.dispose();
      loaded.vae.dispose();
      loaded.textEncoder!.dispose();
    });
  }
});
