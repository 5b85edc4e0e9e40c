/**
 * Locating ../shared/reference (the diffusers reference data set). Tests that need it use
 * `describeWithReference`, which skips with a visible notice when the folder is absent (a fresh clone
 * without shared/ beside it), so CI logs say what did not run.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Absolute path of the reference folder, or null when it is not present. `SDN_REFERENCE_DIR` overrides. */
export function referenceDir(): string | null {
  const candidates = [process.env.SDN_REFERENCE_DIR, join(repoRoot, "..", "shared", "reference")];
  for (const c of candidates) {
    if (c && existsSync(join(c, "README.md"))) return c;
  }
  return null;
}

/** Path inside the reference folder; throws if the folder is absent (use inside describeWithReference). */
export function referencePath(...parts: string[]): string {
  const dir = referenceDir();
  if (!dir) throw new Error("reference data set not present");
  return join(dir, ...parts);
}

/** The repository root (for fixtures: test/fixtures/...). */
export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

let noticePrinted = false;

/** describe() that runs only when ../shared/reference exists; otherwise skips and prints why, once. */
export function describeWithReference(name: string, fn: () => void): void {
  if (referenceDir()) {
    describe(name, fn);
    return;
  }
  if (!noticePrinted) {
    noticePrinted = true;
    console.warn("[sd-native tests] ../shared/reference not found: reference-parity tests are SKIPPED");
  }
  // The body is not run (it would read reference files while collecting); one skipped test says why.
  describe(name, () => {
    it.skip("needs ../shared/reference (not present here)", () => undefined);
  });
}
