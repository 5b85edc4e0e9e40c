import { join } from "node:path";
import { expect, it } from "vitest";
import { loadComponentConfig } from "../../lib/models/configs/index.js";
import { expectedClipTextParams, expectedUNetParams, expectedVaeParams } from "../../lib/models/params/expected.js";
import { convertSingleFile, type SingleFileOptions } from "../../lib/models/single_file/infer.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";
import { originalIndex, readParams, shapeSet, subdirs, whenReference, type ParamsDiffusers, type ParamsOriginal } from "./helpers.js";

/** Options a user would pass for families whose tensors are identical to another's. */
const FAMILY_OPTIONS: Record<string, SingleFileOptions> = {
  "stabilityai--stable-diffusion-2-1-base": { predictionType: "epsilon" },
  "lambdalabs--sd-image-variations-diffusers": { family: "sd-image-variations" },
};
const EXPECTED_FAMILY: Record<string, string> = {
  "CompVis--stable-diffusion-v1-4": "sd1",
  "runwayml--stable-diffusion-v1-5": "sd1",
  "lambdalabs--sd-image-variations-diffusers": "sd-image-variations",
  "stabilityai--stable-diffusion-2-1": "sd2-v",
  "stabilityai--stable-diffusion-2-1-base": "sd2-base",
  "stabilityai--stable-diffusion-2-depth": "sd2-depth",
  "stabilityai--stable-diffusion-2-inpainting": "sd2-inpainting",
  "stabilityai--stable-diffusion-x4-upscaler": "sd-x4-upscaler",
};

describeWithReference("single-file checkpoints: every family in reference/configs", () => {
  const root = whenReference(() => [referencePath("configs")], "")[0]!;
  const families = whenReference(() => subdirs(root).filter((f) => f in EXPECTED_FAMILY), "(reference absent)");
  it("covers every family folder that has params_original.json", () => {
    const withOriginal = subdirs(root).filter((f) => {
      try {
        readParams(join(root, f, "params_original.json"));
        return true;
      } catch {
        return false;
      }
    });
    expect(families).toEqual(withOriginal);
  });

  for (const fam of families) {
    const orig = () => readParams<ParamsOriginal>(join(root, fam, "params_original.json"));
    const diff = () => readParams<ParamsDiffusers>(join(root, fam, "params_diffusers.json"));

    it(`${fam}: (i) inferred configs equal config.json`, () => {
      const { model } = convertSingleFile(originalIndex(orig()), FAMILY_OPTIONS[fam]);
      expect(model.family).toBe(EXPECTED_FAMILY[fam]);
      expect(model.unet).toEqual(loadComponentConfig("unet", join(root, fam, "unet", "config.json")).config);
      expect(model.vae).toEqual(loadComponentConfig("vae", join(root, fam, "vae", "config.json")).config);
      if (orig().text_encoder) {
        expect(model.textEncoder).toEqual(loadComponentConfig("clip_text", join(root, fam, "text_encoder", "config.json")).config);
      } else {
        expect(model.textEncoder).toBeNull();
      }
      const sched = loadComponentConfig("scheduler", join(root, fam, "scheduler", "scheduler_config.json"));
      if (sched.kind !== "scheduler") throw new Error("kind");
      expect(model.predictionType).toBe(sched.config.config.prediction_type ?? "epsilon");
    });

    it(`${fam}: (ii) mapping covers params_original -> params_diffusers exactly`, () => {
      const o = orig();
      const d = diff();
      const conv = convertSingleFile(originalIndex(o), FAMILY_OPTIONS[fam]);
      for (const comp of ["unet", "vae", "text_encoder"] as const) {
        const mapped = conv.mapping.components[comp];
        if (!o[comp]) {
          expect(mapped).toBeUndefined();
          continue;
        }
        // diffusers side: exactly params_diffusers
        expect(shapeSet(mapped!.map((t) => ({ name: t.target, shape: t.shape })))).toEqual(
          shapeSet(d[comp]!.map(([name, shape]) => ({ name, shape }))),
        );
        // each original tensor maps to the diffusers name the reference says
        const byTarget = new Map(mapped!.map((t) => [t.target, t]));
        if (comp === "text_encoder" && o.text_encoder_hf_to_original_map) {
          for (const [target, src] of Object.entries(o.text_encoder_hf_to_original_map)) {
            const t = byTarget.get(target)!;
            const m = /^(.*)\[([qkv])\]$/.exec(src);
            if (m) {
              expect(t.source).toBe(m[1]);
              const h = t.shape[0]!;
              const part = "qkv".indexOf(m[2]!);
              expect(t.rows).toEqual([part * h, (part + 1) * h]);
            } else {
              expect(t.source).toBe(src);
              expect(t.rows).toBeUndefined();
            }
          }
        } else {
          const bySource = new Map(mapped!.map((t) => [t.source, t]));
          for (const [src, shape, , target] of o[comp] as [string, number[], string, string][]) {
            const t = bySource.get(src);
            expect(t, src).toBeDefined();
            expect(t!.target).toBe(target);
            expect(t!.sourceShape).toEqual(shape);
          }
        }
        // original side: every listed original tensor is used, except the documented SD2 extras
        const used = new Set(mapped!.map((t) => t.source));
        const unused = o[comp]!.map((e) => e[0]).filter((n) => !used.has(n));
        if (comp === "text_encoder" && conv.model.textEncoderStyle === "openclip") {
          const last = conv.model.textEncoder!.num_hidden_layers;
          for (const n of unused) {
            expect(n).toMatch(new RegExp(`^cond_stage_model\\.model\\.(text_projection|logit_scale|transformer\\.resblocks\\.${last}\\.)`));
          }
          expect(unused).toContain("cond_stage_model.model.text_projection");
          expect(unused).toContain("cond_stage_model.model.logit_scale");
        } else {
          expect(unused).toEqual([]);
        }
      }
      // nothing unknown
      expect(conv.mapping.ignored.filter((i) => i.reason === "unknown tensor")).toEqual([]);
    });

    it(`${fam}: mapping built from the real configs equals the inferred one`, () => {
      const cfg = (c: string) => join(root, fam, c, "config.json");
      const unet = loadComponentConfig("unet", cfg("unet")).config;
      const vae = loadComponentConfig("vae", cfg("vae")).config;
      const { model } = convertSingleFile(originalIndex(orig()), FAMILY_OPTIONS[fam]);
      if (unet && vae) {
        expect(shapeSet(expectedUNetParams(model.unet))).toEqual(shapeSet(expectedUNetParams(unet as never)));
        expect(shapeSet(expectedVaeParams(model.vae))).toEqual(shapeSet(expectedVaeParams(vae as never)));
      }
      if (model.textEncoder) expect(expectedClipTextParams(model.textEncoder).length).toBe(diff().text_encoder!.length);
    });
  }

  it("SD1 variants: inpainting (9 channels) and image variations (image encoder instead of text)", () => {
    const o = readParams<ParamsOriginal>(join(root, "CompVis--stable-diffusion-v1-4", "params_original.json"));
    const idx = originalIndex(o);
    const inpaint = idx.map((t) => (t.name === "model.diffusion_model.input_blocks.0.0.weight" ? { ...t, shape: [320, 9, 3, 3] } : t));
    const a = convertSingleFile(inpaint);
    expect(a.model).toMatchObject({ family: "sd1-inpainting", pipelineClass: "StableDiffusionInpaintPipeline", predictionType: "epsilon" });
    expect(a.model.unet.in_channels).toBe(9);
    const imgvar = [
      ...idx.filter((t) => !t.name.startsWith("cond_stage_model.")),
      { name: "cond_stage_model.transformer.vision_model.embeddings.class_embedding", dtype: "F32" as const, shape: [1024] },
    ];
    const b = convertSingleFile(imgvar);
    expect(b.model.family).toBe("sd-image-variations");
    expect(b.model.textEncoder).toBeNull();
    expect(b.mapping.ignored).toEqual([
      { name: "cond_stage_model.transformer.vision_model.embeddings.class_embedding", reason: "original image encoder (not converted; load the diffusers image_encoder)" },
    ]);
    // SD1 real-checkpoint extras
    const c = convertSingleFile([
      ...idx,
      { name: "cond_stage_model.transformer.text_model.embeddings.position_ids", dtype: "I64", shape: [1, 77] },
      { name: "model_ema.diffusion_modelinput_blocks00weight", dtype: "F32", shape: [320, 4, 3, 3] },
    ]);
    expect(c.mapping.ignored.map((i) => i.reason).sort()).toEqual(["EMA copy of the UNet weights", "position_ids buffer"]);
    expect(c.model.textEncoderStyle).toBe("clip-hf");
  });
});
