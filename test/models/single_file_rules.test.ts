/** Single-file rules on the SD 2.1 fixture (runs without ../shared): detection, options, yaml, errors, warnings. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, NotFoundError, ShapeError, UnsupportedError } from "../../lib/errors.js";
import { loadComponentConfig } from "../../lib/models/configs/index.js";
import { convertSingleFile, inferSingleFileModel } from "../../lib/models/single_file/infer.js";
import { applyMapping, buildTextEncoderMapping, buildUNetMapping, buildVaeMapping } from "../../lib/models/single_file/mapping.js";
import type { TensorInfo } from "../../lib/models/tensor_index.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { readJson, shapeSet, type ParamsDiffusers, type ParamsOriginal, originalIndex } from "./helpers.js";

const fx = (p: string) => repoPath("test/fixtures/models", p);
const sd21 = (): TensorInfo[] => originalIndex(readJson<ParamsOriginal>(fx("sd2-1/params_original.json")));
const yaml = (n: string) => readFileSync(fx(`yaml/${n}.yaml`), "utf8");

describe("single-file: SD 2.1 fixture", () => {
  it("infers sd2-v configs equal to the real config.json files", () => {
    const { model, warnings } = convertSingleFile(sd21());
    expect(model.family).toBe("sd2-v");
    expect(model.predictionType).toBe("v_prediction");
    expect(model.unet).toEqual(loadComponentConfig("unet", fx("sd2-1/unet/config.json")).config);
    expect(model.vae).toEqual(loadComponentConfig("vae", fx("sd2-1/vae/config.json")).config);
    expect(model.textEncoder).toEqual(loadComponentConfig("clip_text", fx("sd2-1/text_encoder/config.json")).config);
    expect(model.decisions.join("\n")).toMatch(/default is the 768-v model/);
    // text_projection, logit_scale and block 23 are reported, not errors
    expect(warnings.some((w) => /text_projection/.test(w))).toBe(true);
    expect(warnings.some((w) => /blocks from index 23/.test(w))).toBe(true);
  });

  it("maps onto exactly the diffusers parameter set", () => {
    const d = readJson<ParamsDiffusers>(fx("sd2-1/params_diffusers.json"));
    const { mapping } = convertSingleFile(sd21());
    for (const comp of ["unet", "vae", "text_encoder"] as const) {
      expect(shapeSet(mapping.components[comp]!.map((t) => ({ name: t.target, shape: t.shape })))).toEqual(
        shapeSet(d[comp]!.map(([name, shape]) => ({ name, shape }))),
      );
    }
    const q = mapping.components.text_encoder!.find((t) => t.target === "text_model.encoder.layers.5.self_attn.v_proj.weight")!;
    expect(q).toMatchObject({ source: "cond_stage_model.model.transformer.resblocks.5.attn.in_proj_weight", rows: [2048, 3072], sourceShape: [3072, 1024], shape: [1024, 1024] });
    const vq = mapping.components.vae!.find((t) => t.target === "decoder.mid_block.attentions.0.to_q.weight")!;
    expect(vq).toMatchObject({ source: "first_stage_model.decoder.mid.attn_1.q.weight", reshape: true, sourceShape: [512, 512, 1, 1], shape: [512, 512] });
    expect(mapping.components.vae!.find((t) => t.target === "decoder.up_blocks.0.upsamplers.0.conv.weight")!.source).toBe(
      "first_stage_model.decoder.up.3.upsample.conv.weight",
    );
  });

  it("512-base via option, imageSize, global_step or yaml", () => {
    for (const o of [{ predictionType: "epsilon" as const }, { imageSize: 512 }, { globalStep: 875000 }, { yaml: yaml("sd2-base") }]) {
      const m = inferSingleFileModel(sd21(), o);
      expect(m.family, JSON.stringify(o).slice(0, 40)).toBe("sd2-base");
      expect(m.predictionType).toBe("epsilon");
      expect(m.unet.sample_size).toBe(64);
      expect(m.unet.upcast_attention).toBe(false);
    }
    const v = inferSingleFileModel(sd21(), { yaml: yaml("sd2-v") });
    expect(v).toMatchObject({ family: "sd2-v", predictionType: "v_prediction" });
    expect(v.unet.attention_head_dim).toEqual([5, 10, 20, 20]);
  });

  it("overrides win and are validated", () => {
    const m = inferSingleFileModel(sd21(), { overrides: { unet: { upcast_attention: false, sample_size: 128 }, vae: { scaling_factor: 0.2 } } });
    expect(m.unet.upcast_attention).toBe(false);
    expect(m.unet.sample_size).toBe(128);
    expect(m.vae.scaling_factor).toBe(0.2);
    expect(() => inferSingleFileModel(sd21(), { overrides: { unet: { upcast_attention: "yes" } } })).toThrow(InvalidArgumentError);
    expect(() => inferSingleFileModel(sd21(), { overrides: { unet: { bogus: 1 } } })).toThrow(/unknown field "bogus"/);
    expect(() => inferSingleFileModel(sd21(), { imageSize: 500 })).toThrow(InvalidArgumentError);
  });

  it("family from input channels", () => {
    const withIn = (c: number) =>
      sd21().map((t) => (t.name === "model.diffusion_model.input_blocks.0.0.weight" ? { ...t, shape: [320, c, 3, 3] } : t));
    expect(inferSingleFileModel(withIn(9)).family).toBe("sd2-inpainting");
    expect(inferSingleFileModel(withIn(5)).family).toBe("sd2-depth");
    expect(() => inferSingleFileModel(withIn(6))).toThrow(UnsupportedError);
  });

  it("extra tensors of real checkpoints are warnings; unknown ones too", () => {
    const extra: TensorInfo[] = [
      { name: "betas", dtype: "F32", shape: [1000] },
      { name: "alphas_cumprod", dtype: "F32", shape: [1000] },
      { name: "model_ema.decay", dtype: "F32", shape: [] },
      { name: "model_ema.num_updates", dtype: "I32", shape: [] },
      { name: "something.odd", dtype: "F16", shape: [3] },
    ];
    const { mapping } = convertSingleFile([...sd21(), ...extra]);
    expect(mapping.ignored).toContainEqual({ name: "betas", reason: "LDM noise-schedule buffer" });
    expect(mapping.ignored).toContainEqual({ name: "model_ema.decay", reason: "EMA copy of the UNet weights" });
    expect(mapping.ignored).toContainEqual({ name: "something.odd", reason: "unknown tensor" });
    expect(mapping.warnings).toContain('ignored unknown tensor "something.odd"');
    expect(mapping.warnings.some((w) => /ignored 2 tensor\(s\): LDM noise-schedule buffer \(betas, alphas_cumprod\)/.test(w))).toBe(true);
  });

  it("missing tensor → NotFoundError naming it; wrong shape → ShapeError with both shapes", () => {
    const idx = sd21();
    const missing = idx.filter((t) => t.name !== "first_stage_model.decoder.up.1.block.2.conv2.bias");
    expect(() => convertSingleFile(missing, { file: "/m/sd21.safetensors" })).toThrow(NotFoundError);
    expect(() => convertSingleFile(missing, { file: "/m/sd21.safetensors" })).toThrow(
      /\/m\/sd21\.safetensors: tensor "first_stage_model\.decoder\.up\.1\.block\.2\.conv2\.bias" not found .*"decoder\.up_blocks\.2\.resnets\.2\.conv2\.bias"/,
    );
    const bad = idx.map((t) => (t.name === "model.diffusion_model.output_blocks.4.1.proj_out.weight" ? { ...t, shape: [1280, 1281] } : t));
    expect(() => convertSingleFile(bad)).toThrow(ShapeError);
    expect(() => convertSingleFile(bad)).toThrow(/output_blocks\.4\.1\.proj_out\.weight" \(for unet "up_blocks\.1\.attentions\.1\.proj_out\.weight"\) has shape \[1280, 1281\], expected \[1280, 1280\]/);
    const noUnet = idx.filter((t) => !t.name.startsWith("model.diffusion_model.input_blocks.0.0."));
    expect(() => convertSingleFile(noUnet)).toThrow(NotFoundError);
  });

  it("a mapping built from configs can be checked against any index", () => {
    const unet = loadComponentConfig("unet", fx("sd2-1/unet/config.json")).config;
    const vae = loadComponentConfig("vae", fx("sd2-1/vae/config.json")).config;
    const te = loadComponentConfig("clip_text", fx("sd2-1/text_encoder/config.json")).config;
    const entries = [...buildUNetMapping(unet as never), ...buildVaeMapping(vae as never), ...buildTextEncoderMapping(te as never, "openclip")];
    const r = applyMapping(sd21(), entries);
    expect(r.ignored.map((i) => i.name).filter((n) => !/resblocks\.23\./.test(n)).sort()).toEqual([
      "cond_stage_model.model.logit_scale",
      "cond_stage_model.model.text_projection",
    ]);
  });
});

describeWithReference("single-file: tiny models through the reverse mapping", () => {
  // diffusers names of the tiny models → original names (our mapping), then inference must recover the
  // tiny configs from shapes alone (heads are not in the shapes: given as an override).
  const models: [string, "clip-hf" | "openclip", Record<string, unknown>][] = [
    ["tiny-sd1", "clip-hf", { family: "sd1" }],
    ["tiny-sd2-v", "openclip", { family: "sd2-v" }],
    ["tiny-sd-inpaint", "openclip", { family: "sd2-inpainting" }],
    ["tiny-sd-upscale", "openclip", { family: "sd-x4-upscaler" }],
  ];
  for (const [name, style, opts] of models) {
    it(name, () => {
      const root = referencePath("models", name);
      const unet = loadComponentConfig("unet", `${root}/unet/config.json`).config as never as import("../../lib/models/configs/unet.js").UNet2DConditionConfig;
      const vae = loadComponentConfig("vae", `${root}/vae/config.json`).config as never as import("../../lib/models/configs/vae.js").AutoencoderKLConfig;
      const te = loadComponentConfig("clip_text", `${root}/text_encoder/config.json`).config as never as import("../../lib/models/configs/clip.js").ClipTextConfig;
      const index: TensorInfo[] = [];
      const seen = new Set<string>();
      for (const e of [...buildUNetMapping(unet), ...buildVaeMapping(vae), ...buildTextEncoderMapping(te, style)]) {
        if (seen.has(e.source)) continue;
        seen.add(e.source);
        index.push({ name: e.source, dtype: "F32", shape: e.sourceShape });
      }
      if (style === "openclip") {
        // the original tower has one block more than diffusers keeps
        const h = te.hidden_size;
        const l = te.num_hidden_layers;
        for (const [s, shape] of [["ln_1.weight", [h]], ["attn.in_proj_weight", [3 * h, h]], ["mlp.c_fc.weight", [te.intermediate_size, h]]] as const) {
          index.push({ name: `cond_stage_model.model.transformer.resblocks.${l}.${s}`, dtype: "F32", shape: [...shape] });
        }
      }
      const { model, mapping } = convertSingleFile(index, {
        ...opts,
        overrides: { unet: { attention_head_dim: unet.attention_head_dim, norm_num_groups: unet.norm_num_groups, sample_size: unet.sample_size, upcast_attention: unet.upcast_attention }, vae: { norm_num_groups: vae.norm_num_groups, sample_size: vae.sample_size, scaling_factor: vae.scaling_factor }, text_encoder: { num_attention_heads: te.num_attention_heads, hidden_act: te.hidden_act, projection_dim: te.projection_dim } },
      } as never);
      expect(model.unet).toEqual(unet);
      expect(model.vae).toEqual(vae);
      expect(model.textEncoder).toEqual(te);
      expect(mapping.ignored.filter((i) => i.reason === "unknown tensor")).toEqual([]);
    });
  }
});

describe("inspectSingleFile (safetensors header + yaml next to it)", () => {
  it("reads the header, picks up <name>.yaml, converts", async () => {
    const { mkdtempSync, writeFileSync, copyFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { inspectSingleFile } = await import("../../lib/models/single_file/load.js");
    const idx = sd21();
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const t of idx) {
      // declare real fp16 sizes; the data section is written as a sparse file
      const n = t.shape.reduce((a, b) => a * b, 1) * 2;
      header[t.name] = { dtype: "F16", shape: t.shape, data_offsets: [off, off + n] };
      off += n;
    }
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const dir = mkdtempSync(join(tmpdir(), "sdn-sf-"));
    const p = join(dir, "v2-1_512.safetensors");
    writeFileSync(p, Buffer.concat([len, json]));
    const { truncateSync } = await import("node:fs");
    truncateSync(p, 8 + json.length + off); // sparse data section
    copyFileSync(fx("yaml/sd2-base.yaml"), join(dir, "v2-1_512.yaml"));
    const r = inspectSingleFile(p);
    expect(r.yamlPath).toBe(join(dir, "v2-1_512.yaml"));
    expect(r.model.family).toBe("sd2-base");
    expect(r.mapping.components.unet![0]!.dtype).toBe("F16");
    const withOpt = inspectSingleFile(p, { yaml: yaml("sd2-v") });
    expect(withOpt.model.family).toBe("sd2-v");
    const ck = join(dir, "x.ckpt");
    writeFileSync(ck, "");
    expect(() => inspectSingleFile(ck)).toThrow(UnsupportedError);
    expect(inspectSingleFile(ck, { index: idx, predictionType: "epsilon" }).model.family).toBe("sd2-base");
  });
});
