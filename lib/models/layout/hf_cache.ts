/**
 * Offline lookup of a Hugging Face Hub repo in the local HF cache (never downloads):
 *   cache root: options.cacheDir > $HF_HUB_CACHE > $HUGGINGFACE_HUB_CACHE > $HF_HOME/hub > ~/.cache/huggingface/hub
 *   repo folder: <root>/models--<org>--<name>
 *   revision: a 40-hex commit → snapshots/<commit>; otherwise refs/<revision> (default "main") holds the commit.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError, NotFoundError } from "../../errors.js";

export interface HfCacheOptions {
  /** Branch, tag or commit hash (default "main"). */
  revision?: string;
  /** Explicit cache root (the folder holding models--*). */
  cacheDir?: string;
  /** Environment to read (default process.env); for tests. */
  env?: Record<string, string | undefined>;
  /** Home folder (default os.homedir()); for tests. */
  home?: string;
}

export interface HfSnapshot {
  repoId: string;
  revision: string;
  commit: string;
  /** snapshots/<commit> folder. */
  path: string;
  cacheRoot: string;
}

const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** True for "org/name" strings (not paths). */
export function looksLikeRepoId(s: string): boolean {
  return REPO_ID.test(s) && !s.includes("..");
}

/** Cache roots to search, in order, with where each came from. */
export function hfCacheRoots(opts: HfCacheOptions = {}): { path: string; source: string }[] {
  const env = opts.env ?? process.env;
  if (opts.cacheDir) return [{ path: opts.cacheDir, source: "cacheDir option" }];
  if (env.HF_HUB_CACHE) return [{ path: env.HF_HUB_CACHE, source: "$HF_HUB_CACHE" }];
  if (env.HUGGINGFACE_HUB_CACHE) return [{ path: env.HUGGINGFACE_HUB_CACHE, source: "$HUGGINGFACE_HUB_CACHE" }];
  if (env.HF_HOME) return [{ path: join(env.HF_HOME, "hub"), source: "$HF_HOME/hub" }];
  const home = opts.home ?? homedir();
  return [{ path: join(home, ".cache", "huggingface", "hub"), source: "~/.cache/huggingface/hub" }];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Finds the snapshot folder of `repoId` at `revision`; NotFoundError lists every place it looked. */
export function resolveHfSnapshot(repoId: string, opts: HfCacheOptions = {}): HfSnapshot {
  if (!looksLikeRepoId(repoId)) throw new InvalidArgumentError(`"${repoId}" is not a Hugging Face repo id of the form org/name`);
  const revision = opts.revision ?? "main";
  if (!/^[A-Za-z0-9._\-/]+$/.test(revision) || revision.split("/").includes("..")) {
    throw new InvalidArgumentError(`invalid revision ${JSON.stringify(revision)}`);
  }
  const looked: string[] = [];
  for (const root of hfCacheRoots(opts)) {
    const repoDir = join(root.path, `models--${repoId.replace("/", "--")}`);
    if (!isDir(repoDir)) {
      looked.push(`${repoDir} (from ${root.source}): not present`);
      continue;
    }
    if (/^[0-9a-f]{40}$/.test(revision)) {
      const snap = join(repoDir, "snapshots", revision);
      if (isDir(snap)) return { repoId, revision, commit: revision, path: snap, cacheRoot: root.path };
      looked.push(`${snap}: not present`);
      continue;
    }
    const ref = join(repoDir, "refs", revision);
    let commit: string;
    try {
      commit = readFileSync(ref, "utf8").trim();
    } catch {
      looked.push(`${ref}: not present`);
      continue;
    }
    const snap = join(repoDir, "snapshots", commit);
    if (isDir(snap)) return { repoId, revision, commit, path: snap, cacheRoot: root.path };
    looked.push(`${ref} → ${commit}, but ${snap} is not present`);
  }
  throw new NotFoundError(
    `Hugging Face repo "${repoId}" (revision ${revision}) is not in the local cache (offline lookup only). Looked in: ${looked.join("; ")}`,
  );
}
