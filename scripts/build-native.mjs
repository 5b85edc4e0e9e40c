#!/usr/bin/env node
// Builds the native addon with cmake-js into build/ (build/Release/sd_native.node).
// In a source checkout (test/ present) it also builds the native test and bench binaries (build/bin/).
// Environment: SDN_CUDA=AUTO|ON|OFF, SDN_CUDA_ARCHS="80-real;86-real;89-real;90", SDN_BUILD_JOBS=N.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));

let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve("cmake-js/package.json")), "bin", "cmake-js");
} catch {
  console.error("sd-native: cmake-js is not installed; run `npm install` in the package folder first");
  process.exit(1);
}

const sourceCheckout = existsSync(join(root, "test"));
const defines = [];
const cuda = process.env.SDN_CUDA ?? "AUTO";
defines.push(`--CDSDN_CUDA=${cuda}`);
if (process.env.SDN_CUDA_ARCHS) defines.push(`--CDSDN_CUDA_ARCHS=${process.env.SDN_CUDA_ARCHS}`);
defines.push(`--CDSDN_BUILD_TESTS=${sourceCheckout ? "ON" : "OFF"}`);
defines.push(`--CDSDN_BUILD_BENCH=${sourceCheckout ? "ON" : "OFF"}`);
defines.push(`--CDSDN_BUILD_SHARED=OFF`);

const jobs = process.env.SDN_BUILD_JOBS ?? String(Math.max(1, availableParallelism()));
const args = [cmakeJs, "build", "--directory", root, "--out", join(root, "build"), "--parallel", jobs, ...defines];
console.log(`sd-native: building the native addon (cmake-js, SDN_CUDA=${cuda}, ${jobs} jobs)`);
const r = spawnSync(process.execPath, args, { stdio: "inherit", cwd: root });
if (r.status !== 0) {
  console.error(
    "sd-native: the native build failed. It needs cmake >= 3.18 and a C++17 compiler (g++ or clang++);" +
      " nvcc is optional (CUDA backend). Set SDN_CUDA=OFF to build without CUDA.",
  );
  process.exit(r.status ?? 1);
}
