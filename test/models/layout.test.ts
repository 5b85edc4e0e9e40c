import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError, InvalidArgumentError, NotFoundError, UnsupportedError } from "../../lib/errors.js";
import { resolveDiffusersFolder } from "../../lib/models/layout/diffusers.js";
import { hfCacheRoots, resolveHfSnapshot } from "../../lib/models/layout/hf_cache.js";
import { resolveModelSource, resolveSingleFile } from "../../lib/models/layout/source.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { subdirs, whenReference } from "./helpers.js";

const FIXTURE = repoPath("test/fixtures/models/sd2-1");

/** A diffusers folder built from the SD 2.1 fixture configs with empty weight files. */
function makeFolder(weights: Record<string, string[]> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "sdn-layout-"));
  for (const c of ["unet", "vae", "text_encoder", "scheduler"]) cpSync(join(FIXTURE, c), join(root, c), { recursive: true });
  cpSync(join(FIXTURE, "model_index.json"), join(root, "model_index.json"));
  mkdirSync(join(root, "tokenizer"));
  writeFileSync(join(root, "tokenizer", "vocab.json"), "{}");
  writeFileSync(join(root, "tokenizer", "merges.txt"), "#version: 0.2\n");
  mkdirSync(join(root, "feature_extractor"));
  writeFileSync(join(root, "feature_extractor", "preprocessor_config.json"), JSON.stringify({ feature_extractor_type: "CLIPFeatureExtractor", size: 224, crop_size: 224 }));
  const w = {
    unet: ["diffusion_pytorch_model.safetensors"],
    vae: ["diffusion_pytorch_model.safetensors"],
    text_encoder: ["model.safetensors"],
    ...weights,
  };
  for (const [c, files] of Object.entries(w)) for (const f of files) writeFileSync(join(root, c, f), "");
  return root;
}

describe("diffusers folder layout", () => {
  it("resolves components, configs, weight files and the family hint", () => {
    const root = makeFolder({ unet: ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin"] });
    const m = resolveDiffusersFolder(root);
    expect(m.pipelineClass).toBe("StableDiffusionPipeline");
    expect(m.familyHint).toBe("sd2-v");
    expect(Object.keys(m.components).sort()).toEqual(["feature_extractor", "scheduler", "text_encoder", "tokenizer", "unet", "vae"]);
    expect(m.components.unet).toMatchObject({
      className: "UNet2DConditionModel", library: "diffusers", kind: "unet", configPath: join(root, "unet", "config.json"),
      weightFiles: [join(root, "unet", "diffusion_pytorch_model.safetensors")], weightFormat: "safetensors", variant: null,
    });
    expect(m.components.unet!.config?.kind).toBe("unet");
    expect(m.components.text_encoder!.weightFiles).toEqual([join(root, "text_encoder", "model.safetensors")]);
    expect(m.components.scheduler!.config).toMatchObject({ kind: "scheduler", config: { className: "DDIMScheduler" } });
    expect(m.components.scheduler!.weightFiles).toEqual([]);
    expect(m.components.tokenizer!.files.map((f) => f.split("/").pop())).toEqual(["vocab.json", "merges.txt"]);
    expect(m.components.feature_extractor!.config).toMatchObject({ kind: "image_processor", config: { size: { shortest_edge: 224 } } });
    expect(resolveDiffusersFolder(root, { preferBin: true }).components.unet!.weightFiles).toEqual([join(root, "unet", "diffusion_pytorch_model.bin")]);
    rmSync(root, { recursive: true });
  });

  it("variants: fp16 files preferred; missing variant falls back with a warning", () => {
    const root = makeFolder({ unet: ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"], text_encoder: ["pytorch_model.bin"] });
    const m = resolveDiffusersFolder(root, { variant: "fp16" });
    expect(m.components.unet).toMatchObject({ weightFiles: [join(root, "unet", "diffusion_pytorch_model.fp16.safetensors")], variant: "fp16" });
    expect(m.components.vae).toMatchObject({ weightFiles: [join(root, "vae", "diffusion_pytorch_model.safetensors")], variant: null });
    expect(m.components.text_encoder).toMatchObject({ weightFiles: [join(root, "text_encoder", "pytorch_model.bin")], weightFormat: "bin" });
    expect(m.warnings.some((w) => /"vae" has no "fp16" variant/.test(w))).toBe(true);
    rmSync(root, { recursive: true });
  });

  it("sharded checkpoints: shards from weight_map; missing shard → NotFoundError", () => {
    const root = makeFolder({ unet: [] });
    const shards = ["diffusion_pytorch_model-00001-of-00002.safetensors", "diffusion_pytorch_model-00002-of-00002.safetensors"];
    writeFileSync(join(root, "unet", "diffusion_pytorch_model.safetensors.index.json"), JSON.stringify({
      metadata: { total_size: 1 }, weight_map: { "conv_in.weight": shards[0], "conv_out.weight": shards[1], "conv_in.bias": shards[0] },
    }));
    for (const s of shards) writeFileSync(join(root, "unet", s), "");
    const m = resolveDiffusersFolder(root);
    expect(m.components.unet).toMatchObject({
      weightFiles: shards.map((s) => join(root, "unet", s)),
      shardIndexPath: join(root, "unet", "diffusion_pytorch_model.safetensors.index.json"),
    });
    expect(m.components.unet!.weightMap!["conv_out.weight"]).toBe(join(root, "unet", shards[1]!));
    rmSync(join(root, "unet", shards[1]!));
    expect(() => resolveDiffusersFolder(root)).toThrow(NotFoundError);
    writeFileSync(join(root, "unet", "diffusion_pytorch_model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "../x.safetensors" } }));
    expect(() => resolveDiffusersFolder(root)).toThrow(FormatError);
    rmSync(root, { recursive: true });
  });

  it("missing component folder or weights → NotFoundError naming folder and component", () => {
    const root = makeFolder();
    rmSync(join(root, "vae"), { recursive: true });
    expect(() => resolveDiffusersFolder(root)).toThrow(NotFoundError);
    expect(() => resolveDiffusersFolder(root)).toThrow(new RegExp(`${root}: component "vae" \\(AutoencoderKL\\)`));
    expect(resolveDiffusersFolder(root, { skip: ["vae"] }).components.vae).toBeUndefined();
    const root2 = makeFolder({ text_encoder: [] });
    rmSync(join(root2, "text_encoder", "model.safetensors"), { force: true });
    expect(() => resolveDiffusersFolder(root2)).toThrow(/component "text_encoder" has no weight file .*looked for diffusion_pytorch_model\.safetensors/);
    expect(() => resolveDiffusersFolder(join(root2, "unet"))).toThrow(/no model_index\.json/);
    rmSync(root, { recursive: true });
    rmSync(root2, { recursive: true });
  });

  it("unreadable JSON → FormatError with the file path; bad config fields too", () => {
    const root = makeFolder();
    writeFileSync(join(root, "model_index.json"), "{ bad json");
    expect(() => resolveDiffusersFolder(root)).toThrow(new RegExp(`${join(root, "model_index.json")}: not valid JSON`));
    cpSync(join(FIXTURE, "model_index.json"), join(root, "model_index.json"));
    writeFileSync(join(root, "unet", "config.json"), JSON.stringify({ _class_name: "UNet2DConditionModel", in_channels: "4" }));
    expect(() => resolveDiffusersFolder(root)).toThrow(FormatError);
    expect(() => resolveDiffusersFolder(root)).toThrow(/unet\/config\.json: field "in_channels"/);
    rmSync(root, { recursive: true });
  });
});

describeWithReference("diffusers layout on the tiny models", () => {
  const hints: Record<string, string> = {
    "tiny-sd1": "sd1", "tiny-sd2-v": "sd2-v", "tiny-sd2-base": "sd2-base", "tiny-sd-imgvar": "sd-image-variations",
    "tiny-sd-inpaint": "sd2-inpainting", "tiny-sd-depth": "sd2-depth", "tiny-sd-upscale": "sd-x4-upscaler",
  };
  for (const name of whenReference(() => subdirs(referencePath("models")), "(reference absent)")) {
    it(name, () => {
      const m = resolveDiffusersFolder(referencePath("models", name));
      expect(m.familyHint).toBe(hints[name]);
      expect(m.warnings).toEqual([]);
      for (const c of Object.values(m.components)) {
        if (c.kind && ["unet", "vae", "clip_text", "clip_vision", "safety_checker"].includes(c.kind)) {
          expect(c.weightFiles, c.name).toHaveLength(1);
          expect(c.weightFiles[0]).toMatch(/\.safetensors$/);
        }
      }
    });
  }
});

describe("HF cache lookup (offline)", () => {
  function cache(): { root: string; commit: string } {
    const root = mkdtempSync(join(tmpdir(), "sdn-hf-"));
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const repo = join(root, "models--acme--tiny-sd");
    mkdirSync(join(repo, "refs"), { recursive: true });
    writeFileSync(join(repo, "refs", "main"), `${commit}\n`);
    mkdirSync(join(repo, "snapshots", commit), { recursive: true });
    const other = "fedcba9876543210fedcba9876543210fedcba98";
    writeFileSync(join(repo, "refs", "fp16"), other);
    mkdirSync(join(repo, "snapshots", other), { recursive: true });
    return { root, commit };
  }

  it("cache root precedence", () => {
    expect(hfCacheRoots({ env: { HF_HUB_CACHE: "/a", HF_HOME: "/b" } })[0]).toEqual({ path: "/a", source: "$HF_HUB_CACHE" });
    expect(hfCacheRoots({ env: { HF_HOME: "/b" } })[0]).toEqual({ path: "/b/hub", source: "$HF_HOME/hub" });
    expect(hfCacheRoots({ env: {}, home: "/h" })[0]).toEqual({ path: "/h/.cache/huggingface/hub", source: "~/.cache/huggingface/hub" });
    expect(hfCacheRoots({ cacheDir: "/c", env: { HF_HUB_CACHE: "/a" } })[0]!.path).toBe("/c");
  });

  it("refs/main, named refs and explicit commits", () => {
    const { root, commit } = cache();
    const s = resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root } });
    expect(s).toMatchObject({ commit, revision: "main", path: join(root, "models--acme--tiny-sd", "snapshots", commit) });
    const home = mkdtempSync(join(tmpdir(), "sdn-home-"));
    mkdirSync(join(home, "hub"));
    cpSync(join(root, "models--acme--tiny-sd"), join(home, "hub", "models--acme--tiny-sd"), { recursive: true });
    expect(resolveHfSnapshot("acme/tiny-sd", { env: { HF_HOME: home } }).cacheRoot).toBe(join(home, "hub"));
    expect(resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root }, revision: "fp16" }).commit).toBe("fedcba9876543210fedcba9876543210fedcba98");
    expect(resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root }, revision: commit }).path).toMatch(new RegExp(`${commit}$`));
  });

  it("not found → NotFoundError listing where it looked", () => {
    const { root } = cache();
    expect(() => resolveHfSnapshot("acme/other", { env: { HF_HUB_CACHE: root } })).toThrow(NotFoundError);
    expect(() => resolveHfSnapshot("acme/other", { env: { HF_HUB_CACHE: root } })).toThrow(
      new RegExp(`Looked in: ${join(root, "models--acme--other")} \\(from \\$HF_HUB_CACHE\\): not present`),
    );
    expect(() => resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root }, revision: "v9" })).toThrow(/refs\/v9: not present/);
    expect(() => resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root }, revision: "a".repeat(40) })).toThrow(NotFoundError);
    expect(() => resolveHfSnapshot("not a repo", {})).toThrow(InvalidArgumentError);
    expect(() => resolveHfSnapshot("acme/tiny-sd", { env: { HF_HUB_CACHE: root }, revision: "../../etc" })).toThrow(InvalidArgumentError);
  });

  it("resolveModelSource: folder, single file, repo id", () => {
    const { root, commit } = cache();
    const snap = join(root, "models--acme--tiny-sd", "snapshots", commit);
    const folder = makeFolder();
    cpSync(folder, snap, { recursive: true });
    const viaRepo = resolveModelSource("acme/tiny-sd", { env: { HF_HUB_CACHE: root } });
    expect(viaRepo.kind).toBe("diffusers");
    if (viaRepo.kind === "diffusers") expect(viaRepo.hf?.commit).toBe(commit);
    expect(resolveModelSource(folder).kind).toBe("diffusers");
    const ck = join(folder, "model.ckpt");
    writeFileSync(ck, "");
    writeFileSync(join(folder, "model.yaml"), "model: {}\n");
    expect(resolveModelSource(ck)).toEqual({ kind: "single-file", path: ck, format: "ckpt", yamlPath: join(folder, "model.yaml") });
    writeFileSync(join(folder, "m.safetensors"), "");
    expect(resolveSingleFile(join(folder, "m.safetensors"))).toMatchObject({ format: "safetensors", yamlPath: null });
    writeFileSync(join(folder, "m.gguf"), "");
    expect(() => resolveSingleFile(join(folder, "m.gguf"))).toThrow(UnsupportedError);
    expect(() => resolveModelSource(join(folder, "nope", "x"))).toThrow(NotFoundError);
  });
});
