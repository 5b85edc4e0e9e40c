/** Request body parsing and validation: every field is checked, errors name the field. */
import type { IncomingMessage } from "node:http";
import { randomInt } from "node:crypto";
import { createScheduler } from "../schedulers/factory.js";
import { loadImageRGB } from "../images/index.js";
import sharp from "sharp";
import { describeModel, ENDPOINTS, type JobKind, type ModelInfo } from "./capabilities.js";
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

export type { JobKind } from "./capabilities.js";

/** A validated generation request. */
export interface GenerationRequest {
  kind: JobKind;
  model: string;
  /** "" for variations (no prompt) and an upscale request without one. */
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
  /** img2img, inpaint, variation, upscale, depth2img: the input image (encoded bytes). */
  image?: Buffer;
  /** inpaint: the mask (white = repaint), the image's size. */
  mask?: Buffer;
  /** depth2img: the depth map (gray levels; larger = nearer). */
  depthMap?: Buffer;
  /** img2img (0.8), inpaint (1), depth2img (0.8). */
  strength?: number;
  /** upscale: noise added to the low-res image (default 20). */
  noiseLevel?: number;
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
  if (req.readableEnded) {
    // Mounted behind a body parser (express.json(), a framework's JSON parser copied to req.body): the stream
    // is already consumed, so take the parsed body when there is one.
    const parsed = (req as { body?: unknown }).body;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && !Buffer.isBuffer(parsed)) {
      if (Buffer.byteLength(JSON.stringify(parsed)) > limit) throw new HttpError(413, "body_too_large", `request body is larger than ${limit} bytes`);
      return parsed as Record<string, unknown>;
    }
    throw new HttpError(400, "invalid_request", "the request body was already read by another middleware; mount the handler before body parsers");
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

const COMMON_FIELDS = ["model", "steps", "guidance_scale", "seed", "n", "scheduler", "response_format", "async", "user"];
const PROMPT_FIELDS = ["prompt", "negative_prompt"];
const SIZE_FIELDS = ["width", "height", "size"];

/** The fields each endpoint takes (anything else is a 400 naming it). */
const FIELDS: Record<JobKind, readonly string[]> = {
  txt2img: [...COMMON_FIELDS, ...PROMPT_FIELDS, ...SIZE_FIELDS],
  img2img: [...COMMON_FIELDS, ...PROMPT_FIELDS, "image", "strength"],
  inpaint: [...COMMON_FIELDS, ...PROMPT_FIELDS, "image", "mask", "strength"],
  variation: [...COMMON_FIELDS, "image", ...SIZE_FIELDS],
  upscale: [...COMMON_FIELDS, ...PROMPT_FIELDS, "image", "noise_level"],
  depth2img: [...COMMON_FIELDS, ...PROMPT_FIELDS, "image", "depth_map", "strength"],
};

/** Kinds whose size comes from the input image (rounded down to multiples of 8). */
const SIZE_FROM_IMAGE: readonly JobKind[] = ["img2img", "inpaint", "depth2img"];

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
function decodeBase64Image(name: string, v: unknown): Buffer {
  if (v === undefined || v === null) throw badField(name, "is required (a base64-encoded PNG or JPEG)");
  if (typeof v !== "string" || v.length === 0) throw badField(name, "must be a base64-encoded PNG or JPEG string");
  let s = v;
  const m = /^data:[\w/+.-]+;base64,/i.exec(s);
  if (m) s = s.slice(m[0].length);
  s = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw badField(name, "is not valid base64");
  const buf = Buffer.from(s, "base64");
  if (buf.length === 0) throw badField(name, "is empty");
  return buf;
}

/**
 * A base64 image field: its size is read from the header first (so an oversized image is refused before
 * it is decoded), then it is decoded once to check it is a readable image.
 */
async function imageField(
  body: Record<string, unknown>,
  name: string,
  max: { width: number; height: number },
  why = "",
): Promise<{ bytes: Buffer; width: number; height: number }> {
  const bytes = decodeBase64Image(name, body[name]);
  let meta: { width?: number | undefined; height?: number | undefined };
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw badField(name, "cannot be decoded as an image (PNG or JPEG)");
  }
  if (!meta.width || !meta.height) throw badField(name, "cannot be decoded as an image (PNG or JPEG)");
  if (meta.width > max.width || meta.height > max.height) {
    throw badField(name, `is ${meta.width}x${meta.height}; the limit is ${max.width}x${max.height}${why}`);
  }
  let dims: { width: number; height: number };
  try {
    dims = await loadImageRGB(bytes);
  } catch {
    throw badField(name, "cannot be decoded as an image (PNG or JPEG)");
  }
  return { bytes, width: dims.width, height: dims.height };
}

export interface ValidateContext {
  limits: ServerLimits;
  /** The loaded models, the first one first. */
  models: readonly ModelInfo[];
}

/**
 * The model a request names (it must serve `kind`), or the first loaded model that serves `kind`.
 * A model of another pipeline class is a 400 naming the model and the endpoints it serves.
 */
function resolveModel(kind: JobKind, body: Record<string, unknown>, ctx: ValidateContext): ModelInfo {
  const name = stringField(body, "model", 512, false);
  const loaded = (): string => ctx.models.map((m) => `${m.name} (${m.pipelineClass})`).join(", ");
  if (name === undefined) {
    const m = ctx.models.find((x) => x.kinds.includes(kind));
    if (!m) throw badField("model", `no loaded model serves POST ${ENDPOINTS[kind]} (loaded: ${loaded()})`);
    return m;
  }
  const m = ctx.models.find((x) => x.name === name);
  if (!m) throw badField("model", `unknown model ${JSON.stringify(name)} (loaded: ${loaded()})`);
  if (!m.kinds.includes(kind)) {
    throw badField("model", `model ${JSON.stringify(name)} is a ${describeModel(m)}; it cannot serve POST ${ENDPOINTS[kind]}`);
  }
  return m;
}

/** Validates a request body of one of the image endpoints (snake_case fields, as documented in openapi.json). */
export async function validateGeneration(kind: JobKind, body: Record<string, unknown>, ctx: ValidateContext): Promise<GenerationRequest> {
  const allowed = FIELDS[kind];
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw badField(k, `unknown field (allowed: ${allowed.join(", ")})`);
  }
  const { limits } = ctx;
  const info = resolveModel(kind, body, ctx);
  const model = info.name;
  const hasPrompt = allowed.includes("prompt");
  const prompt = hasPrompt ? stringField(body, "prompt", limits.maxPromptLength, kind !== "upscale") ?? "" : "";
  const negativePrompt = hasPrompt ? stringField(body, "negative_prompt", limits.maxPromptLength, false) : undefined;
  stringField(body, "user", 256, false);
  const maxSize = { width: limits.maxWidth, height: limits.maxHeight };

  let width: number, height: number;
  let image: Buffer | undefined, mask: Buffer | undefined, depthMap: Buffer | undefined;
  let strength: number | undefined, noiseLevel: number | undefined;
  if (SIZE_FROM_IMAGE.includes(kind)) {
    const img = await imageField(body, "image", maxSize);
    image = img.bytes;
    width = img.width - (img.width % 8);
    height = img.height - (img.height % 8);
    if (width < 8 || height < 8) throw badField("image", `is ${img.width}x${img.height}; it must be at least 8x8`);
    if (kind === "inpaint") {
      const m = await imageField(body, "mask", maxSize);
      if (m.width !== img.width || m.height !== img.height) {
        throw badField("mask", `is ${m.width}x${m.height} but image is ${img.width}x${img.height}; they must have the same size`);
      }
      mask = m.bytes;
    }
    if (kind === "depth2img") depthMap = (await imageField(body, "depth_map", maxSize)).bytes;
    strength = numField(body, "strength", 0, 1, kind === "inpaint" ? 1 : 0.8);
  } else if (kind === "upscale") {
    const f = info.vaeScaleFactor;
    // the output is f times the input: the output must fit the limits
    const img = await imageField(
      body, "image", { width: Math.floor(limits.maxWidth / f), height: Math.floor(limits.maxHeight / f) },
      ` (the output is ${f}x the input and at most ${limits.maxWidth}x${limits.maxHeight})`,
    );
    image = img.bytes;
    width = (img.width - (img.width % f)) * f;
    height = (img.height - (img.height % f)) * f;
    if (width < f * f || height < f * f) throw badField("image", `is ${img.width}x${img.height}; it must be at least ${f}x${f}`);
    noiseLevel = intField(body, "noise_level", 0, info.maxNoiseLevel, Math.min(20, info.maxNoiseLevel));
  } else {
    if (kind === "variation") image = (await imageField(body, "image", maxSize)).bytes;
    let dw = Math.min(info.defaultSize, limits.maxWidth), dh = Math.min(info.defaultSize, limits.maxHeight);
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
  if (strength !== undefined && Math.floor(steps * strength) < 1) {
    throw badField("strength", `${strength} with ${steps} steps leaves no denoising step (int(steps * strength) must be >= 1)`);
  }
  const guidanceScale = numField(body, "guidance_scale", 0, 100, kind === "upscale" ? 9 : 7.5);
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
  if (mask) req.mask = mask;
  if (depthMap) req.depthMap = depthMap;
  if (strength !== undefined) req.strength = strength;
  if (noiseLevel !== undefined) req.noiseLevel = noiseLevel;
  return req;
}
