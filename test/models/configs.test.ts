import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError, NotFoundError } from "../../lib/errors.js";
import {
  componentKindForClass, loadComponentConfig, loadModelIndex, parseClipTextConfig, parseComponentConfig,
  parseImageProcessorConfig, parseSafetyCheckerConfig, parseUNetConfig, parseVaeConfig, readJsonFile,
  unetHeadsPerLevel, type ComponentKind,
} from "../../lib/models/configs/index.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { readJson, whenReference } from "./helpers.js";

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** Kind of a config file from its place in a pipeline folder. */
function kindOf(path: string): ComponentKind | "model_index" | null {
  const name = path.split("/").pop()!;
  if (name === "model_index.json") return "model_index";
  if (name === "scheduler_config.json") return "scheduler";
  if (name === "preprocessor_config.json") return "image_processor";
  if (name !== "config.json") return null;
  const raw = readJson<Record<string, unknown>>(path);
  const cls = (raw._class_name as string | undefined) ?? (raw.architectures as string[] | undefined)?.[0];
  return cls ? componentKindForClass(cls) : null;
}

describeWithReference("every reference config parses", () => {
  const files = whenReference(
    () =>
      [...walk(referencePath("configs")), ...walk(referencePath("models"))].filter(
        (f) => f.endsWith(".json") && !/params_|notes\.json|card\.json|tokenizer|special_tokens/.test(f),
      ),
    "(reference absent)",
  );
  it("finds the config files", () => {
    expect(files.length).toBeGreaterThan(70);
  });
  for (const f of files) {
    it(f.startsWith("(") ? f : relative(referencePath(), f), () => {
      const kind = kindOf(f);
      expect(kind, "every config file has a known kind").not.toBeNull();
      if (kind === "model_index") {
        const mi = loadModelIndex(f);
        expect(mi.pipelineClass).toMatch(/Pipeline$/);
        expect(Object.keys(mi.components)).toContain("unet");
      } else {
        const cc = loadComponentConfig(kind!, f);
        expect(cc.kind).toBe(kind);
      }
    });
  }

  it("fills diffusers defaults for old configs (SD1 UNet written by diffusers 0.2)", () => {
    const c = loadComponentConfig("unet", referencePath("configs/CompVis--stable-diffusion-v1-4/unet/config.json"));
    if (c.kind !== "unet") throw new Error();
    expect(c.config.use_linear_projection).toBe(false);
    expect(c.config.upcast_attention).toBe(false);
    expect(c.config.only_cross_attention).toBe(false);
    expect(c.config.num_class_embeds).toBeNull();
    expect(c.config.transformer_layers_per_block).toBe(1);
    expect(c.config.mid_block_type).toBe("UNetMidBlock2DCrossAttn");
    expect(c.config.time_embedding_type).toBe("positional");
    expect(c.config.resnet_time_scale_shift).toBe("default");
    expect(unetHeadsPerLevel(c.config)).toEqual([8, 8, 8, 8]);
  });

  it("SD2 heads list and upscaler flags", () => {
    const sd2 = loadComponentConfig("unet", referencePath("configs/stabilityai--stable-diffusion-2-1/unet/config.json"));
    const up = loadComponentConfig("unet", referencePath("configs/stabilityai--stable-diffusion-x4-upscaler/unet/config.json"));
    if (sd2.kind !== "unet" || up.kind !== "unet") throw new Error();
    expect(unetHeadsPerLevel(sd2.config)).toEqual([5, 10, 20, 20]);
    expect(sd2.config.upcast_attention).toBe(true);
    expect(up.config.only_cross_attention).toEqual([true, true, true, false]);
    expect(up.config.num_class_embeds).toBe(1000);
  });

  it("VAE scaling_factor default and upscaler value", () => {
    const a = loadComponentConfig("vae", referencePath("configs/CompVis--stable-diffusion-v1-4/vae/config.json"));
    const b = loadComponentConfig("vae", referencePath("configs/stabilityai--stable-diffusion-x4-upscaler/vae/config.json"));
    expect(a.config).toMatchObject({ scaling_factor: 0.18215, latent_channels: 4, force_upcast: true });
    expect(b.config).toMatchObject({ scaling_factor: 0.08333, block_out_channels: [128, 256, 512] });
  });

  it("safety checker nests text/vision configs", () => {
    const s = loadComponentConfig("safety_checker", referencePath("configs/CompVis--stable-diffusion-safety-checker/config.json"));
    if (s.kind !== "safety_checker") throw new Error();
    expect(s.config.projection_dim).toBe(768);
    expect(s.config.vision_config).toMatchObject({ hidden_size: 1024, num_hidden_layers: 24, patch_size: 14, image_size: 224 });
    expect(s.config.text_config).toMatchObject({ hidden_size: 768, num_hidden_layers: 12, hidden_act: "quick_gelu" });
  });

  it("image processors: CLIP sizes normalized, DPT recognised", () => {
    const clip = loadComponentConfig("image_processor", referencePath("configs/CompVis--stable-diffusion-v1-4/feature_extractor/preprocessor_config.json"));
    expect(clip.config).toMatchObject({ kind: "clip", size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, resample: 3, do_rescale: true });
    const dpt = loadComponentConfig("image_processor", referencePath("configs/stabilityai--stable-diffusion-2-depth/feature_extractor/preprocessor_config.json"));
    expect(dpt.config).toMatchObject({ kind: "dpt", size: { height: 384, width: 384 }, keep_aspect_ratio: false, image_mean: [0.5, 0.5, 0.5] });
  });

  it("model_index: absent components and options", () => {
    const mi = loadModelIndex(referencePath("configs/stabilityai--stable-diffusion-x4-upscaler/model_index.json"));
    expect(mi.options.max_noise_level).toBe(350);
    const sd2 = loadModelIndex(referencePath("configs/stabilityai--stable-diffusion-2-1/model_index.json"));
    expect(sd2.absent).toEqual(["safety_checker"]);
    expect(sd2.components.scheduler).toEqual({ library: "diffusers", className: "DDIMScheduler" });
  });
});

describe("config errors", () => {
  const base = () => readJson<Record<string, unknown>>(repoPath("test/fixtures/models/sd2-1/unet/config.json"));
  const ctx = { file: "/x/unet/config.json" };

  it("fixture configs parse", () => {
    for (const c of ["unet", "vae", "text_encoder"]) {
      const kind = ({ unet: "unet", vae: "vae", text_encoder: "clip_text" } as const)[c as "unet"];
      expect(loadComponentConfig(kind, repoPath(`test/fixtures/models/sd2-1/${c}/config.json`)).kind).toBe(kind);
    }
  });

  it("unknown field → FormatError naming file and field", () => {
    expect(() => parseUNetConfig({ ...base(), attention_heads: 8 }, ctx)).toThrow(FormatError);
    expect(() => parseUNetConfig({ ...base(), attention_heads: 8 }, ctx)).toThrow(/\/x\/unet\/config\.json: unknown field "attention_heads"/);
  });

  it("unknown fields can be downgraded to warnings", () => {
    const warnings: string[] = [];
    parseUNetConfig({ ...base(), some_future_flag: true }, { ...ctx, strict: false, warnings });
    expect(warnings).toEqual([`/x/unet/config.json: unknown field "some_future_flag"`]);
  });

  it("ill-typed fields → FormatError", () => {
    const cases: [string, unknown, RegExp][] = [
      ["attention_head_dim", "8", /field "attention_head_dim" must be a positive integer/],
      ["attention_head_dim", [5, 10, "20", 20], /field "attention_head_dim\[2\]"/],
      ["only_cross_attention", "yes", /field "only_cross_attention" must be a boolean/],
      ["block_out_channels", 320, /field "block_out_channels" must be a list/],
      ["down_block_types", ["CrossAttnDownBlock2D", "Nope", "CrossAttnDownBlock2D", "DownBlock2D"], /down_block_types\[1\]/],
      ["norm_eps", null, /field "norm_eps" must be a finite number/],
      ["num_class_embeds", 1.5, /num_class_embeds/],
      ["_class_name", "AutoencoderKL", /_class_name/],
    ];
    for (const [k, v, re] of cases) {
      expect(() => parseUNetConfig({ ...base(), [k]: v }, ctx), k).toThrow(re);
    }
  });

  it("inconsistent lengths → FormatError", () => {
    expect(() => parseUNetConfig({ ...base(), block_out_channels: [320, 640, 1280] }, ctx)).toThrow(/block_out_channels" has 3 entries/);
    expect(() => parseUNetConfig({ ...base(), attention_head_dim: [5, 10] }, ctx)).toThrow(/attention_head_dim" has 2 entries/);
  });

  it("missing required fields → FormatError", () => {
    const raw = base();
    delete raw.block_out_channels;
    expect(() => parseUNetConfig(raw, ctx)).toThrow(/required field "block_out_channels" is missing/);
    expect(() => parseVaeConfig({ block_out_channels: [1] }, ctx)).toThrow(/required field "latent_channels"/);
    expect(() => parseClipTextConfig({ hidden_size: 8 }, ctx)).toThrow(/required field "intermediate_size"/);
  });

  it("CLIP checks: heads divide width, model_type, nested field names", () => {
    const t = readJson<Record<string, unknown>>(repoPath("test/fixtures/models/sd2-1/text_encoder/config.json"));
    expect(() => parseClipTextConfig({ ...t, num_attention_heads: 15 }, ctx)).toThrow(/not divisible/);
    expect(() => parseClipTextConfig({ ...t, model_type: "bert" }, ctx)).toThrow(/model_type/);
    expect(() => parseClipTextConfig({ ...t, hidden_act: "swish" }, ctx)).toThrow(/hidden_act/);
    expect(() =>
      parseSafetyCheckerConfig({ text_config: { ...t, hidden_size: "x" }, vision_config: {} }, ctx),
    ).toThrow(/field "text_config\.hidden_size"/);
  });

  it("image processor type errors", () => {
    expect(() => parseImageProcessorConfig({ feature_extractor_type: "ViTFeatureExtractor" }, ctx)).toThrow(FormatError);
    expect(() => parseImageProcessorConfig({ size: { longest: 3 } }, ctx)).toThrow(/field "size"/);
    expect(() => parseImageProcessorConfig({ image_mean: [1, 2] }, ctx)).toThrow(/image_mean/);
  });

  it("scheduler config is kept raw but must name a scheduler", () => {
    const s = parseComponentConfig("scheduler", { _class_name: "DDIMScheduler", prediction_type: "v_prediction" }, ctx);
    expect(s).toEqual({ kind: "scheduler", config: { className: "DDIMScheduler", config: { _class_name: "DDIMScheduler", prediction_type: "v_prediction" } } });
    expect(() => parseComponentConfig("scheduler", { beta_start: 1 }, ctx)).toThrow(/_class_name/);
  });

  it("readJsonFile: NotFoundError / FormatError with the path", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const d = mkdtempSync(join(tmpdir(), "sdn-cfg-"));
    writeFileSync(join(d, "bad.json"), "{ nope");
    expect(() => readJsonFile(join(d, "bad.json"))).toThrow(FormatError);
    expect(() => readJsonFile(join(d, "bad.json"))).toThrow(new RegExp(`${d}/bad.json: not valid JSON`));
    expect(() => readJsonFile(join(d, "missing.json"))).toThrow(NotFoundError);
  });
});
