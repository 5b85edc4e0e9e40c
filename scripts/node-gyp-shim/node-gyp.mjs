#!/usr/bin/env node
// prebuildify only knows how to drive node-gyp. This shim stands in for node-gyp when prebuildify runs
// (PREBUILD_NODE_GYP points here): it accepts `rebuild [--target=..] [--arch=..] [--release|--debug] ...`
// and builds with cmake-js instead, leaving build/Release/sd_native.node where prebuildify looks.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
if (args[0] !== "rebuild") {
  console.error(`sd-native node-gyp shim: only "rebuild" is supported (got ${args.join(" ")})`);
  process.exit(1);
}
const arch = args.find((a) => a.startsWith("--arch="))?.slice(7);
if (arch && arch !== process.arch) {
  console.error(`sd-native node-gyp shim: cross-compiling to ${arch} is not supported`);
  process.exit(1);
}
const r = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")], {
  stdio: "inherit",
  cwd: root,
  env: { ...process.env },
});
process.exit(r.status ?? 1);
