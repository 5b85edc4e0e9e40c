/**
 * Continuous batching of UNet calls across concurrent generations on the same weights. Every generation
 * (a pipeline view made with `pipeline.withBatcher(batcher)`) joins the batcher while it denoises and sends
 * each step's UNet call to it; once every joined generation has sent its call (or `maxWaitMs` passes), the
 * calls that share a latent size, context length and class-label use are concatenated along the batch and
 * run as one UNet forward with per-sample timesteps, and the result is split back. Generations join at the
 * next step boundary and leave when they finish, each with its own prompt, seed, guidance, step count and
 * scheduler.
 */
import type { UNet } from "../components/unet.js";
import type { Tensor } from "../tensor.js";

export interface UNetBatcherOptions {
  /** Most samples in one merged forward (CFG counts 2 per image). Default 16. */
  maxBatch?: number;
  /** How long a call waits for the other generations' calls before running without them. Default 20 ms. */
  maxWaitMs?: number;
}

interface Pending {
  sample: Tensor;
  timesteps: number[];
  ehs: Tensor;
  classLabels: number[] | null;
  resolve: (t: Tensor) => void;
  reject: (e: unknown) => void;
}

export interface UNetBatcherStats {
  /** Merged forwards run. */
  forwards: number;
  /** UNet calls served (each generation's step is one call). */
  calls: number;
  /** Largest number of calls merged into one forward. */
  maxCallsMerged: number;
}

export class UNetBatcher {
  readonly unet: UNet;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly stats: UNetBatcherStats = { forwards: 0, calls: 0, maxCallsMerged: 0 };
  #participants = 0;
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing = false;

  constructor(unet: UNet, options: UNetBatcherOptions = {}) {
    this.unet = unet;
    this.maxBatch = Math.max(1, options.maxBatch ?? 16);
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? 20);
  }

  /** Generations currently denoising through this batcher. */
  get participants(): number {
    return this.#participants;
  }

  /** @internal a generation starts denoising */
  join(): void {
    this.#participants++;
  }

  /** @internal a generation finished (or failed): the others no longer wait for it */
  leave(): void {
    this.#participants = Math.max(0, this.#participants - 1);
    this.#maybeFlush();
  }

  /** Same contract as UNet.forward (timestep: one value or one per sample). */
  forward(sample: Tensor, timestep: number | number[] | Float32Array, ehs: Tensor, options: { classLabels?: number[] | Int32Array } = {}): Promise<Tensor> {
    const B = sample.shape[0]!;
    const timesteps = typeof timestep === "number" ? new Array<number>(B).fill(timestep) : Array.from(timestep);
    return new Promise<Tensor>((resolve, reject) => {
      this.#pending.push({ sample, timesteps, ehs, classLabels: options.classLabels ? Array.from(options.classLabels) : null, resolve, reject });
      this.#maybeFlush();
    });
  }

  #maybeFlush(): void {
    if (this.#pending.length === 0 || this.#flushing) return;
    if (this.#pending.length >= this.#participants) {
      // Everyone is waiting: run now (after the current tick, so calls made in the same tick join).
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      setImmediate(() => void this.#flush());
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.#flush();
      }, this.maxWaitMs);
    }
  }

  async #flush(): Promise<void> {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = true;
    const taken = this.#pending;
    this.#pending = [];
    try {
      // Calls that can share a forward: same latent size, context length and class-label use.
      const groups = new Map<string, Pending[]>();
      for (const p of taken) {
        const [, , h, w] = p.sample.shape;
        const key = `${h}x${w}:${p.ehs.shape[1]}:${p.classLabels ? 1 : 0}`;
        const g = groups.get(key) ?? [];
        g.push(p);
        groups.set(key, g);
      }
      for (const group of groups.values()) {
        // Split into forwards of at most maxBatch samples (a call is never split).
        let chunk: Pending[] = [];
        let samples = 0;
        const runChunk = async (c: Pending[]) => {
          if (c.length > 0) await this.#run(c);
        };
        for (const p of group) {
          const b = p.sample.shape[0]!;
          if (chunk.length > 0 && samples + b > this.maxBatch) {
            await runChunk(chunk);
            chunk = [];
            samples = 0;
          }
          chunk.push(p);
          samples += b;
        }
        await runChunk(chunk);
      }
    } finally {
      this.#flushing = false;
      this.#maybeFlush();
    }
  }

  async #run(calls: Pending[]): Promise<void> {
    try {
      const concat = (parts: Tensor[]): Tensor => {
        const shape = [parts.reduce((a, t) => a + t.shape[0]!, 0), ...parts[0]!.shape.slice(1)];
        const data = new Float32Array(parts.reduce((a, t) => a + t.data.length, 0));
        let o = 0;
        for (const t of parts) {
          data.set(t.data, o);
          o += t.data.length;
        }
        return { shape, data };
      };
      const sample = concat(calls.map((c) => c.sample));
      const ehs = concat(calls.map((c) => c.ehs));
      const timesteps = calls.flatMap((c) => c.timesteps);
      const labels = calls[0]!.classLabels ? calls.flatMap((c) => c.classLabels!) : undefined;
      const out = await this.unet.forward(sample, timesteps, ehs, labels ? { classLabels: labels } : {});
      this.stats.forwards++;
      this.stats.calls += calls.length;
      this.stats.maxCallsMerged = Math.max(this.stats.maxCallsMerged, calls.length);
      const per = out.data.length / out.shape[0]!;
      let row = 0;
      for (const c of calls) {
        const b = c.sample.shape[0]!;
        c.resolve({ shape: [b, ...out.shape.slice(1)], data: out.data.slice(row * per, (row + b) * per) });
        row += b;
      }
    } catch (err) {
      for (const c of calls) c.reject(err);
    }
  }
}
