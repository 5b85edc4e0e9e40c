#!/usr/bin/env node
// `npm install` hook: use a prebuilt binary from prebuilds/ when one matches this platform and loads
// (checked through node-gyp-build, the runtime loader); otherwise build from source with cmake-js.
// Never falls back to node-gyp. `npm install --build-from-source` forces a build.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const forceBuild = /^(1|true|sd-native)$/i.test(process.env.npm_config_build_from_source ?? "");

function prebuildLoads() {
  const probe = `require('node-gyp-build')(${JSON.stringify(root)}).version()`;
  const r = spawnSync(process.execPath, ["-e", probe], {
    cwd: root,
    env: { ...process.env, PREBUILDS_ONLY: "1" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  return r.status === 0;
}

if (!forceBuild && prebuildLoads()) {
  console.log("sd-native: using the prebuilt binary from prebuilds/");
  process.exit(0);
}
const r = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
