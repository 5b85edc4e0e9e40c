// Every parameter name and shape of every real family (params_diffusers.json and params_original.json)
// maps onto the networks the native loader builds: each list is written as a full-size f16 safetensors
// file whose data section is sparse (no disk or memory cost), then loaded — diffusers components with the
// component loaders and the real config.json, original checkpoints with loadSingleFile (family, configs and
// name mapping inferred from the shapes). Building a network checks every tensor by name and shape.
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createContext, loadImageEncoder, loadSingleFile, loadTextEncoder, loadUNet, loadVae, type Context } from "../../lib/index.js";
import { describeWithReference, referenceDir } from "../helpers/reference.js";
import { readParams, subdirs, whenReference, type ParamsDiffusers, type ParamsOriginal } from "./helpers.js";

/** A safetensors file with these F16 tensors; the data section is a hole (reads as zeros). */
function writeSparseSafetensors(path: string, tensors: { name: string; shape: number[] }[]): void {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 2;
    header[t.name] = { dtype: "F16", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(path, "w");
  writeSync(fd, len);
  writeSync(fd, json);
  ftruncateSync(fd, 8 + Buffer.byteLength(json) + offset);
  closeSync(fd);
}

const families = whenReference(() => subdirs(join(referenceDir()!, "configs")), "none");

// What shapes cannot tell for SD2 (512-base vs 768-v have identical shapes): the documented options.
const SINGLE_FILE_OPTIONS: Record<string, Record<string, unknown>> = {
  "stabilityai--stable-diffusion-2-1-base": { imageSize: 512 },
};
const EXPECTED_FAMILY: Record<string, string> = {
  "CompVis--stable-diffusion-v1-4": "sd1",
  "runwayml--stable-diffusion-v1-5": "sd1",
  "stabilityai--stable-diffusion-2-1": "sd2-v",
  "stabilityai--stable-diffusion-2-1-base": "sd2-base",
  "stabilityai--stable-diffusion-2-inpainting": "sd2-inpainting",
  "stabilityai--stable-diffusion-2-depth": "sd2-depth",
  "stabilityai--stable-diffusion-x4-upscaler": "sd-x4-upscaler",
};

describeWithReference("full-size parameter lists load into the native networks (sparse files)", () => {
  let ctx: Context;
  let tmp: string;
  beforeAll(async () => {
    ctx = await createContext({ device: "cpu" });
    tmp = mkdtempSync(join(tmpdir(), "sdn-fullsize-"));
  });
  afterAll(() => {
    ctx?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const family of families) {
    it(`${family}: every diffusers component builds with no missing, mis-shaped or unused tensor`, async () => {
      const root = join(referenceDir()!, "configs", family);
      if (!existsSync(join(root, "params_diffusers.json"))) return;
      const params = readParams<ParamsDiffusers>(join(root, "params_diffusers.json"));
      const loaders = {
        unet: [loadUNet, "diffusion_pytorch_model.safetensors"],
        vae: [loadVae, "diffusion_pytorch_model.safetensors"],
        text_encoder: [loadTextEncoder, "model.safetensors"],
        image_encoder: [loadImageEncoder, "model.safetensors"],
        safety_checker: [loadImageEncoder, "model.safetensors"],
      } as const;
      let built = 0;
      for (const [component, list] of Object.entries(params)) {
        const entry = loaders[component as keyof typeof loaders];
        // A repo that is one component (the safety checker's) keeps its config.json at the top.
        const configPath = existsSync(join(root, component, "config.json")) ? join(root, component, "config.json") : join(root, "config.json");
        if (!entry || !existsSync(configPath)) continue;
        const dir = join(tmp, family, component);
        mkdirSync(dir, { recursive: true });
        copyFileSync(configPath, join(dir, "config.json"));
        writeSparseSafetensors(join(dir, entry[1]), list.map(([name, shape]) => ({ name, shape })));
        const net = await entry[0](ctx, dir);
        // The safety checker's concept tensors are read by the TypeScript checker, not the vision tower.
        const unused = net.unusedTensors.filter((n) => !/^(concept_embeds|special_care_embeds)(_weights)?$/.test(n));
        expect(unused, `${family}/${component}`).toEqual([]);
        net.dispose();
        built++;
      }
      expect(built).toBeGreaterThan(0);
    });

    it(`${family}: the original single-file checkpoint loads through family inference and name mapping`, async () => {
      const root = join(referenceDir()!, "configs", family);
      if (!existsSync(join(root, "params_original.json"))) return;
      const params = readParams<ParamsOriginal>(join(root, "params_original.json"));
      const tensors: { name: string; shape: number[] }[] = [];
      for (const comp of ["unet", "vae", "text_encoder"] as const) for (const e of params[comp] ?? []) tensors.push({ name: e[0], shape: e[1] });
      const file = join(tmp, `${family}.safetensors`);
      writeSparseSafetensors(file, tensors);
      const loaded = await loadSingleFile(ctx, file, SINGLE_FILE_OPTIONS[family] ?? {});
      if (EXPECTED_FAMILY[family]) expect(loaded.conversion.model.family).toBe(EXPECTED_FAMILY[family]);
      expect(loaded.unet.unusedTensors).toEqual([]);
      expect(loaded.vae.unusedTensors).toEqual([]);
      expect(loaded.textEncoder?.unusedTensors ?? []).toEqual([]);
      loaded.unet.dispose();
      loaded.vae.dispose();
      loaded.textEncoder?.dispose();
    });
  }
});
