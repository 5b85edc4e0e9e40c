/**
 * `sd-native serve`: the HTTP server (lib/server) over one or more models of any pipeline class (each serves
 * the endpoints of the class loadPipeline() returns for it).
 */
import { Option, type Command } from "commander";
import { basename } from "node:path";
import { loadPipeline, type AnyPipeline } from "../../pipelines/load.js";
import type { LoadPipelineOptions } from "../../pipelines/types.js";
import { createServer } from "../../server/index.js";
import { InvalidArgumentError } from "../../errors.js";
import { intArg, type CliIO } from "../util.js";

export interface ServeFlags {
  model: string[];
  port: number;
  host: string;
  apiKey?: string[];
  maxQueue?: number;
  maxBatchSize?: number;
  maxBatchWait?: number;
  timeout?: number;
  maxWidth?: number;
  maxHeight?: number;
  maxSteps?: number;
  maxN?: number;
  maxBody?: number;
  cors?: string[];
  grace: number;
  device: "auto" | "cpu" | "cuda";
  threads?: number;
  safetyChecker?: boolean;
}

/** "name=path" or "path" (named after the folder / repo id). */
function modelSpec(spec: string): { name: string; source: string } {
  const i = spec.indexOf("=");
  if (i > 0 && !spec.slice(0, i).includes("/")) return { name: spec.slice(0, i), source: spec.slice(i + 1) };
  const trimmed = spec.replace(/[\\/]+$/, "");
  return { name: /^[\w.-]+\/[\w.-]+$/.test(trimmed) ? trimmed : basename(trimmed), source: spec };
}

/**
 * Loads the models, serves until `stop` aborts (SIGTERM / SIGINT in the command), then closes gracefully and
 * frees the models. `onListening` gets the URL once the server accepts connections.
 */
export async function runServe(flags: ServeFlags, io: CliIO, stop: AbortSignal, onListening?: (url: string) => void): Promise<void> {
  const load: LoadPipelineOptions = { device: flags.device };
  if (flags.threads !== undefined) load.threads = flags.threads;
  if (flags.safetyChecker === false) load.safetyChecker = false;
  const models = new Map<string, AnyPipeline>();
  try {
    for (const spec of flags.model) {
      const { name, source } = modelSpec(spec);
      if (models.has(name)) throw new InvalidArgumentError(`two models are named ${JSON.stringify(name)}; name them with name=path`);
      io.stderr(`loading ${name} (${source}) ...\n`);
      const pipe = await loadPipeline(source, load);
      models.set(name, pipe);
      io.stderr(`loaded ${name}: ${pipe.pipelineClass}\n`);
    }
    const apiKeys = [...(flags.apiKey ?? []), ...(process.env.SDN_API_KEYS ?? "").split(",").map((k) => k.trim()).filter((k) => k !== "")];
    const limits: Record<string, number> = {};
    if (flags.maxWidth !== undefined) limits.maxWidth = flags.maxWidth;
    if (flags.maxHeight !== undefined) limits.maxHeight = flags.maxHeight;
    if (flags.maxSteps !== undefined) limits.maxSteps = flags.maxSteps;
    if (flags.maxN !== undefined) limits.maxN = flags.maxN;
    if (flags.maxBody !== undefined) limits.maxBodyBytes = flags.maxBody;
    const server = createServer({
      models, host: flags.host, port: flags.port, apiKeys, limits,
      ...(flags.cors ? { cors: flags.cors.includes("*") ? true : flags.cors } : {}),
      ...(flags.maxQueue !== undefined ? { maxQueue: flags.maxQueue } : {}),
      ...(flags.maxBatchSize !== undefined ? { maxBatchSize: flags.maxBatchSize } : {}),
      ...(flags.maxBatchWait !== undefined ? { maxBatchWaitMs: flags.maxBatchWait } : {}),
      ...(flags.timeout !== undefined ? { requestTimeoutMs: flags.timeout * 1000 } : {}),
      logError: (m) => io.stderr(`${m}\n`),
    });
    if (stop.aborted) return;
    const { url } = await server.start();
    io.stderr(`serving ${[...models.keys()].join(", ")} on ${url}${apiKeys.length ? " (API key required)" : ""}\n`);
    onListening?.(url);
    await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener("abort", () => resolve(), { once: true })));
    io.stderr(`shutting down (grace ${flags.grace} ms) ...\n`);
    await server.close({ graceMs: flags.grace });
  } finally {
    for (const p of models.values()) p.dispose();
  }
}

export function registerServeCommand(program: Command, io: CliIO): Command {
  const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];
  return program
    .command("serve")
    .description(
      "HTTP server: /v1/images/generations, img2img, inpaint, variations, upscale, depth2img (per the models' pipeline classes), " +
        "jobs with progress events, /metrics",
    )
    .requiredOption("-m, --model <path>", "model folder, single file or cached repo id; name=path to name it (repeatable)", collect)
    .option("--port <n>", "port (0: any free port)", intArg(0, 65535), 8080)
    .option("--host <addr>", "address to listen on", "127.0.0.1")
    .option("--api-key <key>", "require Authorization: Bearer <key> (repeatable; also SDN_API_KEYS=k1,k2)", collect)
    .option("--max-queue <n>", "queued jobs per model before 429 (default 32)", intArg(0))
    .option("--max-batch-size <n>", "jobs per model run together, their UNet calls merged per step (default 1)", intArg(1, 64))
    .option("--max-batch-wait <ms>", "how long a job's UNet call waits for the other running jobs' calls (default 20)", intArg(0, 60000))
    .option("--timeout <seconds>", "fail jobs not done this long after submission (default 600)", intArg(1))
    .option("--max-width <px>", "largest width (default 1024)", intArg(8, 8192))
    .option("--max-height <px>", "largest height (default 1024)", intArg(8, 8192))
    .option("--max-steps <n>", "most steps (default 150)", intArg(1, 10000))
    .option("--max-n <n>", "most images per request (default 4)", intArg(1, 64))
    .option("--max-body <bytes>", "largest request body (default 16 MiB)", intArg(1))
    .option("--cors <origin>", "allow this origin (repeatable; * for any); off by default", collect)
    .option("--grace <ms>", "on SIGTERM/SIGINT, how long running jobs may finish", intArg(0), 10_000)
    .addOption(new Option("--device <device>", "where to compute").choices(["auto", "cpu", "cuda"]).default("auto"))
    .option("--threads <n>", "CPU worker threads (default: all cores)", intArg(1, 1024))
    .option("--no-safety-checker", "do not run the safety checker (prints a warning)")
    .action(async (flags: ServeFlags) => {
      const ac = new AbortController();
      const onSignal = (): void => ac.abort();
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      try {
        await runServe(flags, io, ac.signal);
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    });
}
