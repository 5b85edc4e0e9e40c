import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadComponentConfig, type ComponentConfig } from "../../lib/models/configs/index.js";
import {
  expectedClipTextParams, expectedClipVisionParams, expectedSafetyCheckerParams, expectedUNetParams, expectedVaeParams,
  type ParamSpec,
} from "../../lib/models/params/expected.js";
import { readSafetensorsIndex } from "../../lib/models/safetensors_header.js";
import { describeWithReference, referencePath, repoPath } from "../helpers/reference.js";
import { maybe, readParams, shapeSet, subdirs, whenReference, type ParamsDiffusers } from "./helpers.js";

const COMPONENT_KIND: Record<string, ComponentConfig["kind"]> = {
  unet: "unet", vae: "vae", text_encoder: "clip_text", image_encoder: "clip_vision", safety_checker: "safety_checker",
};

function expectedFor(cc: ComponentConfig): ParamSpec[] {
  switch (cc.kind) {
    case "unet": return expectedUNetParams(cc.config);
    case "vae": return expectedVaeParams(cc.config);
    case "clip_text": return expectedClipTextParams(cc.config);
    case "clip_vision": return expectedClipVisionParams(cc.config);
    case "safety_checker": return expectedSafetyCheckerParams(cc.config);
    default: throw new Error(`no params for ${cc.kind}`);
  }
}

describeWithReference("expected parameters == params_diffusers.json (real configs)", () => {
  const root = whenReference(() => [referencePath("configs")], "")[0]!;
  for (const fam of whenReference(() => subdirs(root), "(reference absent)")) {
    const params = root ? readParams<ParamsDiffusers>(join(root, fam, "params_diffusers.json")) : { none: [] };
    for (const [comp, list] of Object.entries(params)) {
      it(`${fam} ${comp}`, () => {
        // The safety-checker repo holds its config at the root.
        const cfgPath = maybe(join(root, fam, comp, "config.json")) ?? join(root, fam, "config.json");
        const cc = loadComponentConfig(COMPONENT_KIND[comp]!, cfgPath);
        const got = expectedFor(cc);
        expect(shapeSet(got)).toEqual(shapeSet(list.map(([name, shape]) => ({ name, shape }))));
        expect(got.length).toBe(list.length);
      });
    }
  }
});

describeWithReference("expected parameters == safetensors headers (tiny models)", () => {
  const root = whenReference(() => [referencePath("models")], "")[0]!;
  for (const model of whenReference(() => subdirs(root), "(reference absent)")) {
    for (const comp of root ? subdirs(join(root, model)) : ["unet"]) {
      if (!(comp in COMPONENT_KIND)) continue;
      it(`${model} ${comp}`, () => {
        const cc = loadComponentConfig(COMPONENT_KIND[comp]!, join(root, model, comp, "config.json"));
        const file = maybe(join(root, model, comp, "diffusion_pytorch_model.safetensors")) ?? join(root, model, comp, "model.safetensors");
        const header = readSafetensorsIndex(file);
        expect(shapeSet(expectedFor(cc))).toEqual(shapeSet(header));
      });
    }
  }
});

describe("expected parameters (fixtures, no reference needed)", () => {
  it("tiny-sd2 UNet fixture config matches its parameter list", async () => {
    const cc = loadComponentConfig("unet", repoPath("test/fixtures/models/tiny-sd2-v/unet/config.json"));
    const { readFileSync } = await import("node:fs");
    const list = JSON.parse(readFileSync(repoPath("test/fixtures/models/tiny-sd2-v/unet_params.json"), "utf8")) as [string, number[]][];
    expect(shapeSet(expectedFor(cc))).toEqual(shapeSet(list.map(([name, shape]) => ({ name, shape }))));
  });
});

describe("verifyWeights", () => {
  it("missing → NotFoundError, mis-shaped → ShapeError, extras → warnings", async () => {
    const { verifyWeights } = await import("../../lib/models/params/verify.js");
    const { NotFoundError, ShapeError } = await import("../../lib/errors.js");
    const { readFileSync } = await import("node:fs");
    const cc = loadComponentConfig("unet", repoPath("test/fixtures/models/tiny-sd2-v/unet/config.json"));
    const expected = expectedFor(cc);
    const list = (JSON.parse(readFileSync(repoPath("test/fixtures/models/tiny-sd2-v/unet_params.json"), "utf8")) as [string, number[]][]).map(
      ([name, shape]) => ({ name, shape, dtype: "F16" as const }),
    );
    const ok = verifyWeights(expected, [...list, { name: "x.position_ids", shape: [1, 77], dtype: "I64" }, { name: "stray", shape: [1], dtype: "F32" }], { file: "u.safetensors", component: "unet" });
    expect(ok.tensors).toHaveLength(expected.length);
    expect(ok.tensors[0]!.dtype).toBe("F16");
    expect(ok.warnings).toEqual(["u.safetensors: unet ignored 1 position_ids buffer(s)", 'u.safetensors: unet ignored unexpected tensor "stray"']);
    expect(() => verifyWeights(expected, list.filter((t) => t.name !== "conv_out.bias"), { file: "u.safetensors" })).toThrow(NotFoundError);
    expect(() => verifyWeights(expected, list.filter((t) => t.name !== "conv_out.bias"), { file: "u.safetensors" })).toThrow(/u\.safetensors: tensor "conv_out\.bias" is missing \(expected shape \[4\]\)/);
    const bad = list.map((t) => (t.name === "conv_in.weight" ? { ...t, shape: [8, 9, 3, 3] } : t));
    expect(() => verifyWeights(expected, bad)).toThrow(ShapeError);
    expect(() => verifyWeights(expected, bad)).toThrow(/"conv_in\.weight" has shape \[8, 9, 3, 3\], expected \[8, 4, 3, 3\]/);
  });
});

describe("expected parameters: flags", () => {
  const raw = async () => {
    const { readFileSync } = await import("node:fs");
    return JSON.parse(readFileSync(repoPath("test/fixtures/models/tiny-sd2-v/unet/config.json"), "utf8")) as Record<string, unknown>;
  };
  const shapeOf = (list: ParamSpec[], n: string) => list.find((p) => p.name === n)?.shape;

  it("only_cross_attention: attn1 reads the context in down/up blocks, never in the mid block", async () => {
    const { parseUNetConfig } = await import("../../lib/models/configs/unet.js");
    const c = parseUNetConfig({ ...(await raw()), only_cross_attention: true }, { file: "t" });
    const p = expectedUNetParams(c);
    expect(shapeOf(p, "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k.weight")).toEqual([8, 16]);
    expect(shapeOf(p, "up_blocks.3.attentions.2.transformer_blocks.0.attn1.to_v.weight")).toEqual([8, 16]);
    expect(shapeOf(p, "mid_block.attentions.0.transformer_blocks.0.attn1.to_k.weight")).toEqual([32, 32]);
  });

  it("class embeddings, scale_shift, transformer depth, unsupported features", async () => {
    const { parseUNetConfig } = await import("../../lib/models/configs/unet.js");
    const { UnsupportedError } = await import("../../lib/errors.js");
    const base = await raw();
    const p = expectedUNetParams(parseUNetConfig({ ...base, num_class_embeds: 10, resnet_time_scale_shift: "scale_shift", transformer_layers_per_block: 2 }, { file: "t" }));
    expect(shapeOf(p, "class_embedding.weight")).toEqual([10, 32]);
    expect(shapeOf(p, "down_blocks.0.resnets.0.time_emb_proj.weight")).toEqual([16, 32]);
    expect(shapeOf(p, "down_blocks.1.attentions.1.transformer_blocks.1.norm3.weight")).toEqual([16]);
    const t = expectedUNetParams(parseUNetConfig({ ...base, class_embed_type: "timestep" }, { file: "t" }));
    expect(shapeOf(t, "class_embedding.linear_1.weight")).toEqual([32, 8]);
    for (const bad of [{ addition_embed_type: "text" }, { dual_cross_attention: true }, { mid_block_type: "UNetMidBlock2DSimpleCrossAttn" }, { down_block_types: ["SimpleCrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"] }]) {
      expect(() => expectedUNetParams(parseUNetConfig({ ...base, ...bad }, { file: "t" }))).toThrow(UnsupportedError);
    }
  });
});
