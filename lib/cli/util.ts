/** Shared helpers of the CLI commands: option parsers, progress bar, PNG output with metadata. */
import { InvalidArgumentError as CommanderArgError, Option, type Command } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { encodePng, loadImageGray } from "../images/index.js";
import { InvalidArgumentError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { openWeightFile } from "../weights.js";

/** Where commands write (replaceable in tests). */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stderr is a terminal (progress bar redraws in place). */
  isTTY: boolean;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

// ---- option parsers (commander reports their errors as "option '--x' argument 'y' is invalid. ...") ----

export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v: string) => {
    if (!/^[+-]?\d+$/.test(v.trim())) throw new CommanderArgError(`expected an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new CommanderArgError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

export function floatArg(min = -Infinity, max = Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new CommanderArgError("expected a number");
    if (n < min || n > max) throw new CommanderArgError(`expected a number in [${min}, ${max}]`);
    return n;
  };
}

/** A seed: a non-negative integer up to 2^64-1 (bigint above 2^53). */
export function seedArg(v: string): number | bigint {
  if (!/^\d+$/.test(v.trim())) throw new CommanderArgError("expected a non-negative integer");
  const b = BigInt(v.trim());
  if (b >= 1n << 64n) throw new CommanderArgError("expected a seed below 2^64");
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** key=value pairs (repeatable); values parsed as JSON when possible. */
export function keyValueArg(v: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const i = v.indexOf("=");
  if (i <= 0) throw new CommanderArgError("expected key=value");
  const key = v.slice(0, i), raw = v.slice(i + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* keep the string */
  }
  return { ...prev, [key]: value };
}

// ---- shared option sets ----

export interface LoadFlags {
  model: string;
  device?: "auto" | "cpu" | "cuda";
  threads?: number;
  scheduler?: string;
  schedulerOption?: Record<string, unknown>;
  safetyChecker?: boolean;
  vae?: string;
  variant?: string;
  revision?: string;
  cacheDir?: string;
  family?: string;
  predictionType?: "epsilon" | "v_prediction";
  imageSize?: number;
  upcastAttention?: boolean;
}

export interface CallFlags {
  prompt?: string[];
  negativePrompt?: string[];
  steps?: number;
  guidanceScale?: number;
  guidanceRescale?: number;
  numImages?: number;
  seed?: number | bigint;
  rng?: "cpu" | "cuda";
  eta?: number;
  clipSkip?: number;
  promptSyntax?: "plain" | "weighted";
  longPrompt?: "truncate" | "chunk";
}

export interface OutputFlags {
  output?: string;
  json?: boolean;
  quiet?: boolean;
}

export function addLoadOptions(cmd: Command): Command {
  return cmd
    .requiredOption("-m, --model <path>", "diffusers folder, single-file checkpoint or Hugging Face repo id (from the local cache)")
    .addOption(new Option("--device <device>", "where to compute").choices(["auto", "cpu", "cuda"]).default("auto"))
    .option("--threads <n>", "CPU worker threads (default: all cores)", intArg(1, 1024))
    .option("--scheduler <name>", "scheduler name (ddim, pndm, euler, euler-a, dpm++2m, lms, heun, ...) or diffusers class name")
    .option("--scheduler-option <key=value>", "extra scheduler config value (repeatable), e.g. use_karras_sigmas=true", keyValueArg)
    .option("--no-safety-checker", "do not run the safety checker (prints a warning)")
    .option("--vae <path>", "use this VAE (diffusers vae/ folder or weight file) instead of the model's")
    .option("--variant <name>", "weight variant, e.g. fp16")
    .option("--revision <rev>", "revision of a cached Hugging Face repo")
    .option("--cache-dir <dir>", "Hugging Face cache folder")
    .option("--family <family>", "single-file checkpoints: model family when it cannot be inferred")
    .addOption(new Option("--prediction-type <type>", "single-file checkpoints: prediction type").choices(["epsilon", "v_prediction"]))
    .option("--image-size <n>", "single-file checkpoints: native image size", intArg(64, 4096))
    .option("--upcast-attention", "single-file checkpoints: upcast attention (SD 2.x 768-v)");
}

export function addCallOptions(cmd: Command, o: { prompt: "required" | "optional" | "none"; steps: number; guidance: number }): Command {
  if (o.prompt !== "none") {
    const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];
    if (o.prompt === "required") cmd.requiredOption("-p, --prompt <text>", "prompt (repeat for a batch)", collect);
    else cmd.option("-p, --prompt <text>", "prompt (repeat for a batch)", collect);
    cmd
      .option("-n, --negative-prompt <text>", "negative prompt (repeat: one per prompt)", collect)
      .option("--clip-skip <n>", "skip the last N text encoder layers", intArg(0, 64))
      .addOption(new Option("--prompt-syntax <syntax>", "prompt syntax").choices(["plain", "weighted"]))
      .addOption(new Option("--long-prompt <mode>", "prompts over 77 tokens").choices(["truncate", "chunk"]));
  }
  return cmd
    .option("-s, --steps <n>", `denoising steps (default ${o.steps})`, intArg(1, 10000))
    .option("-g, --guidance-scale <x>", `classifier-free guidance scale (default ${o.guidance})`, floatArg(0, 1000))
    .option("--guidance-rescale <x>", "guidance rescale (0 = off)", floatArg(0, 1))
    .option("--num-images <n>", "images per prompt", intArg(1, 64))
    .option("--seed <n>", "seed (default: random, reported in the output)", seedArg)
    .addOption(new Option("--rng <kind>", "which torch generator the seed drives").choices(["cpu", "cuda"]))
    .option("--eta <x>", "DDIM eta", floatArg(0, 1));
}

export function addOutputOptions(cmd: Command, defaultName: string): Command {
  return cmd
    .option("-o, --output <file>", `output PNG ("{i}" is replaced by the image index; otherwise _<i> is appended for batches) (default ./${defaultName}-<seed>.png)`)
    .option("--json", "print a machine-readable JSON result on stdout")
    .option("-q, --quiet", "no progress bar");
}

export function loadOptionsFrom(f: LoadFlags): import("../pipelines/types.js").LoadPipelineOptions {
  const o: import("../pipelines/types.js").LoadPipelineOptions = { device: f.device ?? "auto" };
  if (f.threads !== undefined) o.threads = f.threads;
  if (f.scheduler !== undefined) o.scheduler = f.scheduler;
  if (f.schedulerOption !== undefined) o.schedulerOptions = f.schedulerOption;
  if (f.safetyChecker === false) o.safetyChecker = false;
  if (f.vae !== undefined) o.vae = f.vae;
  if (f.variant !== undefined) o.variant = f.variant;
  if (f.revision !== undefined) o.revision = f.revision;
  if (f.cacheDir !== undefined) o.cacheDir = f.cacheDir;
  if (f.family !== undefined || f.predictionType !== undefined || f.imageSize !== undefined || f.upcastAttention !== undefined) {
    o.singleFile = {};
    if (f.family !== undefined) o.singleFile.family = f.family as never;
    if (f.predictionType !== undefined) o.singleFile.predictionType = f.predictionType;
    if (f.imageSize !== undefined) o.singleFile.imageSize = f.imageSize;
    if (f.upcastAttention !== undefined) o.singleFile.upcastAttention = f.upcastAttention;
  }
  return o;
}

/** Call options shared by every pipeline (undefined flags left out so pipeline defaults apply). */
export function callOptionsFrom(f: CallFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (f.prompt !== undefined) o.prompt = f.prompt.length === 1 ? f.prompt[0] : f.prompt;
  if (f.negativePrompt !== undefined) o.negativePrompt = f.negativePrompt.length === 1 ? f.negativePrompt[0] : f.negativePrompt;
  const copy: [keyof CallFlags, string][] = [
    ["steps", "steps"], ["guidanceScale", "guidanceScale"], ["guidanceRescale", "guidanceRescale"], ["numImages", "numImagesPerPrompt"],
    ["seed", "seed"], ["rng", "rng"], ["eta", "eta"], ["clipSkip", "clipSkip"], ["promptSyntax", "promptSyntax"], ["longPrompt", "longPrompt"],
  ];
  for (const [from, to] of copy) if (f[from] !== undefined) o[to] = f[from];
  return o;
}

// ---- progress ----

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return `${m}m${String(r).padStart(2, "0")}s`;
}

/** A stderr progress bar: `label [#####.....] 5/20 2.31 steps/s ETA 6.5s`. */
export class ProgressBar {
  #io: CliIO;
  #label: string;
  #start = 0;
  #firstStepAt = 0;
  #lastDrawn = 0;
  #lastLen = 0;
  #done = false;
  readonly enabled: boolean;

  constructor(io: CliIO, label: string, enabled = true) {
    this.#io = io;
    this.#label = label;
    this.enabled = enabled;
    this.#start = performance.now();
  }

  /** The line for step/total at `now` (ms). */
  format(step: number, total: number, now = performance.now()): string {
    const width = 24;
    const filled = total > 0 ? Math.round((step / total) * width) : 0;
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    let rate: number;
    if (step > 1 && this.#firstStepAt > 0) rate = ((step - 1) * 1000) / Math.max(1e-3, now - this.#firstStepAt);
    else rate = (step * 1000) / Math.max(1e-3, now - this.#start);
    const eta = rate > 0 ? (total - step) / rate : Infinity;
    return `${this.#label} [${bar}] ${step}/${total} ${rate.toFixed(2)} steps/s ETA ${fmtDuration(eta)}`;
  }

  update(step: number, total: number): void {
    const now = performance.now();
    if (step === 1 || this.#firstStepAt === 0) this.#firstStepAt = now;
    if (!this.enabled) return;
    const line = this.format(step, total, now);
    if (this.#io.isTTY) {
      const pad = this.#lastLen > line.length ? " ".repeat(this.#lastLen - line.length) : "";
      this.#io.stderr(`\r${line}${pad}`);
      this.#lastLen = line.length;
      if (step === total) {
        this.#io.stderr("\n");
        this.#done = true;
      }
    } else if (step === total || now - this.#lastDrawn > 2000 || step === 1) {
      this.#io.stderr(`${line}\n`);
      this.#lastDrawn = now;
      if (step === total) this.#done = true;
    }
  }

  /** Ends a partially drawn TTY line. */
  finish(): void {
    if (this.enabled && this.#io.isTTY && !this.#done && this.#lastLen > 0) this.#io.stderr("\n");
    this.#done = true;
  }
}

// ---- outputs ----

/** The output path of image i of n. */
export function outputPath(template: string | undefined, defaultName: string, seed: unknown, i: number, n: number): string {
  let t = template ?? `${defaultName}-${seed === null || seed === undefined ? "random" : String(seed)}.png`;
  if (t.includes("{i}")) return resolve(t.replaceAll("{i}", String(i)));
  if (n === 1) return resolve(t);
  const ext = extname(t);
  const base = ext ? t.slice(0, -ext.length) : t;
  t = `${base}_${i}${ext || ".png"}`;
  return resolve(t);
}

function str(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(str).join(" | ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** PNG text chunks for the generation parameters (one key per parameter, an A1111-style line, and JSON). */
export function pngTextFromParameters(parameters: Record<string, unknown>, extra: Record<string, string> = {}): Record<string, string> {
  const p = parameters;
  const text: Record<string, string> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "") text[k] = str(v);
  };
  put("prompt", p.prompt);
  put("negative_prompt", p.negativePrompt);
  put("seed", p.seed);
  put("steps", p.steps);
  put("scheduler", p.scheduler);
  put("guidance_scale", p.guidanceScale);
  if (p.width !== undefined && p.height !== undefined) text.size = `${str(p.width)}x${str(p.height)}`;
  put("width", p.width);
  put("height", p.height);
  put("strength", p.strength);
  put("noise_level", p.noiseLevel);
  put("model", p.model);
  put("pipeline", p.pipeline);
  const lines: string[] = [];
  if (p.prompt !== undefined && p.prompt !== null) lines.push(str(p.prompt));
  if (p.negativePrompt) lines.push(`Negative prompt: ${str(p.negativePrompt)}`);
  const fields: string[] = [];
  if (p.steps !== undefined) fields.push(`Steps: ${str(p.steps)}`);
  if (p.scheduler !== undefined) fields.push(`Sampler: ${str(p.scheduler)}`);
  if (p.guidanceScale !== undefined) fields.push(`CFG scale: ${str(p.guidanceScale)}`);
  if (p.seed !== undefined && p.seed !== null) fields.push(`Seed: ${str(p.seed)}`);
  if (text.size) fields.push(`Size: ${text.size}`);
  if (p.model !== undefined) fields.push(`Model: ${str(p.model)}`);
  lines.push(fields.join(", "));
  text.parameters = lines.join("\n");
  text["sd-native"] = JSON.stringify(p, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  text.Software = "sd-native";
  return { ...text, ...extra };
}

export interface WrittenImage {
  path: string;
  width: number;
  height: number;
  nsfw: boolean | null;
}

/** Writes each raw image as PNG with the parameters as text metadata. */
export async function writeImages(
  images: { data: Uint8Array; width: number; height: number }[],
  parameters: Record<string, unknown>,
  nsfw: boolean[] | null,
  output: string | undefined,
  defaultName: string,
): Promise<WrittenImage[]> {
  const text = pngTextFromParameters(parameters);
  const out: WrittenImage[] = [];
  for (let i = 0; i < images.length; i++) {
    const img = images[i]!;
    const path = outputPath(output, defaultName, parameters.seed, i, images.length);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await encodePng(img, { ...text, image_index: String(i) }));
    out.push({ path, width: img.width, height: img.height, nsfw: nsfw ? nsfw[i] ?? null : null });
  }
  return out;
}

/** A depth map from a file: a .safetensors tensor ([H,W], [B,H,W] or [B,1,H,W]) or an image (gray levels). */
export async function readDepthMap(path: string, tensorName?: string): Promise<Tensor> {
  if (/\.safetensors$/i.test(path)) {
    const f = await openWeightFile(path);
    try {
      const list = f.tensors();
      const pick = tensorName ? list.find((t) => t.name === tensorName) : list.find((t) => /depth/i.test(t.name)) ?? (list.length === 1 ? list[0] : undefined);
      if (!pick) {
        throw new InvalidArgumentError(`${path}: ${tensorName ? `no tensor ${tensorName}` : "several tensors and none named like 'depth'"}; pass --depth-map-tensor (tensors: ${list.map((t) => t.name).join(", ")})`);
      }
      const data = f.read(pick.name);
      if (!(data instanceof Float32Array)) throw new InvalidArgumentError(`${path}: tensor ${pick.name} is ${pick.dtype}, expected a float tensor`);
      return { shape: pick.shape, data };
    } finally {
      f.dispose();
    }
  }
  const g = await loadImageGray(path);
  return { shape: [g.height, g.width], data: Float32Array.from(g.data) };
}

export function printJson(io: CliIO, value: unknown): void {
  io.stdout(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
}
