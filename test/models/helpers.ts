/** Shared helpers for the model-file tests (reference-data readers). */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { TensorInfo } from "../../lib/models/tensor_index.js";
import { referenceDir } from "../helpers/reference.js";

export type ParamsDiffusers = Record<string, [string, number[], string][]>;
export type ParamsOriginal = Record<string, unknown> & {
  unet?: [string, number[], string, string][];
  vae?: [string, number[], string, string][];
  text_encoder?: [string, number[], string, string?][];
  text_encoder_hf_to_original_map?: Record<string, string>;
};

/** Reads a params_*.json, following {"identical_to": "../other/params_x.json"}. */
export function readParams<T>(path: string): T {
  const j = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  if (typeof j.identical_to === "string") return readParams<T>(join(dirname(path), j.identical_to));
  return j as T;
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

export function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

export function maybe(path: string): string | null {
  return existsSync(path) ? path : null;
}

const DT: Record<string, TensorInfo["dtype"]> = { float32: "F32", float16: "F16", int64: "I64" };

/** params_original.json → TensorIndex over all listed components. */
export function originalIndex(p: ParamsOriginal): TensorInfo[] {
  const out: TensorInfo[] = [];
  for (const comp of ["unet", "vae", "text_encoder"] as const) {
    for (const e of p[comp] ?? []) out.push({ name: e[0], shape: e[1], dtype: DT[e[2]] ?? "F32" });
  }
  return out;
}

/** "name [shape]" strings, sorted, for set comparisons with readable diffs. */
export function shapeSet(list: readonly { name: string; shape: readonly number[] }[]): string[] {
  return list.map((t) => `${t.name} [${t.shape.join(",")}]`).sort();
}

/**
 * Lists built from the reference folder at collection time: when the folder is absent the enclosing
 * describeWithReference is skipped, but its callback still runs, so give it one placeholder entry instead.
 */
export function whenReference<T>(list: () => T[], placeholder: T): T[] {
  return referenceDir() ? list() : [placeholder];
}
