/**
 * One entry point for "where is the model": a diffusers folder, a single checkpoint file, or an HF repo id
 * found in the local cache.
 */
import { existsSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { NotFoundError, UnsupportedError } from "../../errors.js";
import { resolveDiffusersFolder, type DiffusersFolderOptions, type ResolvedDiffusersModel } from "./diffusers.js";
import { looksLikeRepoId, resolveHfSnapshot, type HfCacheOptions, type HfSnapshot } from "./hf_cache.js";

export type SingleFileFormat = "safetensors" | "ckpt" | "bin";

export interface ResolvedSingleFile {
  kind: "single-file";
  path: string;
  format: SingleFileFormat;
  /** `<same name>.yaml` next to the checkpoint, if present (the LDM config the checkpoint was released with). */
  yamlPath: string | null;
}

export type ResolvedModelSource = (ResolvedDiffusersModel & { hf?: HfSnapshot }) | ResolvedSingleFile;

const SINGLE_FILE_EXT: Record<string, SingleFileFormat> = {
  ".safetensors": "safetensors",
  ".ckpt": "ckpt",
  ".pt": "ckpt",
  ".pth": "ckpt",
  ".bin": "bin",
};

export function resolveSingleFile(path: string): ResolvedSingleFile {
  const p = resolve(path);
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    throw new NotFoundError(`${p}: file not found`, { cause: e });
  }
  if (!st.isFile()) throw new NotFoundError(`${p}: not a file`);
  const ext = extname(p).toLowerCase();
  const format = SINGLE_FILE_EXT[ext];
  if (!format) {
    throw new UnsupportedError(`${p}: unsupported checkpoint extension "${ext}" (expected .safetensors, .ckpt or .bin)`);
  }
  const stem = p.slice(0, p.length - ext.length);
  const yamlPath = [`${stem}.yaml`, `${stem}.yml`].find((y) => existsSync(y)) ?? null;
  return { kind: "single-file", path: p, format, yamlPath };
}

export interface ResolveModelOptions extends DiffusersFolderOptions, HfCacheOptions {}

/**
 * Existing directory → diffusers folder; existing file → single checkpoint; "org/name" that is not a local
 * path → HF cache snapshot (a diffusers folder). NotFoundError otherwise, naming what was tried.
 */
export function resolveModelSource(spec: string, opts: ResolveModelOptions = {}): ResolvedModelSource {
  if (existsSync(spec)) {
    const st = statSync(spec);
    if (st.isDirectory()) return resolveDiffusersFolder(spec, opts);
    return resolveSingleFile(spec);
  }
  if (looksLikeRepoId(spec)) {
    const snap = resolveHfSnapshot(spec, opts);
    return { ...resolveDiffusersFolder(snap.path, opts), hf: snap };
  }
  throw new NotFoundError(`${spec}: no such file or folder, and "${basename(spec)}" is not an org/name Hugging Face repo id`);
}
