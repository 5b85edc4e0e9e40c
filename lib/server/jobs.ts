/**
 * Jobs and the per-model queue. Jobs start in arrival order (FIFO), each through the pipeline with its own
 * AbortSignal and onProgress. With maxBatchSize > 1 the queue runs up to maxBatchSize jobs at once
 * (continuous batching): each job is a pipeline view sharing one UNetBatcher, so the jobs' UNet calls merge
 * step by step into shared forwards with per-sample timesteps — whatever their prompts, seeds, sizes (calls
 * of the same size merge), guidance, step counts and schedulers — a job joins at the next step boundary and
 * leaves when it is done, and every result equals the job run alone.
 */
import { randomUUID } from "node:crypto";
import type { DiffusionPipeline } from "../pipelines/base.js";
import { StableDiffusionDepth2ImgPipeline } from "../pipelines/depth2img.js";
import { StableDiffusionImageVariationPipeline } from "../pipelines/image-variation.js";
import { StableDiffusionInpaintPipeline } from "../pipelines/inpaint.js";
import { StableDiffusionImg2ImgPipeline, StableDiffusionPipeline } from "../pipelines/stable-diffusion.js";
import { UNetBatcher } from "../pipelines/unet-batcher.js";
import { StableDiffusionUpscalePipeline } from "../pipelines/upscale.js";
import type { PipelineResult, ProgressEvent } from "../pipelines/types.js";
import { publicError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import type { GenerationRequest } from "./validate.js";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobError {
  status: number;
  code: string;
  message: string;
}

export interface JobResult {
  created: number;
  images: Buffer[];
  seed: number;
  parameters: Record<string, unknown>;
  warnings: string[];
  nsfw: boolean[] | null;
}

export interface JobEvent {
  event: "queued" | "step" | "done" | "error";
  data: unknown;
}

const MAX_STEP_EVENTS_KEPT = 1000;

export class Job {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  state: JobState = "queued";
  step = 0;
  total: number;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  result: JobResult | null = null;
  error: JobError | null = null;
  readonly events: JobEvent[] = [];
  readonly listeners = new Set<(ev: JobEvent) => void>();
  /** Resolves when the job reaches a final state. */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  timer: NodeJS.Timeout | null = null;
  /** Drops the finished job from the server's job list after the TTL (cleared when it is evicted earlier). */
  ttlTimer: NodeJS.Timeout | null = null;
  /** A synchronous job's images were sent to its client and freed (GET then answers without them). */
  imagesReleased = false;

  constructor(readonly req: GenerationRequest) {
    this.total = req.strength !== undefined ? Math.min(Math.floor(req.steps * req.strength), req.steps) : req.steps;
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  get final(): boolean {
    return this.state === "succeeded" || this.state === "failed" || this.state === "cancelled";
  }

  emit(ev: JobEvent): void {
    if (ev.event !== "step" || this.events.length < MAX_STEP_EVENTS_KEPT) this.events.push(ev);
    for (const l of this.listeners) l(ev);
  }

  /** Moves to a final state once (later calls are ignored). */
  settle(state: "succeeded" | "failed" | "cancelled", result: JobResult | null, error: JobError | null): boolean {
    if (this.final) return false;
    this.state = state;
    this.result = result;
    this.error = error;
    this.finishedAt = Date.now();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (state === "succeeded") this.emit({ event: "done", data: this.summary(true) });
    else this.emit({ event: "error", data: { id: this.id, state, error: { code: error!.code, message: error!.message } } });
    this.resolveFinished();
    return true;
  }

  /**
   * Frees the images once delivered (a synchronous answer): the result keeps the state, and the replayed `done`
   * event no longer carries the pixels either, so a retained job costs a few hundred bytes.
   */
  releaseImages(): void {
    if (!this.result) return;
    this.imagesReleased = true;
    this.result = { ...this.result, images: [] };
    const i = this.events.findIndex((e) => e.event === "done");
    if (i >= 0) this.events[i] = { event: "done", data: this.summary(true) };
  }

  /** What GET /v1/jobs/:id answers. */
  summary(withImages: boolean): Record<string, unknown> {
    const s: Record<string, unknown> = {
      id: this.id, object: "job", model: this.req.model, kind: this.req.kind, state: this.state, step: this.step, total: this.total,
      created: Math.floor(this.createdAt / 1000),
      started: this.startedAt === null ? null : Math.floor(this.startedAt / 1000),
      finished: this.finishedAt === null ? null : Math.floor(this.finishedAt / 1000),
    };
    if (this.result && withImages && !this.imagesReleased) Object.assign(s, resultBody(this, this.result));
    if (this.error) s.error = { code: this.error.code, message: this.error.message };
    return s;
  }
}

/** The JSON result of a finished job (OpenAI images API shape plus sd-native fields). */
export function resultBody(job: Job, r: JobResult): Record<string, unknown> {
  return {
    id: job.id,
    created: r.created,
    model: job.req.model,
    data: r.images.map((img) => ({ b64_json: img.toString("base64"), seed: r.seed })),
    parameters: r.parameters,
    warnings: r.warnings,
    nsfw_content_detected: r.nsfw,
  };
}

export interface QueueOptions {
  maxBatchSize: number;
  /** How long a UNet call waits for the other running jobs' calls (continuous batching). */
  maxBatchWaitMs?: number;
  metrics: Metrics;
  logError: (message: string) => void;
}

interface Running {
  jobs: Job[];
  controller: AbortController;
}

/** One loaded model's queue and worker. */
export class ModelQueue {
  readonly pending: Job[] = [];
  private readonly running = new Set<Running>();
  private idleWaiters: (() => void)[] = [];
  /** Shared by the running jobs when maxBatchSize > 1 (CFG doubles a job's samples). */
  private readonly batcher: UNetBatcher | null;

  constructor(
    readonly name: string,
    readonly pipe: DiffusionPipeline,
    private readonly options: QueueOptions,
  ) {
    this.batcher = options.maxBatchSize > 1 ? new UNetBatcher(pipe.unet, { maxBatch: 2 * options.maxBatchSize, maxWaitMs: options.maxBatchWaitMs ?? 20 }) : null;
  }

  /** Merged UNet forwards so far (continuous batching), for tests and diagnostics. */
  get batchStats(): { forwards: number; calls: number; maxCallsMerged: number } | null {
    return this.batcher ? { ...this.batcher.stats } : null;
  }

  get queued(): number {
    return this.pending.length;
  }
  /** Jobs being computed (a cancelled job stays counted until the pipeline stops, at its next step). */
  get runningJobs(): number {
    let n = 0;
    for (const r of this.running) n += r.jobs.length;
    return n;
  }

  submit(job: Job): void {
    this.pending.push(job);
    job.emit({ event: "queued", data: { id: job.id, state: "queued", position: this.pending.length } });
    queueMicrotask(() => this.pump());
  }

  /** Cancels a job (queued: removed now; running: settled now, its computation stops at the next step). */
  cancel(job: Job, error: JobError, state: "cancelled" | "failed" = "cancelled"): boolean {
    if (job.final) return false;
    const i = this.pending.indexOf(job);
    if (i >= 0) this.pending.splice(i, 1);
    job.settle(state, null, error);
    this.options.metrics.jobFinished(this.name, state);
    for (const r of this.running) {
      if (r.jobs.includes(job) && r.jobs.every((j) => j.final)) r.controller.abort(new Error(error.code));
    }
    return true;
  }

  /** Cancels every queued job. */
  cancelQueued(error: JobError): void {
    for (const j of [...this.pending]) this.cancel(j, error);
  }

  /** Cancels every running job. */
  cancelRunning(error: JobError): void {
    for (const r of [...this.running]) for (const j of r.jobs) this.cancel(j, error);
  }

  /** Resolves when nothing is running or queued. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    const concurrency = Math.max(1, this.options.maxBatchSize);
    while (this.running.size < concurrency && this.pending.length > 0) {
      const run: Running = { jobs: [this.pending.shift()!], controller: new AbortController() };
      this.running.add(run);
      void this.execute(run).finally(() => {
        this.running.delete(run);
        this.pump();
      });
    }
    if (this.running.size === 0 && this.pending.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  private async execute(run: Running): Promise<void> {
    const { jobs } = run;
    const now = Date.now();
    for (const j of jobs) {
      j.state = "running";
      j.startedAt = now;
    }
    let last = process.hrtime.bigint();
    const onProgress = (ev: ProgressEvent): void => {
      const t = process.hrtime.bigint();
      this.options.metrics.stepLatency(this.name, Number(t - last) / 1e9);
      last = t;
      for (const j of jobs) {
        if (j.final) continue;
        j.step = ev.step;
        j.total = ev.total;
        j.emit({ event: "step", data: { id: j.id, step: ev.step, total: ev.total, timestep: ev.timestep } });
      }
    };
    const head = jobs[0]!.req;
    const pipe = this.batcher ? this.pipe.withBatcher(this.batcher) : this.pipe;
    try {
      const out = await runPipeline(pipe, head, run.controller.signal, onProgress);
      const created = Math.floor(Date.now() / 1000);
      for (const j of jobs) {
        const parameters: Record<string, unknown> = { ...out.parameters, seed: j.req.seed };
        if (j.req.kind !== "variation") Object.assign(parameters, { prompt: j.req.prompt, negativePrompt: j.req.negativePrompt ?? null });
        const images = out.images as Buffer[];
        const result: JobResult = { created, images, seed: j.req.seed, parameters, warnings: out.warnings, nsfw: out.nsfwContentDetected };
        if (j.settle("succeeded", result, null)) {
          this.options.metrics.imagesGenerated(this.name, images.length);
          this.options.metrics.jobFinished(this.name, "succeeded");
        }
      }
    } catch (err) {
      const e = publicError(err);
      if (e.status >= 500 && e.code !== "out_of_memory") {
        this.options.logError(`sd-native server: job ${jobs.map((j) => j.id).join(", ")} failed: ${(err as Error)?.stack ?? String(err)}`);
      }
      for (const j of jobs) {
        if (j.settle(e.code === "cancelled" ? "cancelled" : "failed", null, e)) this.options.metrics.jobFinished(this.name, j.state);
      }
    }
  }
}

function as<T>(pipe: DiffusionPipeline, cls: abstract new (...args: never[]) => T, kind: string): T {
  if (pipe instanceof cls) return pipe;
  throw new Error(`a ${kind} job reached a ${pipe.pipelineClass} (validation should have refused it)`);
}

/** Runs one job's pipeline call: the method of the model's pipeline class that the job's kind names. */
function runPipeline(pipe: DiffusionPipeline, r: GenerationRequest, signal: AbortSignal, onProgress: (ev: ProgressEvent) => void): Promise<PipelineResult> {
  const common = {
    steps: r.steps, guidanceScale: r.guidanceScale, seed: r.seed, numImagesPerPrompt: r.n,
    ...(r.scheduler ? { scheduler: r.scheduler } : {}), signal, onProgress,
  };
  const text = { prompt: r.prompt, ...(r.negativePrompt !== undefined ? { negativePrompt: r.negativePrompt } : {}) };
  switch (r.kind) {
    case "txt2img":
      return as(pipe, StableDiffusionPipeline, r.kind).generate({ ...text, ...common, width: r.width, height: r.height });
    case "img2img": {
      const o = { ...text, ...common, image: r.image!, strength: r.strength! };
      if (pipe instanceof StableDiffusionPipeline) return pipe.img2img(o);
      return as(pipe, StableDiffusionImg2ImgPipeline, r.kind).generate(o);
    }
    case "inpaint":
      return as(pipe, StableDiffusionInpaintPipeline, r.kind).generate({
        ...text, ...common, image: r.image!, maskImage: r.mask!, strength: r.strength!, width: r.width, height: r.height,
      });
    case "variation":
      return as(pipe, StableDiffusionImageVariationPipeline, r.kind).generate({ ...common, image: r.image!, width: r.width, height: r.height });
    case "upscale":
      return as(pipe, StableDiffusionUpscalePipeline, r.kind).generate({ ...text, ...common, image: r.image!, noiseLevel: r.noiseLevel! });
    case "depth2img":
      return as(pipe, StableDiffusionDepth2ImgPipeline, r.kind).generate({
        ...text, ...common, image: r.image!, depthMap: r.depthMap!, strength: r.strength!,
      });
  }
}
