#!/usr/bin/env node
// `npm run bench`: the native benchmark binary (GEMM ceiling and kernel/network stages, as ms and as a
// ratio to the ceiling measured in the same run), then the TypeScript micro-benchmarks (tokenizer,
// schedulers) through vitest bench. Numbers only: nothing here asserts a speed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeBench = join(root, "build", "bin", "sdn_bench");
let status = 0;
if (existsSync(nativeBench)) {
  console.log(`== native: ${nativeBench} ${process.argv.slice(2).join(" ")}`);
  const r = spawnSync(nativeBench, process.argv.slice(2), { stdio: "inherit" });
  status ||= r.status ?? 1;
} else {
  console.log("== native bench binary not built (build/bin/sdn_bench): run `npm run build:native` in a source checkout");
}
console.log("== TypeScript micro-benchmarks (vitest bench)");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const r = spawnSync(process.execPath, [vitest, "bench", "--run"], { stdio: "inherit", cwd: root });
status ||= r.status ?? 1;
process.exit(status);
