import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getBackendInfo } from "../../lib/index.js";

function nvccPresent(): boolean {
  return spawnSync("nvcc", ["--version"], { stdio: "ignore" }).status === 0 || existsSync("/usr/local/cuda/bin/nvcc");
}

function gpuPresent(): boolean {
  return existsSync("/dev/nvidia0") || existsSync("/dev/nvidiactl");
}

describe("getBackendInfo", () => {
  const info = getBackendInfo();

  it("always lists the CPU backend with the SIMD level in use", () => {
    expect(info.compiledBackends).toContain("cpu");
    expect(["portable", "avx2", "avx512"]).toContain(info.cpu.simdInUse);
    expect(info.cpu.threads).toBeGreaterThanOrEqual(1);
  });

  it("reports CUDA as compiled exactly when the build machine had nvcc", () => {
    expect(info.cuda.compiled).toBe(nvccPresent());
    expect(info.compiledBackends.includes("cuda")).toBe(info.cuda.compiled);
    if (info.cuda.compiled) expect(info.cuda.architectures).toMatch(/90/);
  });

  it("says why CUDA is not usable when there is no GPU, and defaults to the CPU", () => {
    if (gpuPresent()) {
      expect(info.cuda.usable).toBe(true);
      expect(info.cuda.devices.length).toBeGreaterThan(0);
      return;
    }
    expect(info.cuda.usable).toBe(false);
    expect(info.cuda.reason.length).toBeGreaterThan(10);
    expect(info.cuda.devices).toEqual([]);
    expect(info.defaultBackend).toBe("cpu");
  });

  it("reports cuBLASLt and cuDNN as loaded with a version, or with the reason they are not", () => {
    for (const lib of [info.cuda.cublasLt, info.cuda.cudnn]) {
      if (lib.loaded) {
        expect(lib.version).toMatch(/^\d+\.\d+\.\d+$/);
        expect(lib.path).not.toBe("");
      } else {
        expect(lib.reason).not.toBe("");
      }
    }
  });

  it("reports the CPU compute mode, f32 by default and bf16 when asked on a CPU that has it", () => {
    expect(info.cpu.computeInUse).toBe("f32");
    const out = execFileSync(process.execPath, ["-e", "import('./dist/index.js').then(m => process.stdout.write(JSON.stringify(m.getBackendInfo().cpu)))"], {
      env: { ...process.env, SDN_CPU_COMPUTE: "bf16" },
      encoding: "utf8",
    });
    const cpu = JSON.parse(out);
    expect(cpu.computeInUse).toBe(cpu.bf16Available && cpu.simdInUse === "avx512" ? "bf16" : "f32");
    if (cpu.computeInUse === "f32") expect(cpu.computeReason).not.toBe("");
  });

  it("matches what the SIMD override asks for (SDN_SIMD=portable)", () => {
    const out = execFileSync(process.execPath, ["-e", "import('./dist/index.js').then(m => process.stdout.write(m.getBackendInfo().cpu.simdInUse))"], {
      env: { ...process.env, SDN_SIMD: "portable" },
      encoding: "utf8",
    });
    expect(out).toBe("portable");
  });
});
