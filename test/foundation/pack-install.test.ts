// The prebuilt binary must load on a machine with no compiler: build the prebuild, `npm pack`, install
// the tarball into an empty folder with scripts disabled and PATH stripped of compilers, and run it.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, symlinkSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoPath } from "../helpers/reference.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const work = mkdtempSync(join(tmpdir(), "sdn-pack-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("packed tarball", () => {
  it("installs with --ignore-scripts and loads the prebuilt binary without a compiler", () => {
    execFileSync(process.execPath, [repoPath("scripts", "prebuild.mjs")], { cwd: repoPath(), stdio: "pipe", timeout: 900_000 });
    const prebuilds = readdirSync(repoPath("prebuilds", `${process.platform}-${process.arch}`));
    expect(prebuilds.some((f) => f.endsWith(".node"))).toBe(true);

    const packOut = execFileSync(npm, ["pack", "--json", "--pack-destination", work], { cwd: repoPath(), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    const tarball = join(work, (JSON.parse(packOut) as Array<{ filename: string }>)[0]!.filename);
    const files = (JSON.parse(packOut) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toContain("dist/index.js");
    expect(files.some((f) => f.startsWith("prebuilds/") && f.endsWith(".node"))).toBe(true);
    expect(files.some((f) => f.startsWith("build/"))).toBe(false);

    const app = join(work, "app");
    mkdirSync(app);
    execFileSync(npm, ["init", "-y"], { cwd: app, stdio: "ignore" });
    execFileSync(npm, ["install", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: app,
      stdio: "pipe",
      timeout: 600_000,
    });

    // A PATH with node and nothing else: no cc, g++, cmake or nvcc can be found.
    const bin = join(work, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node"));
    const script =
      "const m = await import('sd-native'); const info = m.getBackendInfo();" +
      "const ctx = await m.createContext({ device: 'cpu' }); const c = new Float32Array(1);" +
      "await ctx.gemm(1, 1, 1, new Float32Array([3]), new Float32Array([4]), c); ctx.dispose();" +
      "console.log(JSON.stringify({ backends: info.compiledBackends, c: c[0] }));";
    const r = spawnSync(join(bin, "node"), ["--input-type=module", "-e", script], {
      cwd: app,
      env: { PATH: bin, HOME: work },
      encoding: "utf8",
    });
    if (r.status !== 0) console.error(r.stderr);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    expect(out.c).toBe(12);
    expect(out.backends).toContain("cpu");
    // And it is the prebuild that loaded: the installed package has no build/ folder.
    expect(readdirSync(join(app, "node_modules", "sd-native"))).not.toContain("build");
    expect(spawnSync(join(bin, "node"), ["-e", "require('child_process').execSync('g++ --version')"], { env: { PATH: bin } }).status).not.toBe(0);
  }, 900_000);
});
