/** `sd-native info`: compiled backends, devices, CUDA libraries, threads and SIMD level. */
import type { Command } from "commander";
import { getBackendInfo, type BackendInfo } from "../../backend-info.js";

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

export function formatBackendInfo(info: BackendInfo): string {
  const lines: string[] = [];
  lines.push(`sd-native core ${info.version}`);
  lines.push(`compiled backends: ${info.compiledBackends.join(", ")}`);
  lines.push(`default device:    ${info.defaultBackend}`);
  lines.push("");
  lines.push(`CPU: ${info.cpu.brand || info.cpu.vendor || "unknown"}`);
  lines.push(`  threads:      ${info.cpu.threads}`);
  lines.push(`  SIMD in use:  ${info.cpu.simdInUse} (best available: ${info.cpu.simdBest})`);
  lines.push(`  compute:      ${info.cpu.computeInUse}${info.cpu.computeReason ? ` (${info.cpu.computeReason})` : ""}; bf16 kernels ${info.cpu.bf16Available ? "available" : "not available"}`);
  lines.push(`  features:     ${info.cpu.features.join(" ") || "none detected"}`);
  lines.push("");
  const c = info.cuda;
  if (!c.compiled) {
    lines.push(`CUDA: not compiled in (${c.reason})`);
  } else {
    lines.push(`CUDA: compiled (architectures ${c.architectures}; runtime ${c.runtimeVersion}, driver ${c.driverVersion || "none"})`);
    if (c.usable) {
      for (const d of c.devices) {
        lines.push(`  device ${d.index}: ${d.name}, compute ${d.computeCapability}, ${d.multiprocessors} SMs, ${gib(d.totalMemory)} (${gib(d.freeMemory)} free)`);
      }
    } else {
      lines.push(`  not usable: ${c.reason}`);
      lines.push("  falling back to the CPU backend");
    }
    for (const [name, lib] of [["cuBLASLt", c.cublasLt], ["cuDNN", c.cudnn]] as const) {
      lines.push(lib.loaded ? `  ${name}: ${lib.version} (${lib.path})` : `  ${name}: not loaded — ${lib.reason}`);
    }
  }
  return lines.join("\n");
}

export function registerInfoCommand(program: Command): void {
  program
    .command("info")
    .description("show compiled backends, devices, CUDA libraries, threads and SIMD level")
    .option("--json", "print machine-readable JSON")
    .action((opts: { json?: boolean }) => {
      const info = getBackendInfo();
      process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : `${formatBackendInfo(info)}\n`);
    });
}
