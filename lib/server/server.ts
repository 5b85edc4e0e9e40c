/** The HTTP server: routing, auth, CORS, sync / async jobs, server-sent events, metrics, graceful close. */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { InvalidArgumentError } from "../errors.js";
import type { DiffusionPipeline } from "../pipelines/base.js";
import { ENDPOINTS, JOB_KINDS, kindsOf, modelInfo, type JobKind, type ModelInfo } from "./capabilities.js";
import { HttpError, publicError } from "./errors.js";
import { Job, ModelQueue, resultBody, type JobError, type JobEvent } from "./jobs.js";
import { Metrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { DEFAULT_LIMITS, readJsonBody, validateGeneration, type ServerLimits } from "./validate.js";

export interface ServerOptions {
  /**
   * The models to serve, by the name clients pass as `model`: pipelines as loadPipeline() returns them. Each
   * serves the endpoints of its class (StableDiffusionPipeline: generations and img2img; the inpaint,
   * image-variation, upscale and depth2img pipelines: their endpoint). A request without `model` goes to the
   * first model that serves its endpoint.
   */
  models: Record<string, DiffusionPipeline> | Map<string, DiffusionPipeline>;
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 8080; 0 picks a free port (see `start()`'s result). */
  port?: number;
  /** When set, every endpoint except /health and /openapi.json needs `Authorization: Bearer <key>`. */
  apiKeys?: readonly string[];
  /** CORS: off by default; true allows any origin, a string / list allows those origins. */
  cors?: boolean | string | readonly string[];
  /** Queued (not yet running) jobs per model before requests get 429 (default 32). */
  maxQueue?: number;
  /** Jobs run at once per model, their UNet calls merged step by step (default 1: one job at a time). */
  maxBatchSize?: number;
  /**
   * With maxBatchSize > 1: how long a running job's UNet call waits for the other running jobs' calls of the
   * same step before it runs without them (default 20 ms).
   */
  maxBatchWaitMs?: number;
  /** A job not finished this long after it was submitted fails with code "timeout" (default 10 minutes). */
  requestTimeoutMs?: number;
  /** Field and body limits (defaults in DEFAULT_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** How long finished jobs stay readable at /v1/jobs/:id (default 10 minutes). */
  jobTtlMs?: number;
  /** Most jobs kept (finished ones are dropped oldest first beyond it; default 256). */
  maxRetainedJobs?: number;
  /** Where unexpected errors are logged (default: console.error). */
  logError?: (message: string) => void;
}

export interface CloseOptions {
  /** How long running jobs may take to finish before they are aborted (default 10 s). */
  graceMs?: number;
}

const JOB_PATH = /^\/v1\/jobs\/([0-9a-f-]{36})(\/events)?$/;

/** The endpoint paths → the kind of job they make. */
const IMAGE_ROUTES = new Map<string, JobKind>(JOB_KINDS.map((k) => [ENDPOINTS[k], k]));

/**
 * A request handler that serves the API without listening: mount it in node:http, express
 * (`app.use(handler)`) or fastify. With a `next` (express / connect), paths the API does not know are passed on
 * instead of answering 404.
 */
export type SdRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

function sha256(s: string | Buffer): Buffer {
  return createHash("sha256").update(s).digest();
}

export class SdServer {
  readonly httpServer: Server;
  readonly limits: ServerLimits;
  /**
   * Serves the API without listening (`start()` is then not needed): `(req, res) => void` for node:http,
   * express (`app.use(server.handler)`) or fastify (see README). `close()` still drains the queues.
   */
  readonly handler: SdRequestHandler;
  private readonly queues = new Map<string, ModelQueue>();
  private readonly modelInfos: ModelInfo[] = [];
  private readonly jobs = new Map<string, Job>();
  private readonly metrics = new Metrics();
  private readonly keyHashes: Buffer[];
  private readonly corsOrigins: string[] | "*" | null;
  private readonly maxQueue: number;
  private readonly requestTimeoutMs: number;
  private readonly jobTtlMs: number;
  private readonly maxRetainedJobs: number;
  private readonly logError: (m: string) => void;
  private readonly sseStreams = new Set<ServerResponse>();
  private avgJobMs = 1000;
  private closing = false;
  private closePromise: Promise<void> | null = null;

  constructor(private readonly options: ServerOptions) {
    if (!options || typeof options !== "object") throw new InvalidArgumentError("createServer: options must be an object");
    const entries = options.models instanceof Map ? [...options.models] : Object.entries(options.models ?? {});
    if (entries.length === 0) throw new InvalidArgumentError("createServer: models must name at least one pipeline");
    const maxBatchSize = intOption("maxBatchSize", options.maxBatchSize, 1, 1, 64);
    const maxBatchWaitMs = intOption("maxBatchWaitMs", options.maxBatchWaitMs, 20, 0, 60_000);
    this.logError = options.logError ?? ((m) => console.error(m));
    for (const [name, pipe] of entries) {
      const kinds = kindsOf(pipe);
      if (!kinds) {
        throw new InvalidArgumentError(
          `createServer: model ${JSON.stringify(name)} must be a pipeline loadPipeline() returns ` +
            `(StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline, ` +
            `StableDiffusionImageVariationPipeline, StableDiffusionUpscalePipeline or StableDiffusionDepth2ImgPipeline)`,
        );
      }
      const p = pipe as DiffusionPipeline;
      if (p.disposed) throw new InvalidArgumentError(`createServer: model ${JSON.stringify(name)} is disposed`);
      this.queues.set(name, new ModelQueue(name, p, { maxBatchSize, maxBatchWaitMs, metrics: this.metrics, logError: this.logError }));
      this.modelInfos.push(modelInfo(name, p, kinds));
    }
    this.limits = { ...DEFAULT_LIMITS };
    for (const [k, v] of Object.entries(options.limits ?? {})) {
      if (!(k in DEFAULT_LIMITS)) throw new InvalidArgumentError(`createServer: unknown limit ${k}`);
      this.limits[k as keyof ServerLimits] = intOption(`limits.${k}`, v, DEFAULT_LIMITS[k as keyof ServerLimits], 1);
    }
    this.maxQueue = intOption("maxQueue", options.maxQueue, 32, 0);
    this.requestTimeoutMs = intOption("requestTimeoutMs", options.requestTimeoutMs, 600_000, 1);
    this.jobTtlMs = intOption("jobTtlMs", options.jobTtlMs, 600_000, 0);
    this.maxRetainedJobs = intOption("maxRetainedJobs", options.maxRetainedJobs, 256, 1);
    const keys = options.apiKeys ?? [];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string" || k.length === 0)) {
      throw new InvalidArgumentError("createServer: apiKeys must be a list of non-empty strings");
    }
    this.keyHashes = keys.map((k) => sha256(k));
    const cors = options.cors ?? false;
    this.corsOrigins = cors === false ? null : cors === true ? "*" : typeof cors === "string" ? [cors] : [...cors];
    this.handler = (req, res, next) => void this.handle(req, res, next);
    this.httpServer = createHttpServer((req, res) => void this.handle(req, res));
    this.httpServer.headersTimeout = 30_000;
  }

  /** The model names served (the first is the default). */
  get models(): string[] {
    return [...this.queues.keys()];
  }

  /** Starts listening; resolves with the bound address. */
  start(): Promise<{ host: string; port: number; url: string }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.httpServer.once("error", onError);
      this.httpServer.listen(this.options.port ?? 8080, this.options.host ?? "127.0.0.1", () => {
        this.httpServer.off("error", onError);
        const a = this.httpServer.address() as AddressInfo;
        const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
        resolve({ host: a.address, port: a.port, url: `http://${host}:${a.port}` });
      });
    });
  }

  /**
   * Stops taking jobs (503), cancels queued ones, lets running ones finish for up to `graceMs`, then aborts
   * them and closes the listener and every connection. The pipelines stay loaded (their owner disposes them).
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closing = true;
    const graceMs = intOption("graceMs", options.graceMs, 10_000, 0);
    this.closePromise = (async () => {
      const shutdown: JobError = { status: 503, code: "shutting_down", message: "the server is shutting down" };
      for (const q of this.queues.values()) q.cancelQueued(shutdown);
      const idle = Promise.all([...this.queues.values()].map((q) => q.idle()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const q of this.queues.values()) q.cancelRunning(shutdown);
      await idle;
      for (const j of this.jobs.values()) {
        if (j.timer) clearTimeout(j.timer);
        if (j.ttlTimer) clearTimeout(j.ttlTimer);
      }
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => this.httpServer.closeAllConnections(), 1000);
        force.unref();
        this.httpServer.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const s of this.sseStreams) s.end();
        this.httpServer.closeIdleConnections();
      });
    })();
    return this.closePromise;
  }

  // ---------------------------------------------------------------- request handling

  private async handle(req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): Promise<void> {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname.replace(/\/+$/, "") || "/";
      const method = req.method ?? "GET";
      if (next && !this.knows(path)) {
        next(); // mounted in an app: its other routes, untouched (no headers set here)
        return;
      }
      res.on("finish", () => this.metrics.request(res.statusCode));
      res.setHeader("X-Content-Type-Options", "nosniff");
      this.applyCors(req, res);
      if (method === "OPTIONS" && this.corsOrigins) {
        res.writeHead(204, {
          "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
          "Access-Control-Allow-Headers": "Authorization, Content-Type",
          "Access-Control-Max-Age": "600",
        });
        res.end();
        return;
      }
      if (path === "/health") return this.only(method, ["GET"], () => this.health(res));
      if (path === "/openapi.json") return this.only(method, ["GET"], () => sendJson(res, 200, openApiDocument()));
      this.authorize(req);
      if (path === "/metrics") {
        return this.only(method, ["GET"], () => {
          res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
          res.end(
          this.metrics.render(
            [...this.queues.values()].map((q) => ({
              model: q.name,
              queued: q.queued,
              running: q.runningJobs,
              ...(q.batchStats ? { unetForwards: q.batchStats.forwards, unetCalls: q.batchStats.calls } : {}),
            })),
          ),
        );
        });
      }
      if (path === "/v1/models") {
        return this.only(method, ["GET"], () =>
          sendJson(res, 200, {
            object: "list",
            data: this.modelInfos.map((m) => ({
              id: m.name, object: "model", pipeline: m.pipelineClass, endpoints: m.kinds.map((k) => ENDPOINTS[k]),
            })),
          }),
        );
      }
      const kind = IMAGE_ROUTES.get(path);
      if (kind) {
        this.only(method, ["POST"], () => undefined);
        return await this.generation(kind, req, res);
      }
      const m = JOB_PATH.exec(path);
      if (m) {
        const job = this.jobs.get(m[1]!);
        if (m[2]) return this.only(method, ["GET"], () => this.events(job, m[1]!, res));
        return this.only(method, ["GET", "DELETE"], () => {
          if (!job) throw new HttpError(404, "not_found", `no job ${m[1]!}`);
          if (method === "GET") return sendJson(res, 200, job.summary(true));
          const q = this.queues.get(job.req.model)!;
          if (!q.cancel(job, { status: 409, code: "cancelled", message: "the job was cancelled" })) {
            throw new HttpError(409, "job_finished", `job ${job.id} already ${job.state}`);
          }
          sendJson(res, 200, job.summary(false));
        });
      }
      throw new HttpError(404, "not_found", `no route for ${method} ${path}`);
    } catch (err) {
      if (!(err instanceof HttpError)) this.logError(`sd-native server: ${(err as Error)?.stack ?? String(err)}`);
      const e = publicError(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      if (e.status === 413 && !res.headersSent) res.setHeader("Connection", "close");
      sendJson(res, e.status, { error: { code: e.code, message: e.message } });
    }
  }

  /** Whether a path is one of the API's (the others go to `next` when the handler is mounted with one). */
  private knows(path: string): boolean {
    return (
      path === "/health" || path === "/openapi.json" || path === "/metrics" || path === "/v1/models" ||
      IMAGE_ROUTES.has(path) || JOB_PATH.test(path)
    );
  }

  private only(method: string, allowed: string[], fn: () => void): void {
    if (!allowed.includes(method)) {
      throw new HttpError(405, "method_not_allowed", `use ${allowed.join(" or ")}`, { Allow: allowed.join(", ") });
    }
    fn();
  }

  private applyCors(req: IncomingMessage, res: ServerResponse): void {
    if (!this.corsOrigins) return;
    const origin = req.headers.origin;
    if (this.corsOrigins === "*") res.setHeader("Access-Control-Allow-Origin", "*");
    else if (typeof origin === "string" && this.corsOrigins.includes(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
    }
  }

  private authorize(req: IncomingMessage): void {
    if (this.keyHashes.length === 0) return;
    const h = req.headers.authorization;
    const m = typeof h === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    const unauthorized = new HttpError(401, "unauthorized", "a valid API key is required (Authorization: Bearer <key>)", {
      "WWW-Authenticate": 'Bearer realm="sd-native"',
    });
    if (!m) throw unauthorized;
    const got = sha256(m[1]!);
    let ok = false;
    for (const k of this.keyHashes) ok = timingSafeEqual(got, k) || ok; // compare with every key: no early exit
    if (!ok) throw unauthorized;
  }

  private health(res: ServerResponse): void {
    const models = [...this.queues.values()].map((q) => ({ id: q.name, queued: q.queued, running: q.runningJobs }));
    sendJson(res, this.closing ? 503 : 200, { status: this.closing ? "closing" : "ok", models });
  }

  private async generation(kind: JobKind, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.closing) throw new HttpError(503, "shutting_down", "the server is shutting down");
    const body = await readJsonBody(req, this.limits.maxBodyBytes);
    const request = await validateGeneration(kind, body, { limits: this.limits, models: this.modelInfos });
    if (this.closing) throw new HttpError(503, "shutting_down", "the server is shutting down");
    const q = this.queues.get(request.model)!;
    if (q.queued >= this.maxQueue) {
      const retry = Math.max(1, Math.ceil((this.avgJobMs * (q.queued + 1)) / 1000));
      throw new HttpError(429, "queue_full", `the queue of model ${request.model} is full (${this.maxQueue} jobs); retry later`, {
        "Retry-After": String(retry),
      });
    }
    const job = new Job(request);
    this.retain(job);
    job.timer = setTimeout(() => {
      q.cancel(job, { status: 504, code: "timeout", message: `the job did not finish within ${this.requestTimeoutMs} ms` }, "failed");
    }, this.requestTimeoutMs);
    job.timer.unref();
    void job.finished.then(() => {
      if (job.state === "succeeded" && job.startedAt !== null) this.avgJobMs = 0.8 * this.avgJobMs + 0.2 * (Date.now() - job.startedAt);
      // the timer holds the id and the (bounded) job list, not the job: an evicted job can be collected at once
      const jobs = this.jobs, id = job.id;
      job.ttlTimer = setTimeout(() => jobs.delete(id), this.jobTtlMs);
      job.ttlTimer.unref();
    });
    q.submit(job);

    if (request.async) {
      const at = `${mountPrefix(req)}/v1/jobs/${job.id}`;
      res.setHeader("Location", at);
      sendJson(res, 202, { ...job.summary(false), status_url: at, events_url: `${at}/events` });
      return;
    }
    // synchronous: a client that goes away cancels its job
    const onClose = (): void => {
      if (!res.writableEnded) q.cancel(job, { status: 499, code: "client_disconnected", message: "the client disconnected" });
    };
    res.on("close", onClose);
    await job.finished;
    res.off("close", onClose);
    if (res.destroyed || res.writableEnded) return;
    if (job.state !== "succeeded") {
      const e = job.error!;
      sendJson(res, e.status === 499 ? 409 : e.status, { error: { code: e.code, message: e.message } });
      return;
    }
    const r = job.result!;
    if (request.responseFormat === "binary") {
      res.writeHead(200, {
        "Content-Type": "image/png", "Content-Length": String(r.images[0]!.length), "X-Job-Id": job.id, "X-Seed": String(r.seed),
      });
      res.end(r.images[0]);
    } else sendJson(res, 200, resultBody(job, r));
    // delivered: free the images (GET /v1/jobs/:id keeps the state, not the pixels)
    job.releaseImages();
  }

  private retain(job: Job): void {
    this.jobs.set(job.id, job);
    if (this.jobs.size <= this.maxRetainedJobs) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.maxRetainedJobs) break;
      if (j.final) {
        this.jobs.delete(id);
        if (j.ttlTimer) clearTimeout(j.ttlTimer);
      }
    }
  }

  private events(job: Job | undefined, id: string, res: ServerResponse): void {
    if (!job) throw new HttpError(404, "not_found", `no job ${id}`);
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive" });
    let seq = 0;
    const write = (ev: JobEvent): void => {
      res.write(`id: ${seq++}\nevent: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
    };
    for (const ev of job.events) write(ev);
    if (job.final) {
      res.end();
      return;
    }
    this.sseStreams.add(res);
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    heartbeat.unref();
    const listener = (ev: JobEvent): void => {
      write(ev);
      if (ev.event === "done" || ev.event === "error") res.end();
    };
    job.listeners.add(listener);
    res.on("close", () => {
      clearInterval(heartbeat);
      job.listeners.delete(listener);
      this.sseStreams.delete(res);
    });
  }
}

/**
 * Where the API is mounted: express sets `req.originalUrl` and strips the mount path from `req.url`
 * (`app.use("/sd", handler)`), so job URLs handed back keep the prefix. "" when served at the root.
 */
function mountPrefix(req: IncomingMessage): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (typeof original !== "string") return "";
  const o = original.split("?")[0]!, u = (req.url ?? "/").split("?")[0]!;
  if (o === u || !o.endsWith(u)) return "";
  const prefix = o.slice(0, o.length - u.length).replace(/\/+$/, "");
  return /^\/[\w\-./~%]*$/.test(prefix) ? prefix : "";
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function intOption(name: string, v: unknown, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`createServer: ${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/** Creates the HTTP server (call `start()` to listen, `close()` to stop). */
export function createServer(options: ServerOptions): SdServer {
  return new SdServer(options);
}
