/** Request body parsing and validation: every field is checked, errors name the field. */
import type { IncomingMessage } from "node:http";
import { randomInt } from "node:crypto";
import { createScheduler } from "../schedulers/factory.js";
import { loadImageRGB } from "../images/index.js";
import { badField, HttpError } from "./errors.js";

export interface ServerLimits {
  /** Largest width in pixels (default 1024). */
  maxWidth: number;
  /** Largest height in pixels (default 1024). */
  maxHeight: number;
  /** Most denoising steps (default 150). */
  maxSteps: number;
  /** Most images per request (default 4). */
  maxN: number;
  /** Largest request body in bytes (default 16 MiB). */
  maxBodyBytes: number;
  /** Longest prompt / negative prompt in characters (default 4000). */
  maxPromptLength: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxWidth: 1024, maxHeight: 1024, maxSteps: 150, maxN: 4, maxBodyBytes: 16 * 1024 * 1024, maxPromptLength: 4000,
};

export type JobKind = "txt2img" | "img2img";

/** A validated generation request. */
export interface GenerationRequest {
  kind: JobKind;
  model: string;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  /** Always set: a random one when the client sent none (it is reported back). */
  seed: number;
  n: number;
  scheduler?: string;
  responseFormat: "b64_json" | "binary";
  async: boolean;
  /** img2img: the decoded-to-bytes init image and strength. */
  image?: Buffer;
  strength?: number;
}

/** Reads the body up to `limit` bytes (413 beyond) and parses it as a JSON object (400 otherwise). */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(413, "body_too_large", `request body is larger than ${limit} bytes`);
  }
  const ct = String(req.headers["content-type"] ?? "");
  if (ct !== "" && !/^application\/json\b/i.test(ct)) {
    throw new HttpError(415, "unsupported_media_type", "content-type must be application/json");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off("data", onData);
        req.resume(); // drain the rest without keeping it
        reject(new HttpError(413, "body_too_large", `request body is larger than ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => resolve());
    req.once("error", (e) => reject(new HttpError(400, "bad_request", `cannot read the request body (${e.message})`)));
  });
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new HttpError(400, "invalid_json", "the request body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalid_json", `the request body is not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new HttpError(400, "invalid_json", "the request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

const COMMON_FIELDS = [
  "model", "prompt", "negative_prompt", "width", "height", "size", "steps", "guidance_scale", "seed", "n", "scheduler",
  "response_format", "async", "user",
];
const IMG2IMG_FIELDS = [...COMMON_FIELDS, "image", "strength"];

function intField(body: Record<string, unknown>, name: string, min: number, max: number, dflt: number): number {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v)) throw badField(name, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw badField(name, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

function numField(body: Record<string, unknown>, name: string, min: number, max: number, dflt: number): number {
  const v = body[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v)) throw badField(name, `must be a number, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw badField(name, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

function sizeField(body: Record<string, unknown>, name: "width" | "height", max: number, dflt: number): number {
  const v = intField(body, name, 8, max, dflt);
  if (v % 8 !== 0) throw badField(name, `must be a multiple of 8, got ${v}`);
  return v;
}

function stringField(body: Record<string, unknown>, name: string, maxLen: number, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) {
    if (required) throw badField(name, "is required");
    return undefined;
  }
  if (typeof v !== "string") throw badField(name, `must be a string, got ${typeof v}`);
  if (v.length > maxLen) throw badField(name, `is longer than ${maxLen} characters`);
  return v;
}

/** Base64 (optionally a data: URL) → bytes; rejects anything that is not base64. */
function decodeBase64Image(v: unknown): Buffer {
  if (typeof v !== "string" || v.length === 0) throw badField("image", "must be a base64-encoded PNG or JPEG string");
  let s = v;
  const m = /^data:[\w/+.-]+;base64,/i.exec(s);
  if (m) s = s.slice(m[0].length);
  s = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw badField("image", "is not valid base64");
  const buf = Buffer.from(s, "base64");
  if (buf.length === 0) throw badField("image", "is empty");
  return buf;
}

export interface ValidateContext {
  limits: ServerLimits;
  models: readonly string[];
  defaultSize: (model: string) => number;
}

/** Validates a generation body (snake_case fields, as documented in openapi.json). */
export async function validateGeneration(kind: JobKind, body: Record<string, unknown>, ctx: ValidateContext): Promise<GenerationRequest> {
  const allowed = kind === "img2img" ? IMG2IMG_FIELDS : COMMON_FIELDS;
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw badField(k, `unknown field (allowed: ${allowed.join(", ")})`);
  }
  const { limits } = ctx;
  const model = stringField(body, "model", 512, false) ?? ctx.models[0]!;
  if (!ctx.models.includes(model)) throw badField("model", `unknown model ${JSON.stringify(model)} (loaded: ${ctx.models.join(", ")})`);
  const prompt = stringField(body, "prompt", limits.maxPromptLength, true)!;
  const negativePrompt = stringField(body, "negative_prompt", limits.maxPromptLength, false);
  stringField(body, "user", 256, false);

  let width: number, height: number;
  let image: Buffer | undefined, strength: number | undefined;
  if (kind === "img2img") {
    for (const f of ["width", "height", "size"]) {
      if (body[f] !== undefined) throw badField(f, "img2img takes its size from the image");
    }
    image = decodeBase64Image(body.image);
    let dims: { width: number; height: number };
    try {
      dims = await loadImageRGB(image);
    } catch {
      throw badField("image", "cannot be decoded as an image (PNG or JPEG)");
    }
    width = dims.width - (dims.width % 8);
    height = dims.height - (dims.height % 8);
    if (width < 8 || height < 8) throw badField("image", `is ${dims.width}x${dims.height}; it must be at least 8x8`);
    if (width > limits.maxWidth || height > limits.maxHeight) {
      throw badField("image", `is ${dims.width}x${dims.height}; the limit is ${limits.maxWidth}x${limits.maxHeight}`);
    }
    strength = numField(body, "strength", 0, 1, 0.8);
  } else {
    const dflt = ctx.defaultSize(model);
    let dw = Math.min(dflt, limits.maxWidth), dh = Math.min(dflt, limits.maxHeight);
    if (body.size !== undefined) {
      if (body.width !== undefined || body.height !== undefined) throw badField("size", "pass either size or width/height");
      const m = typeof body.size === "string" ? /^(\d{1,5})x(\d{1,5})$/.exec(body.size) : null;
      if (!m) throw badField("size", `must be "WIDTHxHEIGHT", got ${JSON.stringify(body.size)}`);
      dw = Number(m[1]);
      dh = Number(m[2]);
      body = { ...body, width: dw, height: dh };
    }
    width = sizeField(body, "width", limits.maxWidth, dw);
    height = sizeField(body, "height", limits.maxHeight, dh);
  }
  const steps = intField(body, "steps", 1, limits.maxSteps, Math.min(30, limits.maxSteps));
  if (kind === "img2img" && Math.floor(steps * strength!) < 1) {
    throw badField("strength", `${strength} with ${steps} steps leaves no denoising step (int(steps * strength) must be >= 1)`);
  }
  const guidanceScale = numField(body, "guidance_scale", 0, 100, 7.5);
  const seed = intField(body, "seed", 0, Number.MAX_SAFE_INTEGER, -1);
  const n = intField(body, "n", 1, limits.maxN, 1);
  const scheduler = stringField(body, "scheduler", 64, false);
  if (scheduler !== undefined) {
    try {
      createScheduler(scheduler);
    } catch (e) {
      throw badField("scheduler", (e as Error).message);
    }
  }
  const rf = body.response_format ?? "b64_json";
  if (rf !== "b64_json" && rf !== "binary") throw badField("response_format", `must be "b64_json" or "binary", got ${JSON.stringify(rf)}`);
  const isAsync = body.async ?? false;
  if (typeof isAsync !== "boolean") throw badField("async", "must be a boolean");
  if (rf === "binary" && n !== 1) throw badField("response_format", `"binary" returns one PNG; use n = 1 or "b64_json"`);
  if (rf === "binary" && isAsync) throw badField("response_format", `"binary" is for synchronous requests; async results are JSON`);
  const req: GenerationRequest = {
    kind, model, prompt, width, height, steps, guidanceScale, seed: seed < 0 ? randomInt(0, 2 ** 47) : seed, n,
    responseFormat: rf, async: isAsync,
  };
  if (negativePrompt !== undefined) req.negativePrompt = negativePrompt;
  if (scheduler !== undefined) req.scheduler = scheduler;
  if (image) req.image = image;
  if (strength !== undefined) req.strength = strength;
  return req;
}
