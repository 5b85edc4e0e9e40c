import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoPath } from "../helpers/reference.js";

const binary = repoPath("build", "bin", "sdn_tests");

describe("native test binary (sdn_tests)", () => {
  it.skipIf(!existsSync(binary))("passes every case", () => {
    const r = spawnSync(binary, [], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    const summary = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.status !== 0) console.error(r.stdout.slice(-8000), r.stderr.slice(-8000));
    expect(summary).toMatch(/^\d+ passed, 0 failed, \d+ skipped$/);
    expect(r.status).toBe(0);
  });
});
