/**
 * A compute context: one backend (CPU or CUDA) and the core's own thread pool. Operations on one context
 * run one at a time (calls are queued in order), each off the JS thread.
 */
import { AbortError, DisposedError, InvalidArgumentError, fromNativeError } from "./errors.js";
import { loadNative, type NativeContextHandle } from "./native.js";

export type DeviceOption = "auto" | "cpu" | "cuda";

export interface ContextOptions {
  /** Where to compute. "auto" (default) uses CUDA when a usable GPU is present, else the CPU. */
  device?: DeviceOption;
  /** CPU worker threads. Default: the number of online cores. */
  threads?: number;
  /** CUDA device ordinal. Default 0. */
  deviceIndex?: number;
  /**
   * With device "cuda": fall back to the CPU (and record why in `fallbackReason`) when CUDA is unusable.
   * Default true; false makes createContext reject with code ERR_BACKEND instead.
   */
  allowFallback?: boolean;
  /**
   * How the CUDA backend stores linear / convolution weights: "f16" (the default: tensor cores) or "f32"
   * (slower, for debugging). The CPU reads weights as the files store them and always computes in float32.
   */
  weightPrecision?: "default" | "f16" | "f32";
}

export interface OperationOptions {
  /** Stops the operation at the next check point; the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called on the JS thread as the operation advances. */
  onProgress?: (step: number, total: number) => void;
}

export interface GemmOptions extends OperationOptions {
  transA?: boolean;
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0 (C is overwritten). */
  beta?: number;
  /** Row strides; default to the packed widths. */
  lda?: number;
  ldb?: number;
  ldc?: number;
}

function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

export class Context implements AsyncDisposable {
  #native: NativeContextHandle | null;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;

  /** @internal use createContext() */
  constructor(native: NativeContextHandle) {
    this.#native = native;
  }

  /** The backend in use: "cpu" or "cuda". */
  get backend(): "cpu" | "cuda" {
    return this.#handle().backend ?? "cpu";
  }

  /** Worker threads of the CPU pool. */
  get threads(): number {
    return this.#handle().threads;
  }

  /** Why the context is not on the requested device ("" when it is). */
  get fallbackReason(): string {
    return this.#handle().fallbackReason;
  }

  /**
   * What the backend runs, e.g. "cpu (avx512)" or, on CUDA, the weight storage and the path of each op
   * family (cuBLASLt / cuDNN versions or why a library is not used, attention kernel, CUDA graphs).
   */
  get backendDescription(): string {
    return this.#handle().backendDescription;
  }

  /**
   * The backend's memory in bytes (device memory on CUDA): `inUse` now (weights, activations, scratch),
   * `peak` since creation, `reserved` from the system allocator (in use + cached blocks). On the CPU,
   * weights read in place from mapped files are not counted.
   */
  get memoryStats(): { inUse: number; peak: number; reserved: number } {
    return this.#handle().memoryStats;
  }

  /** Operations queued or running on this context. */
  get pendingOperations(): number {
    return this.#pending;
  }

  get disposed(): boolean {
    return this.#native === null;
  }

  /** @internal the native handle (throws DisposedError after dispose). */
  nativeHandle(): NativeContextHandle {
    return this.#handle();
  }

  #handle(): NativeContextHandle {
    if (!this.#native) throw new DisposedError("Context");
    return this.#native;
  }

  /**
   * @internal Runs `fn` after every earlier operation on this context, honouring `signal` (components and
   * pipelines queue their native calls through this).
   */
  run<T>(signal: AbortSignal | undefined, fn: (native: NativeContextHandle) => Promise<T>): Promise<T> {
    const native = this.#handle();
    if (signal?.aborted) return Promise.reject(new AbortError("aborted before start", { cause: signal.reason }));
    this.#pending++;
    const task = this.#queue.then(async () => {
      if (!this.#native) throw new DisposedError("Context");
      if (signal?.aborted) throw new AbortError("aborted before start", { cause: signal.reason });
      const onAbort = () => native.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return await fn(native);
      } catch (err) {
        throw fromNativeError(err);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.#pending--;
      }
    });
    this.#queue = task.catch(() => undefined);
    return task;
  }

  /**
   * C = alpha * op(A) * op(B) + beta * C on the context's backend (row-major float32).
   * op(A) is m x k, op(B) is k x n, C is m x n.
   */
  gemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, options: GemmOptions = {}): Promise<void> {
    checkInt("m", m, 0);
    checkInt("n", n, 0);
    checkInt("k", k, 0);
    for (const [name, arr] of [["a", a], ["b", b], ["c", c]] as const) {
      if (!(arr instanceof Float32Array)) throw new InvalidArgumentError(`${name} must be a Float32Array`);
    }
    const transA = options.transA ?? false;
    const transB = options.transB ?? false;
    const lda = options.lda ?? (transA ? m : k);
    const ldb = options.ldb ?? (transB ? k : n);
    const ldc = options.ldc ?? n;
    return this.run(options.signal, (native) =>
      native.gemm(transA, transB, m, n, k, options.alpha ?? 1, a, lda, b, ldb, options.beta ?? 0, c, ldc, options.onProgress),
    );
  }

  /**
   * Measures the backend's dense float32 GEMM throughput (GFLOP/s) on size x size matrices for about
   * `seconds`: the ceiling benchmarks report their ratios against.
   */
  measureGemmPeak(size = 1024, seconds = 2, options: OperationOptions = {}): Promise<number> {
    checkInt("size", size, 16, 16384);
    if (!(seconds > 0 && seconds <= 600)) throw new InvalidArgumentError(`seconds must be in (0, 600], got ${seconds}`);
    return this.run(options.signal, (native) => native.measureGemmPeak(size, seconds));
  }

  /**
   * Measures the throughput (GFLOP/s) of the matmul path the networks use: a size x size linear layer with
   * an f16 weight uploaded like model weights (f16 tensor cores on CUDA), timed to completion: the ceiling
   * GPU benchmarks report their ratios against.
   */
  measureLinearPeak(size = 1024, seconds = 2, options: OperationOptions = {}): Promise<number> {
    checkInt("size", size, 16, 16384);
    if (!(seconds > 0 && seconds <= 600)) throw new InvalidArgumentError(`seconds must be in (0, 600], got ${seconds}`);
    return this.run(options.signal, (native) => native.measureLinearPeak(size, seconds));
  }

  /** Starts a new `memoryStats.peak` from the memory in use now (e.g. before timing one stage). */
  resetPeakMemory(): void {
    this.#handle().resetPeakMemory();
  }

  /**
   * Releases the native context. Idempotent. A running operation is asked to stop and the memory is freed
   * when it returns; queued operations reject with ERR_DISPOSED.
   */
  dispose(): void {
    const native = this.#native;
    this.#native = null;
    native?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}

/** Creates a compute context (the native work happens off the JS thread). */
export async function createContext(options: ContextOptions = {}): Promise<Context> {
  const device = options.device ?? "auto";
  if (!["auto", "cpu", "cuda"].includes(device)) {
    throw new InvalidArgumentError(`device must be "auto", "cpu" or "cuda", got ${JSON.stringify(device)}`);
  }
  if (options.threads !== undefined) checkInt("threads", options.threads, 1, 1024);
  if (options.deviceIndex !== undefined) checkInt("deviceIndex", options.deviceIndex, 0, 1024);
  const precision = options.weightPrecision ?? "default";
  if (!["default", "f16", "f32"].includes(precision)) {
    throw new InvalidArgumentError(`weightPrecision must be "default", "f16" or "f32", got ${JSON.stringify(precision)}`);
  }
  try {
    const native = await loadNative().createContext({
      backend: device,
      threads: options.threads ?? 0,
      deviceIndex: options.deviceIndex ?? 0,
      allowFallback: options.allowFallback ?? true,
      weightPrecision: precision,
    });
    return new Context(native);
  } catch (err) {
    throw fromNativeError(err);
  }
}
