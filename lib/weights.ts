/**
 * Weight files (safetensors and PyTorch zip checkpoints), opened by the native reader: memory-mapped,
 * validated before use, read-only. Hostile pickles are refused without running anything.
 */
import { DisposedError, fromNativeError } from "./errors.js";
import { loadNative, type NativeTensorListing, type NativeWeightFileHandle } from "./native.js";

export type WeightDType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export interface WeightTensorInfo {
  name: string;
  dtype: WeightDType;
  shape: number[];
  nbytes: number;
}

export class WeightFile {
  #native: NativeWeightFileHandle | null;
  readonly path: string;

  /** @internal use openWeightFile() */
  constructor(native: NativeWeightFileHandle, path: string) {
    this.#native = native;
    this.path = path;
  }

  /** @internal */
  nativeHandle(): NativeWeightFileHandle {
    if (!this.#native) throw new DisposedError(`WeightFile ${this.path}`);
    return this.#native;
  }

  get format(): "safetensors" | "torch" {
    return this.nativeHandle().format ?? "safetensors";
  }

  /** Every tensor (name, dtype, shape, bytes), in file order. */
  tensors(): WeightTensorInfo[] {
    return this.nativeHandle().tensors() as Array<NativeTensorListing & { dtype: WeightDType }>;
  }

  /** A copy of one tensor's values (F16/BF16 widened to Float32Array; I64 as BigInt64Array). */
  read(name: string): ReturnType<NativeWeightFileHandle["read"]> {
    try {
      return this.nativeHandle().read(name);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /** The safetensors `__metadata__` (empty for torch files). */
  metadata(): Record<string, string> {
    return JSON.parse(this.nativeHandle().metadata()) as Record<string, string>;
  }

  /** Releases the mapping (models built from the file keep what they use). Idempotent. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Opens a .safetensors / .ckpt / .bin / .pt file (format detected from the content). */
export async function openWeightFile(path: string): Promise<WeightFile> {
  try {
    return new WeightFile(await loadNative().openWeightFile(path), path);
  } catch (err) {
    throw fromNativeError(err);
  }
}

export interface TensorToWrite {
  name: string;
  dtype: WeightDType;
  shape: number[];
  data: ArrayBufferView;
}

/** Writes a safetensors file (atomically: written beside, then renamed). */
export async function writeSafetensors(path: string, tensors: TensorToWrite[], metadata?: Record<string, string>): Promise<void> {
  try {
    await loadNative().writeSafetensors(path, tensors, metadata);
  } catch (err) {
    throw fromNativeError(err);
  }
}
