/**
 * Writing a random-weight diffusers model folder from a folder of configs (model_index.json plus each
 * component's config): the parameter list of every network is derived from its config (lib/models
 * expected*Params), and the weights are streamed into .safetensors files chunk by chunk, so multi-GB models
 * never sit in memory.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { FormatError, InvalidArgumentError, NotFoundError } from "../errors.js";
import {
  expectedClipTextParams, expectedClipVisionParams, expectedSafetyCheckerParams, expectedUNetParams, expectedVaeParams,
  loadModelIndex, parseClipTextConfig, parseClipVisionConfig, parseSafetyCheckerConfig, parseUNetConfig, parseVaeConfig,
  readJsonFile, type ParamSpec,
} from "../models/index.js";
import { packageRoot } from "../native.js";

export type RandomDType = "f16" | "f32";

export interface MakeRandomModelOptions {
  /** Folder with model_index.json and one folder per component holding its config. */
  configDir: string;
  outDir: string;
  dtype?: RandomDType;
  seed?: number;
  /** Replace a non-empty output folder. */
  force?: boolean;
  /** Called as bytes are written. */
  onProgress?: (written: number, total: number, file: string) => void;
}

export interface WrittenComponent {
  name: string;
  className: string;
  files: string[];
  params?: number;
  bytes?: number;
  /** A component class this tool has no weights for (folder copied as is, or left out). */
  note?: string;
}

export interface MakeRandomModelResult {
  outDir: string;
  dtype: RandomDType;
  seed: number;
  components: WrittenComponent[];
  totalParams: number;
  totalBytes: number;
  warnings: string[];
}

// ---- random numbers: xoshiro128** + Box-Muller ------------------------------------------------------------

class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;
  constructor(seed: number) {
    // splitmix32 to fill the state
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  /** uniform in (0, 1) */
  uniform(): number {
    return (this.nextU32() + 0.5) / 4294967296;
  }
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    const u1 = this.uniform(), u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** float -> IEEE half bits, round to nearest even. */
export function floatToHalf(v: number): number {
  F32[0] = v;
  const x = U32[0]!;
  const sign = (x >>> 16) & 0x8000;
  let exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  exp = exp - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (exp << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

// ---- init rules -----------------------------------------------------------------------------------------

/** How a parameter is initialised: constant value, or normal * std. */
export function initRule(name: string, shape: readonly number[]): { constant: number } | { std: number } {
  if (name === "concept_embeds_weights" || name === "special_care_embeds_weights") return { constant: 1 }; // thresholds no random image reaches
  if (name.endsWith(".bias")) return { constant: 0 };
  if (shape.length === 1 && name.endsWith(".weight")) return { constant: 1 }; // GroupNorm / LayerNorm scales
  return { std: 0.02 };
}

// ---- streaming safetensors writer --------------------------------------------------------------------------

const CHUNK_ELEMS = 1 << 20;

/** Writes a safetensors file of random tensors, streaming; returns the byte count. */
export async function writeRandomSafetensors(
  path: string,
  params: readonly ParamSpec[],
  dtype: RandomDType,
  rng: Rng,
  onBytes?: (n: number) => void,
): Promise<number> {
  const elemBytes = dtype === "f16" ? 2 : 4;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const p of params) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    header[p.name] = { dtype: dtype === "f16" ? "F16" : "F32", shape: p.shape, data_offsets: [offset, offset + n * elemBytes] };
    offset += n * elemBytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += " ";
  const headerBytes = Buffer.from(json, "utf8");
  const tmp = `${path}.partial`;
  const fh = await open(tmp, "w");
  try {
    const lenBuf = Buffer.alloc(8);
    lenBuf.writeBigUInt64LE(BigInt(headerBytes.length));
    await fh.write(lenBuf);
    await fh.write(headerBytes);
    const buf = Buffer.alloc(CHUNK_ELEMS * 4);
    const f32 = new Float32Array(buf.buffer, buf.byteOffset, CHUNK_ELEMS);
    const u16 = new Uint16Array(buf.buffer, buf.byteOffset, CHUNK_ELEMS);
    for (const p of params) {
      const n = p.shape.reduce((a, b) => a * b, 1);
      const rule = initRule(p.name, p.shape);
      for (let done = 0; done < n; done += CHUNK_ELEMS) {
        const m = Math.min(CHUNK_ELEMS, n - done);
        if (dtype === "f32") {
          if ("constant" in rule) f32.fill(rule.constant, 0, m);
          else for (let i = 0; i < m; i++) f32[i] = rng.normal() * rule.std;
        } else {
          if ("constant" in rule) u16.fill(floatToHalf(rule.constant), 0, m);
          else for (let i = 0; i < m; i++) u16[i] = floatToHalf(rng.normal() * rule.std);
        }
        await fh.write(buf, 0, m * elemBytes);
        onBytes?.(m * elemBytes);
      }
    }
  } finally {
    await fh.close();
  }
  renameSync(tmp, path);
  return 8 + headerBytes.length + offset;
}

// ---- the folder ---------------------------------------------------------------------------------------------

function readJson(path: string): Record<string, unknown> {
  return readJsonFile(path) as Record<string, unknown>;
}

function copyIfExists(from: string, to: string): boolean {
  if (!existsSync(from)) return false;
  copyFileSync(from, to);
  return true;
}

/** Which networks this tool can fill, and their expected parameter lists. */
function paramsFor(className: string, config: Record<string, unknown>, file: string): { params: ParamSpec[]; weightFile: string } | null {
  const ctx = { file };
  switch (className) {
    case "UNet2DConditionModel":
      return { params: expectedUNetParams(parseUNetConfig(config, ctx)), weightFile: "diffusion_pytorch_model.safetensors" };
    case "AutoencoderKL":
      return { params: expectedVaeParams(parseVaeConfig(config, ctx)), weightFile: "diffusion_pytorch_model.safetensors" };
    case "CLIPTextModel":
      return { params: expectedClipTextParams(parseClipTextConfig(config, ctx)), weightFile: "model.safetensors" };
    case "CLIPTextModelWithProjection":
      return { params: expectedClipTextParams(parseClipTextConfig(config, ctx), { withProjection: true }), weightFile: "model.safetensors" };
    case "CLIPVisionModelWithProjection":
      return { params: expectedClipVisionParams(parseClipVisionConfig(config, ctx)), weightFile: "model.safetensors" };
    case "CLIPVisionModel":
      return { params: expectedClipVisionParams(parseClipVisionConfig(config, ctx), { withProjection: false }), weightFile: "model.safetensors" };
    case "StableDiffusionSafetyChecker":
      return { params: expectedSafetyCheckerParams(parseSafetyCheckerConfig(config, ctx)), weightFile: "model.safetensors" };
    default:
      return null;
  }
}

/** Compares derived parameters with a params_diffusers.json listing (when the configs folder has one). */
function crossCheck(configDir: string, component: string, params: ParamSpec[]): string | null {
  let listPath = join(configDir, "params_diffusers.json");
  if (!existsSync(listPath)) return null;
  let listing = readJson(listPath);
  if (typeof listing.identical_to === "string") {
    listPath = join(configDir, listing.identical_to);
    if (!existsSync(listPath)) return null;
    listing = readJson(listPath);
  }
  const entries = listing[component];
  if (!Array.isArray(entries)) return null;
  const want = new Map<string, string>();
  for (const e of entries as unknown[]) {
    if (Array.isArray(e)) want.set(String(e[0]), JSON.stringify(e[1]));
    else if (e && typeof e === "object") want.set(String((e as { name: unknown }).name), JSON.stringify((e as { shape: unknown }).shape));
  }
  const got = new Map(params.map((p) => [p.name, JSON.stringify(p.shape)]));
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  const shape = [...got.keys()].filter((k) => want.has(k) && want.get(k) !== got.get(k));
  if (!missing.length && !extra.length && !shape.length) return null;
  return `${component}: derived parameters differ from ${listPath}: ${missing.length} missing (${missing.slice(0, 3).join(", ")}), ${extra.length} extra (${extra.slice(0, 3).join(", ")}), ${shape.length} shape mismatches (${shape.slice(0, 3).join(", ")})`;
}

/**
 * The networks a configs folder describes and their derived parameter lists (nothing is written), with the
 * differences from a params_diffusers.json listing when the folder has one.
 */
export function planRandomModel(configDir: string): { name: string; className: string; params: ParamSpec[]; weightFile: string; mismatch: string | null }[] {
  const indexPath = join(configDir, "model_index.json");
  if (!existsSync(indexPath)) throw new NotFoundError(`${indexPath}: file not found (the config folder needs a model_index.json)`);
  const index = loadModelIndex(indexPath);
  const out: { name: string; className: string; params: ParamSpec[]; weightFile: string; mismatch: string | null }[] = [];
  for (const [name, comp] of Object.entries(index.components)) {
    const configPath = join(configDir, name, "config.json");
    const p = existsSync(configPath) ? paramsFor(comp.className, readJson(configPath), configPath) : null;
    if (p) out.push({ name, className: comp.className, ...p, mismatch: crossCheck(configDir, name, p.params) });
  }
  return out;
}

/** Writes a random-weight diffusers folder. */
export async function makeRandomModel(o: MakeRandomModelOptions): Promise<MakeRandomModelResult> {
  const dtype = o.dtype ?? "f16";
  if (dtype !== "f16" && dtype !== "f32") throw new InvalidArgumentError(`dtype must be "f16" or "f32", got ${JSON.stringify(dtype)}`);
  const seed = o.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidArgumentError(`seed must be a non-negative integer, got ${String(seed)}`);
  const indexPath = join(o.configDir, "model_index.json");
  if (!existsSync(o.configDir) || !statSync(o.configDir).isDirectory()) throw new NotFoundError(`config folder ${o.configDir} does not exist`);
  if (!existsSync(indexPath)) throw new NotFoundError(`${indexPath}: file not found (the config folder needs a model_index.json)`);
  const index = loadModelIndex(indexPath);
  const rawIndex = readJson(indexPath);
  if (existsSync(o.outDir)) {
    if (!statSync(o.outDir).isDirectory()) throw new InvalidArgumentError(`output ${o.outDir} exists and is not a folder`);
    if (readdirSync(o.outDir).length > 0) {
      if (!o.force) throw new InvalidArgumentError(`output folder ${o.outDir} is not empty (pass --force to replace it)`);
      rmSync(o.outDir, { recursive: true, force: true });
    }
  }
  mkdirSync(o.outDir, { recursive: true });
  const warnings: string[] = [];
  const components: WrittenComponent[] = [];
  const outIndex: Record<string, unknown> = { ...rawIndex };

  // plan the networks first so progress can report a total
  const plans: { name: string; className: string; params: ParamSpec[]; weightFile: string; config: Record<string, unknown> }[] = [];
  for (const [name, comp] of Object.entries(index.components)) {
    const srcDir = join(o.configDir, name);
    const configPath = join(srcDir, "config.json");
    const p = existsSync(configPath) ? paramsFor(comp.className, readJson(configPath), configPath) : null;
    if (p) plans.push({ name, className: comp.className, ...p, config: readJson(configPath) });
  }
  const elem = dtype === "f16" ? 2 : 4;
  const total = plans.reduce((a, p) => a + p.params.reduce((s, q) => s + q.shape.reduce((x, y) => x * y, 1), 0) * elem, 0);
  let written = 0;

  for (const [name, comp] of Object.entries(index.components)) {
    const srcDir = join(o.configDir, name);
    const dstDir = join(o.outDir, name);
    const plan = plans.find((p) => p.name === name);
    if (plan) {
      mkdirSync(dstDir, { recursive: true });
      const cfg = { ...plan.config };
      if (dtype === "f16" && "torch_dtype" in cfg) cfg.torch_dtype = "float16";
      writeFileSync(join(dstDir, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
      const mismatch = crossCheck(o.configDir, name, plan.params);
      if (mismatch) warnings.push(mismatch);
      const rng = new Rng((seed * 1000003 + hash(name)) >>> 0);
      const file = join(dstDir, plan.weightFile);
      const bytes = await writeRandomSafetensors(file, plan.params, dtype, rng, (n) => {
        written += n;
        o.onProgress?.(written, total, file);
      });
      const count = plan.params.reduce((s, q) => s + q.shape.reduce((x, y) => x * y, 1), 0);
      components.push({ name, className: comp.className, files: ["config.json", plan.weightFile], params: count, bytes });
      continue;
    }
    if (/Scheduler$/.test(comp.className)) {
      mkdirSync(dstDir, { recursive: true });
      if (!copyIfExists(join(srcDir, "scheduler_config.json"), join(dstDir, "scheduler_config.json"))) {
        throw new NotFoundError(`${join(srcDir, "scheduler_config.json")}: file not found`);
      }
      components.push({ name, className: comp.className, files: ["scheduler_config.json"] });
      continue;
    }
    if (/Tokenizer/.test(comp.className)) {
      mkdirSync(dstDir, { recursive: true });
      const files: string[] = [];
      for (const f of ["tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"]) {
        if (copyIfExists(join(srcDir, f), join(dstDir, f))) files.push(f);
      }
      for (const f of ["vocab.json", "merges.txt"]) {
        if (!copyIfExists(join(srcDir, f), join(dstDir, f))) {
          const asset = join(packageRoot, "assets", "tokenizer", f);
          if (!existsSync(asset)) throw new NotFoundError(`tokenizer file ${f}: not in ${srcDir} and no bundled copy at ${asset}`);
          copyFileSync(asset, join(dstDir, f));
        }
        files.push(f);
      }
      components.push({ name, className: comp.className, files });
      continue;
    }
    if (existsSync(join(srcDir, "preprocessor_config.json"))) {
      mkdirSync(dstDir, { recursive: true });
      copyFileSync(join(srcDir, "preprocessor_config.json"), join(dstDir, "preprocessor_config.json"));
      components.push({ name, className: comp.className, files: ["preprocessor_config.json"] });
      continue;
    }
    // a network this tool has no parameter list for (e.g. the DPT depth estimator): left out
    outIndex[name] = [null, null];
    const note = `${name} (${comp.className}) has no config or no known parameter list here: left out (model_index.json lists it as [null, null])`;
    warnings.push(note);
    components.push({ name, className: comp.className, files: [], note });
  }
  writeFileSync(join(o.outDir, "model_index.json"), `${JSON.stringify(outIndex, null, 2)}\n`);
  if (!components.length) throw new FormatError(`${indexPath}: lists no components`);
  const totalParams = components.reduce((a, c) => a + (c.params ?? 0), 0);
  const totalBytes = components.reduce((a, c) => a + (c.bytes ?? 0), 0);
  return { outDir: o.outDir, dtype, seed, components, totalParams, totalBytes, warnings };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** @internal exposed for tests */
export { Rng as RandomStream };

