/** Shared helpers of the pipeline tests: golden runs, replayed noise, comparisons, a pipeline cache. */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { loadPipeline, type AnyPipeline, type Generator, type LoadPipelineOptions, type Tensor } from "../../lib/index.js";
import { referencePath } from "../helpers/reference.js";
import { readF32Exact, readSafetensors, type GoldenTensor } from "../helpers/safetensors.js";

export interface GoldenRun {
  name: string;
  model: string;
  pipeline: string;
  scheduler: string;
  scheduler_config: Record<string, unknown>;
  call_kwargs: Record<string, unknown>;
  generator_seed: number | null;
  nsfw_content_detected: boolean[] | null;
  rng_draws: { index: number; module: string; shape: number[] }[];
  timesteps: number[];
  image_shape: number[];
}

export function goldenRun(name: string): { run: GoldenRun; file: string; tensors: Map<string, GoldenTensor> } {
  // Python's json writes -Infinity / Infinity / NaN (DPM++ lambda_min_clipped): read them as numbers
  const text = readFileSync(referencePath("goldens", "pipelines", `${name}.json`), "utf8").replace(
    /(:\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g,
    (_m, pre: string, v: string) => `${pre}"__num__${v}"`,
  );
  const run = JSON.parse(text, (_k, v: unknown) => (typeof v === "string" && v.startsWith("__num__") ? Number(v.slice(7)) : v)) as GoldenRun;
  const file = referencePath("goldens", "pipelines", `${name}.safetensors`);
  return { run, file, tensors: readSafetensors(file) };
}

export function goldenIndex(): { name: string; model: string; pipeline: string; generator_seed: number | null }[] {
  return (JSON.parse(readFileSync(referencePath("goldens", "pipelines", "index.json"), "utf8")) as { runs: never[] }).runs;
}

export function f32Tensor(file: string, tensors: Map<string, GoldenTensor>, name: string): Tensor {
  return { shape: [...tensors.get(name)!.shape], data: readF32Exact(file, name) };
}

/** Replays recorded randn draws in order (checking each shape); throws on an unexpected draw. */
export class ReplayGenerator implements Generator {
  readonly initialSeed = 0n;
  used = 0;
  constructor(private readonly draws: Tensor[]) {}
  randn(shape: readonly number[]): Float32Array {
    const d = this.draws[this.used];
    if (!d) throw new Error(`unexpected randn draw #${this.used} of shape [${shape.join(", ")}]`);
    if (d.shape.join(",") !== shape.join(",")) throw new Error(`draw #${this.used}: shape [${shape.join(", ")}], recorded [${d.shape.join(", ")}]`);
    this.used++;
    return d.data.slice();
  }
  rand(): Float32Array {
    throw new Error("unexpected rand draw");
  }
}

/** max |a - b| and max |b|. */
export function diffStats(a: Float32Array, b: Float32Array): { maxAbs: number; maxRef: number; rel: number } {
  expect(a.length).toBe(b.length);
  let maxAbs = 0, maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = d;
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return { maxAbs, maxRef, rel: maxAbs / maxRef };
}

/** Worst per-channel difference between uint8 pixels and diffusers' image (float HWC in [0,1], PIL rounding). */
export function imageDiff(pixels: Uint8Array, image: Float32Array): number {
  expect(pixels.length).toBe(image.length);
  let worst = 0;
  for (let i = 0; i < pixels.length; i++) worst = Math.max(worst, Math.abs(pixels[i]! - Math.round(image[i]! * 255)));
  return worst;
}

const cache = new Map<string, Promise<AnyPipeline>>();

/** One loaded pipeline per model (and options), shared by every test in the file. */
export function sharedPipeline(model: string, options: LoadPipelineOptions = {}): Promise<AnyPipeline> {
  const key = `${model} ${JSON.stringify(options)}`;
  let p = cache.get(key);
  if (!p) {
    p = loadPipeline(referencePath("models", model), { threads: 2, ...options });
    cache.set(key, p);
  }
  return p;
}

export async function disposeShared(): Promise<void> {
  for (const p of cache.values()) (await p.catch(() => null))?.dispose();
  cache.clear();
}
