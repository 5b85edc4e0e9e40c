/** Shared plumbing of the network components: a native model on a context, disposal, option checks. */
import type { Context } from "../context.js";
import { DisposedError, InvalidArgumentError } from "../errors.js";
import type { NativeModelHandle } from "../native.js";

export interface ForwardOptions {
  /** Stops the forward at the next block boundary; rejects with AbortError. */
  signal?: AbortSignal;
  /** Progress in units of blocks / layers. */
  onProgress?: (step: number, total: number) => void;
}

export abstract class NativeComponent implements AsyncDisposable {
  #native: NativeModelHandle | null;
  readonly context: Context;
  /** Tensors in the weight files this network did not use (a warning, e.g. EMA copies). */
  readonly unusedTensors: readonly string[];

  protected constructor(context: Context, native: NativeModelHandle) {
    this.context = context;
    this.#native = native;
    this.unusedTensors = Object.freeze([...native.info().unusedTensors]);
  }

  protected native(): NativeModelHandle {
    if (!this.#native || this.#native.disposed) throw new DisposedError(this.constructor.name);
    return this.#native;
  }

  protected dim(key: string): number {
    const v = this.native().info()[key];
    if (typeof v !== "number") throw new InvalidArgumentError(`model info has no numeric '${key}'`);
    return v;
  }

  get disposed(): boolean {
    return !this.#native || this.#native.disposed;
  }

  /** Frees the network's native memory. Idempotent; a running forward finishes first. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}

export function checkPositiveInt(name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}
