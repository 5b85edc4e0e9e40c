// Single-file checkpoints: a tiny SD1 model written under the original CompVis names (one .safetensors) loads
// through loadPipeline (family inference + name mapping) and reproduces the diffusers PNDM golden.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  buildSingleFileMapping, loadPipeline, openWeightFile, parseClipTextConfig, parseUNetConfig, parseVaeConfig,
  StableDiffusionPipeline, writeSafetensors, type TensorToWrite,
} from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { diffStats, f32Tensor, goldenRun, imageDiff } from "./helpers.js";

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8")) as Record<string, unknown>;
const strip = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith("_")));

describeWithReference("single-file checkpoints", () => {
  let dir: string;
  let ckpt: string;
  const cfg = { unet: {} as Record<string, unknown>, vae: {} as Record<string, unknown>, text_encoder: {} as Record<string, unknown> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "sdn-single-"));
    ckpt = join(dir, "tiny-sd1.safetensors");
    const m = (c: string) => referencePath("models", "tiny-sd1", c);
    cfg.unet = strip(readJson(join(m("unet"), "config.json")));
    cfg.vae = strip(readJson(join(m("vae"), "config.json")));
    cfg.text_encoder = strip(readJson(join(m("text_encoder"), "config.json")));
    const ctx = { strict: false, warnings: [] as string[] };
    const entries = buildSingleFileMapping({
      unet: parseUNetConfig(cfg.unet, { file: "unet", ...ctx }),
      vae: parseVaeConfig(cfg.vae, { file: "vae", ...ctx }),
      textEncoder: parseClipTextConfig(cfg.text_encoder, { file: "te", ...ctx }),
      textEncoderStyle: "clip-hf",
    });
    const files = {
      unet: await openWeightFile(join(m("unet"), "diffusion_pytorch_model.safetensors")),
      vae: await openWeightFile(join(m("vae"), "diffusion_pytorch_model.safetensors")),
      text_encoder: await openWeightFile(join(m("text_encoder"), "model.safetensors")),
    };
    const out: TensorToWrite[] = [];
    for (const e of entries) {
      const data = files[e.component].read(e.target);
      expect(data).toBeInstanceOf(Float32Array);
      out.push({ name: e.source, dtype: "F32", shape: e.sourceShape, data });
    }
    for (const f of Object.values(files)) f.dispose();
    await writeSafetensors(ckpt, out);
    // a stand-alone VAE file in the original LDM naming (as vae-ft-mse-*.safetensors files are)
    const vaeOnly = out.filter((t) => t.name.startsWith("first_stage_model.")).map((t) => ({ ...t, name: t.name.slice("first_stage_model.".length) }));
    await writeSafetensors(join(dir, "vae-ldm.safetensors"), vaeOnly);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a single-file VAE (original names) as the vae override gives the same images", async () => {
    const pipe = (await loadPipeline(referencePath("models", "tiny-sd1"), { threads: 2, vae: join(dir, "vae-ldm.safetensors") })) as StableDiffusionPipeline;
    try {
      const { file, tensors } = goldenRun("txt2img_sd1_ddim");
      const r = await pipe.generate({
        prompt: "a photo of an astronaut riding a horse on mars", negativePrompt: "blurry, low quality", steps: 10,
        latents: f32Tensor(file, tensors, "input_latents"), outputType: "raw", scheduler: goldenRun("txt2img_sd1_ddim").run.scheduler_config,
      });
      expect(pipe.loadWarnings.some((w) => /VAE replaced/.test(w))).toBe(true);
      expect(imageDiff((r.images[0] as { data: Uint8Array }).data, f32Tensor(file, tensors, "image").data)).toBeLessThanOrEqual(1);
    } finally {
      pipe.dispose();
    }
  });

  it("loads as StableDiffusionPipeline and matches the txt2img_sd1_pndm golden", async () => {
    const pipe = await loadPipeline(ckpt, { threads: 2, singleFile: { family: "sd1", overrides: cfg } });
    try {
      expect(pipe).toBeInstanceOf(StableDiffusionPipeline);
      expect(pipe.family).toBe("sd1");
      expect(pipe.scheduler.className).toBe("PNDMScheduler");
      expect(pipe.safetyChecker).toBeNull();
      const { file, tensors } = goldenRun("txt2img_sd1_pndm");
      const r = await (pipe as StableDiffusionPipeline).generate({
        prompt: "a photo of an astronaut riding a horse on mars", negativePrompt: "blurry, low quality", steps: 20,
        latents: f32Tensor(file, tensors, "input_latents"), outputType: "raw",
      });
      expect(diffStats(r.latents.data, f32Tensor(file, tensors, "final_latents").data).rel).toBeLessThanOrEqual(1e-4);
      expect(imageDiff((r.images[0] as { data: Uint8Array }).data, f32Tensor(file, tensors, "image").data)).toBeLessThanOrEqual(1);
      expect(r.nsfwContentDetected).toBeNull();
    } finally {
      pipe.dispose();
    }
  });
});
