/**
 * Loading the native addon through node-gyp-build (prebuilds/<platform>-<arch>/ first for installed
 * packages, build/Release for source checkouts). A failure becomes one NativeLoadError that lists every
 * place tried and how to fix it, in the spirit of sharp's loader.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NativeLoadError } from "./errors.js";

/** The raw addon surface (bindings/). Internal: users go through the typed wrappers. */
export interface NativeContextHandle {
  readonly backend: "cpu" | "cuda" | null;
  readonly threads: number;
  readonly fallbackReason: string;
  readonly backendDescription: string;
  readonly memoryStats: { inUse: number; peak: number; reserved: number };
  readonly hostMemory: number;
  readonly disposed: boolean;
  readonly busy: boolean;
  gemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
    onProgress?: (step: number, total: number) => void,
  ): Promise<void>;
  measureGemmPeak(size: number, seconds: number): Promise<number>;
  measureLinearPeak(size: number, seconds: number): Promise<number>;
  resetPeakMemory(): void;
  createModel(kind: number, configJson: string, weights: NativeWeightMapHandle): Promise<NativeModelHandle>;
  abort(): void;
  dispose(): void;
}

export interface NativeTensorListing {
  name: string;
  dtype: string;
  shape: number[];
  nbytes: number;
}

export interface NativeWeightFileHandle {
  readonly format: "safetensors" | "torch" | null;
  readonly count: number;
  tensors(): NativeTensorListing[];
  read(name: string): Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
  metadata(): string;
  dispose(): void;
}

export interface NativeWeightMapHandle {
  readonly count: number;
  add(name: string, file: NativeWeightFileHandle, tensor: string, rowBegin?: number, rowEnd?: number): void;
  dispose(): void;
}

type Progress = ((step: number, total: number) => void) | undefined;
type F32 = Float32Array | null | undefined;

export interface NativeModelHandle {
  readonly disposed: boolean;
  info(): Record<string, unknown> & { kind: string; unusedTensors: string[] };
  textEncoder(ids: Int32Array, batch: number, seq: number, clipSkip: number, embeds: F32, pooled: F32, hidden: F32, onProgress?: Progress): Promise<void>;
  visionEncoder(pixels: Float32Array, batch: number, imageEmbeds: F32, pooled: F32, last: F32, hidden: F32, onProgress?: Progress): Promise<void>;
  unet(
    sample: Float32Array, batch: number, height: number, width: number, timesteps: Float32Array, context: Float32Array,
    contextLength: number, classLabels: Int32Array | null, out: Float32Array, onProgress?: Progress,
  ): Promise<void>;
  vaeEncode(x: Float32Array, batch: number, height: number, width: number, moments: Float32Array, onProgress?: Progress): Promise<void>;
  vaeDecode(z: Float32Array, batch: number, height: number, width: number, image: Float32Array, onProgress?: Progress): Promise<void>;
  dispose(): void;
}

export interface NativeAddon {
  version(): string;
  backendInfoJson(): string;
  createContext(options: {
    backend?: "auto" | "cpu" | "cuda";
    threads?: number;
    deviceIndex?: number;
    allowFallback?: boolean;
    weightPrecision?: "default" | "f16" | "f32";
  }): Promise<NativeContextHandle>;
  openWeightFile(path: string): Promise<NativeWeightFileHandle>;
  writeSafetensors(
    path: string,
    tensors: Array<{ name: string; dtype: string; shape: number[]; data: ArrayBufferView }>,
    metadata?: Record<string, string>,
  ): Promise<void>;
  NativeWeightMap: new () => NativeWeightMapHandle;
}

/** The package root (the folder holding package.json), from dist/ or lib/. */
export const packageRoot: string = join(dirname(fileURLToPath(import.meta.url)), "..");

let cached: NativeAddon | undefined;

function describeCandidates(): string[] {
  const lines: string[] = [];
  for (const dir of [join(packageRoot, "build", "Release"), join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`)]) {
    if (!existsSync(dir)) {
      lines.push(`  - ${dir}: missing`);
      continue;
    }
    const files = readdirSync(dir).filter((f) => f.endsWith(".node"));
    lines.push(`  - ${dir}: ${files.length ? files.join(", ") : "no .node file"}`);
  }
  return lines;
}

/** Loads (once) and returns the native addon; throws NativeLoadError with a how-to-fix message. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(join(packageRoot, "package.json"));
  try {
    const nodeGypBuild = require("node-gyp-build") as (dir: string) => NativeAddon;
    cached = nodeGypBuild(packageRoot);
    return cached;
  } catch (err) {
    const message = [
      `sd-native could not load its native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
      `Cause: ${(err as Error)?.message ?? String(err)}`,
      "Looked in:",
      ...describeCandidates(),
      "How to fix:",
      "  - Reinstall so the install step can pick a prebuilt binary or build one: `npm install sd-native` (or `npm rebuild sd-native`).",
      "  - Force a build from source (needs cmake >= 3.18 and a C++17 compiler): `npm install sd-native --build-from-source`.",
      "  - Building without CUDA: set SDN_CUDA=OFF before installing.",
      "  - Installed with --ignore-scripts on a platform without a prebuilt binary? Run `npm rebuild sd-native`.",
    ].join("\n");
    throw new NativeLoadError(message, { cause: err });
  }
}
