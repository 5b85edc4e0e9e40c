#!/usr/bin/env node
// `npm run bench [-- --model <diffusers folder>] [--seconds S]`
// 1. the native benchmark binary: GEMM ceiling and kernels (GFLOP/s and % of the measured FMA peak);
// 2. with --model: load time / peak RSS (scripts/bench-load.mjs) and the network stages (text encoder,
//    UNet batch 2 at 32x32 and 64x64 latents, VAE decode 256^2 and 512^2) as ms and GFLOP/s against the
//    GEMM peak measured in the same run. A full-size random SD1.5 folder: `sd-native make-random-model
//    --config ../shared/reference/configs/runwayml--stable-diffusion-v1-5 --dtype f16 --out /tmp/sd15`;
// 3. the TypeScript micro-benchmarks (tokenizer, schedulers) through vitest bench.
// Numbers only: nothing here asserts a speed.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const modelAt = args.indexOf("--model");
const model = modelAt >= 0 ? args[modelAt + 1] : undefined;
const passthrough = args.filter((_, i) => i !== modelAt && i !== modelAt + 1);
const nativeBench = join(root, "build", "bin", "sdn_bench");
let status = 0;
const run = (cmd, argv, opts = {}) => {
  const r = spawnSync(cmd, argv, { stdio: "inherit", cwd: root, ...opts });
  status ||= r.status ?? 1;
};

if (existsSync(nativeBench)) {
  console.log(`== native kernels: ${nativeBench} ${passthrough.join(" ")}`);
  run(nativeBench, passthrough);
  if (model) {
    console.log(`== model load: ${model}`);
    run(process.execPath, [join(root, "scripts", "bench-load.mjs"), model]);
    console.log(`== networks: ${model}`);
    run(nativeBench, ["--model", model, ...passthrough]);
  }
} else {
  console.log("== native bench binary not built (build/bin/sdn_bench): run `npm run build:native` in a source checkout");
}
console.log("== TypeScript micro-benchmarks (vitest bench)");
run(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "bench", "--run"]);
process.exit(status);
