#!/usr/bin/env node
// `npm run prebuild`: prebuildify (N-API, stripped) with the cmake-js shim standing in for node-gyp.
// Output: prebuilds/<platform>-<arch>/sd-native.node (the build is incremental if build/ exists).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const bin = join(dirname(require.resolve("prebuildify/package.json")), "bin.js");
const r = spawnSync(process.execPath, [bin, "--napi", "--strip", ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: root,
  env: { ...process.env, PREBUILD_NODE_GYP: join(root, "scripts", "node-gyp-shim", "node-gyp.mjs") },
});
process.exit(r.status ?? 1);
