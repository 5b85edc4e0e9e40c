#!/usr/bin/env node
// Model loading benchmark: loads the UNet, VAE and text encoder of a diffusers folder through the public
// API in a fresh process and reports load time and peak RSS against the weight files' size (weights are
// memory-mapped, so loading must not copy them: peak RSS stays far below the file size).
// Usage: node scripts/bench-load.mjs <diffusers folder>   (e.g. one made by `sd-native make-random-model`)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const model = process.argv[2];
if (!model) {
  console.error("usage: node scripts/bench-load.mjs <diffusers model folder>");
  process.exit(2);
}

let weightBytes = 0;
for (const comp of ["unet", "vae", "text_encoder"]) {
  for (const f of readdirSync(join(model, comp))) if (f.endsWith(".safetensors")) weightBytes += statSync(join(model, comp, f)).size;
}

const child = `
const { createContext, loadUNet, loadVae, loadTextEncoder } = await import(${JSON.stringify(join(root, "dist", "index.js"))});
const baseline = process.resourceUsage().maxRSS * 1024;
const t0 = performance.now();
const ctx = await createContext({ device: "cpu" });
const unet = await loadUNet(ctx, ${JSON.stringify(join(model, "unet"))});
const vae = await loadVae(ctx, ${JSON.stringify(join(model, "vae"))});
const te = await loadTextEncoder(ctx, ${JSON.stringify(join(model, "text_encoder"))});
const ms = performance.now() - t0;
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ loadMs: ms, peakRssBytes: peak, baselineRssBytes: baseline }));
unet.dispose(); vae.dispose(); te.dispose(); ctx.dispose();
`;
const r = spawnSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8" });
if (r.status !== 0) {
  console.error(r.stderr);
  process.exit(1);
}
const out = JSON.parse(r.stdout.trim().split("\n").at(-1));
const loadRss = out.peakRssBytes - out.baselineRssBytes;
console.log(
  JSON.stringify({
    stage: "load",
    model,
    weightBytes,
    loadMs: Math.round(out.loadMs),
    peakRssBytes: out.peakRssBytes,
    rssAddedByLoadBytes: loadRss,
    rssAddedOverWeights: Number((loadRss / weightBytes).toFixed(3)),
  }),
);
