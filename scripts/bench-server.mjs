#!/usr/bin/env node
// HTTP server benchmark: starts the sd-native server in this process (127.0.0.1, a free port) on one model and
// sends a bounded load of text-to-image requests with node's fetch, N requests at concurrency C, first
// sequential (maxBatchSize 1), then continuously batched (maxBatchSize 8). Prints one JSON line per mode:
// requests/s, latency p50/p99, errors, UNet forwards vs calls and RSS before/after (after a GC when run with
// --expose-gc). Loopback traffic only; the request count and the wall time are bounded.
//
// Usage: npm run build:ts && node --expose-gc scripts/bench-server.mjs [model folder] [options]
//   model folder   default ../shared/reference/models/tiny-sd1 (relative to the repository root)
//   --n N          requests per mode (default 100; --soak: 500)
//   --concurrency C  requests in flight (default 16)
//   --soak         500 requests per mode (an RSS soak: compare rssAfter with rssBefore)
//   --size PX      width = height (default 64)
//   --steps S      denoising steps (default 2)
//   --batch B      the batched mode's maxBatchSize (default 8)
//   --threads T    CPU threads of the model (default: all cores)
//   --max-seconds S  stop sending new requests after S seconds per mode (default 300)
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const flags = new Map();
const positional = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--soak") flags.set("soak", true);
  else if (a === "--help" || a === "-h") flags.set("help", true);
  else if (a.startsWith("--")) {
    const v = argv[++i];
    if (v === undefined) fail(`${a} needs a value`);
    flags.set(a.slice(2), v);
  } else positional.push(a);
}
function fail(msg) {
  console.error(`bench-server: ${msg}`);
  process.exit(2);
}
function intFlag(name, dflt, min, max) {
  if (!flags.has(name)) return dflt;
  const v = Number(flags.get(name));
  if (!Number.isInteger(v) || v < min || v > max) fail(`--${name} must be an integer in [${min}, ${max}]`);
  return v;
}
if (flags.get("help")) {
  console.log("usage: node --expose-gc scripts/bench-server.mjs [model folder] [--n N] [--concurrency C] [--soak] [--size PX] [--steps S] [--batch B] [--threads T] [--max-seconds S]");
  process.exit(0);
}
const soak = flags.get("soak") === true;
const N = intFlag("n", soak ? 500 : 100, 1, 10_000);
const C = intFlag("concurrency", 16, 1, 256);
const size = intFlag("size", 64, 8, 1024);
const steps = intFlag("steps", 2, 1, 150);
const batch = intFlag("batch", 8, 2, 64);
const threads = flags.has("threads") ? intFlag("threads", 1, 1, 1024) : undefined;
const maxSeconds = intFlag("max-seconds", 300, 1, 3600);
if (size % 8 !== 0) fail("--size must be a multiple of 8");
const model = positional[0]
  ? (isAbsolute(positional[0]) ? positional[0] : resolve(process.cwd(), positional[0]))
  : resolve(root, "..", "shared", "reference", "models", "tiny-sd1");
if (!existsSync(model)) fail(`model folder ${model} does not exist`);

const dist = join(root, "dist", "index.js");
if (!existsSync(dist)) fail("dist/ is missing: run `npm run build:ts` first");
const sd = await import(pathToFileURL(dist).href);
if (typeof sd.createServer !== "function") fail("dist/ has no createServer: run `npm run build:ts`");

const gc = typeof globalThis.gc === "function" ? globalThis.gc : null;
function rss() {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().rss;
}
const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i] * 10) / 10;
}

const t0 = performance.now();
const pipe = await sd.loadPipeline(model, threads ? { threads } : {});
const loadMs = Math.round(performance.now() - t0);
if (pipe.pipelineClass !== "StableDiffusionPipeline") {
  fail(`${model} is a ${pipe.pipelineClass}; this benchmark sends text-to-image requests (use a StableDiffusionPipeline model)`);
}
console.log(JSON.stringify({
  stage: "setup", model, pipeline: pipe.pipelineClass, loadMs, requests: N, concurrency: C, size, steps, soak, gcExposed: gc !== null,
  node: process.version,
}));

async function runMode(name, maxBatchSize) {
  const server = sd.createServer({
    models: { bench: pipe }, host: "127.0.0.1", port: 0, maxBatchSize, maxQueue: C + 8,
    requestTimeoutMs: maxSeconds * 1000 + 60_000, limits: { maxWidth: Math.max(1024, size), maxHeight: Math.max(1024, size), maxSteps: 150 },
    logError: (m) => console.error(m),
  });
  const { url } = await server.start();
  const endpoint = `${url}/v1/images/generations`;
  const send = async (i) => {
    const started = performance.now();
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: `benchmark prompt ${i % 10}`, width: size, height: size, steps, seed: i, response_format: "binary" }),
    });
    await res.arrayBuffer();
    return { ok: res.status === 200, status: res.status, ms: performance.now() - started };
  };
  // warm-up (not measured): one request alone, then a burst of C
  await send(-1);
  await Promise.all(Array.from({ length: Math.min(C, 8) }, (_, i) => send(-2 - i)));

  const rssBefore = rss();
  const heapBefore = process.memoryUsage().heapUsed;
  const latencies = [];
  const statuses = {};
  let next = 0, errors = 0, stoppedEarly = false;
  const deadline = performance.now() + maxSeconds * 1000;
  const start = performance.now();
  const worker = async () => {
    while (next < N) {
      if (performance.now() > deadline) {
        stoppedEarly = true;
        return;
      }
      const i = next++;
      try {
        const r = await send(i);
        if (r.ok) latencies.push(r.ms);
        else {
          errors++;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: C }, worker));
  const seconds = (performance.now() - start) / 1000;
  const metrics = await (await fetch(`${url}/metrics`)).text();
  await server.close({ graceMs: 1000 });
  const rssAfter = rss();
  const heapAfter = process.memoryUsage().heapUsed;
  latencies.sort((a, b) => a - b);
  const forwards = Number(/sdn_unet_forwards_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? NaN);
  const calls = Number(/sdn_unet_calls_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? NaN);
  const line = {
    stage: "load", mode: name, maxBatchSize, requests: latencies.length + errors, ok: latencies.length, errors,
    ...(errors ? { errorStatuses: statuses } : {}), ...(stoppedEarly ? { stoppedEarly: true } : {}),
    seconds: Math.round(seconds * 100) / 100, requestsPerSecond: Math.round((latencies.length / seconds) * 100) / 100,
    p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: percentile(latencies, 100),
    ...(Number.isFinite(forwards) ? { unetForwards: forwards, unetCalls: calls, callsPerForward: Math.round((calls / forwards) * 100) / 100 } : {}),
    rssBeforeMiB: mb(rssBefore), rssAfterMiB: mb(rssAfter), rssDeltaMiB: mb(rssAfter - rssBefore),
    heapUsedBeforeMiB: mb(heapBefore), heapUsedAfterMiB: mb(heapAfter),
  };
  console.log(JSON.stringify(line));
  return line;
}

const sequential = await runMode("sequential", 1);
const batched = await runMode("batched", batch);
console.log(JSON.stringify({
  stage: "summary", speedup: Math.round((batched.requestsPerSecond / sequential.requestsPerSecond) * 100) / 100,
  p50Ratio: Math.round((batched.p50Ms / sequential.p50Ms) * 100) / 100, finalRssMiB: mb(rss()),
}));
pipe.dispose();
