/**
 * The Stable Diffusion safety checker (diffusers 0.27 StableDiffusionSafetyChecker): CLIP image embeddings
 * of the generated images are compared (cosine similarity) with 3 "special care" and 17 concept embeddings;
 * an image whose rounded concept score exceeds 0 is flagged and replaced by a black image.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context.js";
import { DisposedError, FormatError, InvalidArgumentError, NotFoundError, ShapeError } from "../errors.js";
import { componentWeightFiles, loadImageEncoder, type ComponentFolderOptions } from "../components/load.js";
import type { ImageEncoder } from "../components/image-encoder.js";
import { loadComponentConfig, type ClipImageProcessorConfig } from "../models/configs/index.js";
import { clipImageProcessor, type ClipImageProcessor } from "../images/processors.js";
import type { RGBImage } from "../images/load.js";
import type { Tensor } from "../tensor.js";
import { openWeightFile } from "../weights.js";

export interface SafetyScores {
  /** round(cos(image, special_care_embeds[k]) - special_care_embeds_weights[k] + adjustment, 3) */
  special: number[];
  /** round(cos(image, concept_embeds[k]) - concept_embeds_weights[k] + adjustment, 3) */
  concept: number[];
}

export interface SafetyCheckResult {
  /** The input images; flagged ones replaced by black images of the same size. */
  images: RGBImage[];
  /** nsfw[i]: image i has a concept score > 0. */
  nsfw: boolean[];
  scores: SafetyScores[];
}

export interface SafetyCheckOptions {
  signal?: AbortSignal;
}

/** The concept tables of a safety checker. */
export interface SafetyConcepts {
  conceptEmbeds: Float32Array;
  conceptWeights: Float32Array;
  specialEmbeds: Float32Array;
  specialWeights: Float32Array;
  /** embedding width */
  dim: number;
}

/** numpy round(x, 3) on a float64 scalar: rint(x * 1000) / 1000 (half to even). */
export function roundScore(x: number): number {
  const y = x * 1000;
  let r = Math.round(y);
  if (r - y === 0.5 && r % 2 !== 0) r -= 1;
  return r / 1000;
}

function l2normalize(v: Float32Array, offset: number, d: number): Float64Array {
  let s = 0;
  for (let i = 0; i < d; i++) s += v[offset + i]! * v[offset + i]!;
  const n = Math.max(Math.sqrt(s), 1e-12);
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) out[i] = Math.fround(v[offset + i]! / n);
  return out;
}

/** Cosine similarity matrix [rows(a), rows(b)] of two row-major [n, d] matrices (float32 result). */
export function cosineMatrix(a: Float32Array, b: Float32Array, d: number): Float32Array {
  const na = a.length / d, nb = b.length / d;
  const an = Array.from({ length: na }, (_, i) => l2normalize(a, i * d, d));
  const bn = Array.from({ length: nb }, (_, j) => l2normalize(b, j * d, d));
  const out = new Float32Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += an[i]![k]! * bn[j]![k]!;
      out[i * nb + j] = Math.fround(s);
    }
  }
  return out;
}

/**
 * The safety checker's decision from image embeddings [batch, dim], exactly as diffusers 0.27: per image,
 * adjustment starts at 0; each special-care score is round(cos - threshold + adjustment, 3) and the first
 * positive one sets adjustment = 0.01 (for the remaining special scores and all concept scores); the image is
 * flagged when any rounded concept score is > 0.
 */
export function safetyScores(imageEmbeds: Tensor, concepts: SafetyConcepts): { nsfw: boolean[]; scores: SafetyScores[]; specialCos: Float32Array; conceptCos: Float32Array } {
  const d = concepts.dim;
  if (imageEmbeds.shape.length !== 2 || imageEmbeds.shape[1] !== d) {
    throw new ShapeError(`imageEmbeds has shape [${imageEmbeds.shape.join(", ")}], expected [batch, ${d}]`);
  }
  const B = imageEmbeds.shape[0]!;
  const nS = concepts.specialWeights.length, nC = concepts.conceptWeights.length;
  const specialCos = cosineMatrix(imageEmbeds.data, concepts.specialEmbeds, d);
  const conceptCos = cosineMatrix(imageEmbeds.data, concepts.conceptEmbeds, d);
  const nsfw: boolean[] = [];
  const scores: SafetyScores[] = [];
  for (let i = 0; i < B; i++) {
    let adjustment = 0.0;
    const special: number[] = [];
    for (let k = 0; k < nS; k++) {
      const s = roundScore(specialCos[i * nS + k]! - concepts.specialWeights[k]! + adjustment);
      special.push(s);
      if (s > 0) adjustment = 0.01;
    }
    const concept: number[] = [];
    let bad = false;
    for (let k = 0; k < nC; k++) {
      const s = roundScore(conceptCos[i * nC + k]! - concepts.conceptWeights[k]! + adjustment);
      concept.push(s);
      if (s > 0) bad = true;
    }
    nsfw.push(bad);
    scores.push({ special, concept });
  }
  return { nsfw, scores, specialCos, conceptCos };
}

export interface SafetyCheckerLoadOptions extends ComponentFolderOptions {}

export class SafetyChecker implements AsyncDisposable {
  #encoder: ImageEncoder | null;
  readonly processor: ClipImageProcessor;
  readonly concepts: SafetyConcepts;

  /** @internal use SafetyChecker.load() */
  constructor(encoder: ImageEncoder, processor: ClipImageProcessor, concepts: SafetyConcepts) {
    this.#encoder = encoder;
    this.processor = processor;
    this.concepts = concepts;
  }

  /**
   * Loads a diffusers `safety_checker/` folder (vision tower, projection, concept tables) and the
   * `feature_extractor/` folder's preprocessor_config.json (null: the OpenAI CLIP defaults).
   */
  static async load(context: Context, safetyCheckerDir: string, featureExtractorDir: string | null, options: SafetyCheckerLoadOptions = {}): Promise<SafetyChecker> {
    if (!existsSync(safetyCheckerDir)) throw new NotFoundError(`safety checker folder ${safetyCheckerDir} does not exist`);
    let procConfig: ClipImageProcessorConfig | undefined;
    if (featureExtractorDir !== null) {
      const p = join(featureExtractorDir, "preprocessor_config.json");
      const parsed = loadComponentConfig("image_processor", p);
      if (parsed.kind !== "image_processor" || parsed.config.kind !== "clip") throw new FormatError(`${p}: the safety checker needs a CLIPImageProcessor config`);
      procConfig = parsed.config;
    }
    const concepts = await readConcepts(safetyCheckerDir, options);
    const encoder = await loadImageEncoder(context, safetyCheckerDir, options);
    try {
      if (encoder.projectionDim !== concepts.dim) {
        throw new ShapeError(`${safetyCheckerDir}: visual projection width ${encoder.projectionDim} differs from the concept embeddings' ${concepts.dim}`);
      }
    } catch (err) {
      encoder.dispose();
      throw err;
    }
    return new SafetyChecker(encoder, clipImageProcessor(procConfig), concepts);
  }

  get disposed(): boolean {
    return this.#encoder === null || this.#encoder.disposed;
  }

  #enc(): ImageEncoder {
    if (!this.#encoder) throw new DisposedError("SafetyChecker");
    return this.#encoder;
  }

  /** Projected CLIP image embeddings [batch, dim] of uint8 RGB images (through the feature extractor). */
  async embed(images: RGBImage[], options: SafetyCheckOptions = {}): Promise<Tensor> {
    if (!Array.isArray(images) || images.length === 0) throw new InvalidArgumentError("SafetyChecker: images must be a non-empty array");
    const pixelValues = this.processor.preprocess(images);
    const out = await this.#enc().forward(pixelValues, { signal: options.signal });
    return out.imageEmbeds;
  }

  /** Checks uint8 RGB images; flagged ones come back black (same size). */
  async check(images: RGBImage[], options: SafetyCheckOptions = {}): Promise<SafetyCheckResult> {
    const embeds = await this.embed(images, options);
    const { nsfw, scores } = safetyScores(embeds, this.concepts);
    const out = images.map((img, i) => (nsfw[i] ? { data: new Uint8Array(img.data.length), width: img.width, height: img.height } : img));
    return { images: out, nsfw, scores };
  }

  dispose(): void {
    this.#encoder?.dispose();
    this.#encoder = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}

/** Reads concept_embeds, special_care_embeds and their weights from a safety_checker folder's weights. */
export async function readConcepts(dir: string, options: ComponentFolderOptions = {}): Promise<SafetyConcepts> {
  const wanted = ["concept_embeds", "special_care_embeds", "concept_embeds_weights", "special_care_embeds_weights"] as const;
  const found = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const path of componentWeightFiles(dir, options)) {
    const f = await openWeightFile(path);
    try {
      const listing = new Map(f.tensors().map((t) => [t.name, t]));
      for (const name of wanted) {
        const t = listing.get(name);
        if (!t || found.has(name)) continue;
        const v = f.read(name);
        if (!(v instanceof Float32Array)) throw new FormatError(`${path}: tensor ${name} is ${t.dtype}, expected a float tensor`);
        found.set(name, { data: v, shape: t.shape });
      }
    } finally {
      f.dispose();
    }
  }
  for (const name of wanted) if (!found.has(name)) throw new NotFoundError(`${dir}: safety checker weights lack ${name}`);
  const ce = found.get("concept_embeds")!, se = found.get("special_care_embeds")!;
  const cw = found.get("concept_embeds_weights")!, sw = found.get("special_care_embeds_weights")!;
  if (ce.shape.length !== 2 || se.shape.length !== 2 || ce.shape[1] !== se.shape[1]) {
    throw new FormatError(`${dir}: concept_embeds [${ce.shape.join(", ")}] and special_care_embeds [${se.shape.join(", ")}] must be [n, dim] with the same dim`);
  }
  if (cw.data.length !== ce.shape[0] || sw.data.length !== se.shape[0]) {
    throw new FormatError(`${dir}: concept weights (${cw.data.length}, ${sw.data.length}) do not match the embeddings (${ce.shape[0]}, ${se.shape[0]})`);
  }
  return { conceptEmbeds: ce.data, specialEmbeds: se.data, conceptWeights: cw.data, specialWeights: sw.data, dim: ce.shape[1]! };
}
