import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { repoPath } from "../helpers/reference.js";

const cli = repoPath("dist", "cli", "main.js");

describe("sd-native CLI", () => {
  it("info --json prints the backend report", () => {
    const out = execFileSync(process.execPath, [cli, "info", "--json"], { encoding: "utf8" });
    const info = JSON.parse(out);
    expect(info.compiledBackends).toContain("cpu");
    expect(typeof info.cuda.reason).toBe("string");
  });

  it("info prints a human summary with the SIMD level and CUDA status", () => {
    const out = execFileSync(process.execPath, [cli, "info"], { encoding: "utf8" });
    expect(out).toMatch(/SIMD in use:/);
    expect(out).toMatch(/CUDA: /);
  });

  it("an unknown command exits non-zero with help", () => {
    let status = 0;
    try {
      execFileSync(process.execPath, [cli, "frobnicate"], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).not.toBe(0);
  });
});
