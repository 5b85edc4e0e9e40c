import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { floatToHalf, planRandomModel } from "../../lib/cli/random-model.js";
import { runCli, type CliIO } from "../../lib/cli/main.js";
import {
  createContext, loadTextEncoder, loadUNet, loadVae, readSafetensorsHeader, SafetyChecker, type Context,
} from "../../lib/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

export function captureIO(): CliIO & { out: string; err: string } {
  const io = { out: "", err: "", isTTY: false, stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

/** A configs-only copy of a model folder (model_index.json + every config, no weights). */
function configsOnly(modelDir: string, dest: string): void {
  mkdirSync(dest, { recursive: true });
  copyFileSync(join(modelDir, "model_index.json"), join(dest, "model_index.json"));
  for (const entry of readdirSync(modelDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    mkdirSync(join(dest, entry.name));
    for (const f of readdirSync(join(modelDir, entry.name))) {
      if (/\.json$/.test(f)) copyFileSync(join(modelDir, entry.name, f), join(dest, entry.name, f));
    }
  }
}

it("floatToHalf rounds to nearest even and handles specials", () => {
  expect(floatToHalf(1)).toBe(0x3c00);
  expect(floatToHalf(-2)).toBe(0xc000);
  expect(floatToHalf(0)).toBe(0);
  expect(floatToHalf(65504)).toBe(0x7bff);
  expect(floatToHalf(1e6)).toBe(0x7c00);
  expect(floatToHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
  expect(floatToHalf(2 ** -24)).toBe(1);
  expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
  expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(floatToHalf(0.02)).toBe(0x251f);
});

describeWithReference("make-random-model", () => {
  let tmp: string;
  let ctx: Context;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "sdn-random-"));
    ctx = await createContext({ device: "cpu", threads: 2 });
  });
  afterAll(() => {
    ctx?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("derives exactly params_diffusers.json from the real SD 1.5 / SD 2.1 / x4 / image-variation configs", () => {
    for (const repo of ["runwayml--stable-diffusion-v1-5", "stabilityai--stable-diffusion-2-1", "stabilityai--stable-diffusion-x4-upscaler", "lambdalabs--sd-image-variations-diffusers"]) {
      const plan = planRandomModel(referencePath("configs", repo));
      expect(plan.length).toBeGreaterThanOrEqual(3);
      for (const p of plan) expect(p.mismatch, `${repo}/${p.name}`).toBeNull();
    }
    const sd15 = planRandomModel(referencePath("configs", "runwayml--stable-diffusion-v1-5"));
    const count = (name: string) => sd15.find((p) => p.name === name)!.params.reduce((a, q) => a + q.shape.reduce((x, y) => x * y, 1), 0);
    expect(count("unet")).toBe(859520964);
    expect(count("vae")).toBe(83653863);
    expect(count("text_encoder")).toBe(123060480);
  });

  it("writes a loadable f16 folder from the tiny-sd1 configs; the networks give finite outputs", async () => {
    const cfgDir = join(tmp, "tiny-sd1-configs");
    configsOnly(referencePath("models", "tiny-sd1"), cfgDir);
    const out = join(tmp, "random-sd1");
    const io = captureIO();
    const code = await runCli(["make-random-model", "--config", cfgDir, "--out", out, "--dtype", "f16", "--seed", "7", "--json", "-q"], io);
    expect(io.err).toBe("");
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    expect(result.dtype).toBe("f16");
    expect(result.components.map((c: { name: string }) => c.name).sort()).toEqual(
      ["feature_extractor", "safety_checker", "scheduler", "text_encoder", "tokenizer", "unet", "vae"],
    );
    for (const f of ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
      "text_encoder/model.safetensors", "safety_checker/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt",
      "tokenizer/tokenizer_config.json", "scheduler/scheduler_config.json", "feature_extractor/preprocessor_config.json"]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, "model_index.json"), "utf8"))).toEqual(JSON.parse(readFileSync(join(cfgDir, "model_index.json"), "utf8")));
    // same names and shapes as the reference tiny model's weights, all F16
    for (const [comp, file] of [["unet", "diffusion_pytorch_model.safetensors"], ["vae", "diffusion_pytorch_model.safetensors"], ["text_encoder", "model.safetensors"], ["safety_checker", "model.safetensors"]]) {
      const got = readSafetensorsHeader(join(out, comp!, file!));
      const want = readSafetensorsHeader(referencePath("models", "tiny-sd1", comp!, file!));
      const shapes = (h: typeof got) => Object.fromEntries(h.tensors.map((t) => [t.name, t.shape]));
      expect(shapes(got)).toEqual(shapes(want));
      expect(got.tensors.every((t) => t.dtype === "F16")).toBe(true);
    }
    const unet = await loadUNet(ctx, join(out, "unet"));
    const vae = await loadVae(ctx, join(out, "vae"));
    const te = await loadTextEncoder(ctx, join(out, "text_encoder"));
    try {
      const emb = await te.forward([Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : 49407))]);
      expect(emb.lastHiddenState.data.every(Number.isFinite)).toBe(true);
      const x = { shape: [1, 4, 8, 8], data: Float32Array.from({ length: 256 }, (_, i) => Math.sin(i)) };
      const eps = await unet.forward(x, 500, emb.lastHiddenState);
      expect(eps.shape).toEqual([1, 4, 8, 8]);
      expect(eps.data.every(Number.isFinite)).toBe(true);
      const img = await vae.decode(x);
      expect(img.shape).toEqual([1, 3, 64, 64]);
      expect(img.data.every(Number.isFinite)).toBe(true);
    } finally {
      unet.dispose();
      vae.dispose();
      te.dispose();
    }
    const checker = await SafetyChecker.load(ctx, join(out, "safety_checker"), join(out, "feature_extractor"));
    try {
      const r = await checker.check([{ data: new Uint8Array(64 * 64 * 3).fill(128), width: 64, height: 64 }]);
      expect(r.nsfw).toEqual([false]); // thresholds of 1 are never reached
    } finally {
      checker.dispose();
    }
  });

  it("refuses a non-empty output folder without --force; bad flags are usage errors", async () => {
    const cfgDir = join(tmp, "tiny-sd1-configs");
    const out = join(tmp, "random-sd1");
    let io = captureIO();
    expect(await runCli(["make-random-model", "--config", cfgDir, "--out", out, "-q"], io)).toBe(1);
    expect(io.err).toMatch(/not empty.*--force/);
    io = captureIO();
    expect(await runCli(["make-random-model", "--config", cfgDir, "--out", out, "--dtype", "bf16"], io)).not.toBe(0);
    expect(io.err).toMatch(/--dtype/);
    io = captureIO();
    expect(await runCli(["make-random-model", "--config", join(tmp, "nope"), "--out", join(tmp, "o2"), "-q"], io)).toBe(1);
    expect(io.err).toMatch(/ERR_NOT_FOUND/);
    io = captureIO();
    expect(await runCli(["make-random-model", "--out", join(tmp, "o3")], io)).not.toBe(0);
    expect(io.err).toMatch(/--config/);
  });
});
