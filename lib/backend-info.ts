/** What the build and the machine offer: compiled backends, CPU SIMD level, CUDA devices and libraries. */
import { loadNative } from "./native.js";

export interface CudaLibraryInfo {
  /** Whether the library was found and loaded (dlopen at run time). */
  loaded: boolean;
  /** "major.minor.patch", "" when not loaded. */
  version: string;
  /** The file that was loaded. */
  path: string;
  /** Why it was not loaded, and what sd-native uses instead; "" when loaded. */
  reason: string;
}

export interface CudaDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  freeMemory: number;
  multiprocessors: number;
}

export interface BackendInfo {
  /** Version of the native core. */
  version: string;
  /** Backends compiled into this binary, e.g. ["cpu", "cuda"]. */
  compiledBackends: Array<"cpu" | "cuda">;
  cpu: {
    vendor: string;
    brand: string;
    /** Online cores: the default thread count. */
    threads: number;
    /** Best SIMD level the CPU supports ("avx512", "avx2", "portable"). */
    simdBest: string;
    /** Level the kernels dispatch to (SDN_SIMD can lower it). */
    simdInUse: string;
    /** The CPU can run the bf16 kernels (avx512_bf16). */
    bf16Available: boolean;
    /** Products in "f32" (default) or "bf16" (SDN_CPU_COMPUTE=bf16). */
    computeInUse: string;
    /** Why the compute mode in use differs from the one asked for ("" when it does not). */
    computeReason: string;
    features: string[];
  };
  cuda: {
    compiled: boolean;
    architectures: string;
    runtimeVersion: string;
    driverVersion: string;
    /** At least one device can run sd-native. */
    usable: boolean;
    /** Why CUDA is not usable; "" when it is. */
    reason: string;
    devices: CudaDeviceInfo[];
    cublasLt: CudaLibraryInfo;
    cudnn: CudaLibraryInfo;
  };
  /** What `device: "auto"` picks. */
  defaultBackend: "cpu" | "cuda";
}

/** Reports compiled backends, devices, cuDNN/cuBLASLt status, thread count and SIMD level. */
export function getBackendInfo(): BackendInfo {
  return JSON.parse(loadNative().backendInfoJson()) as BackendInfo;
}
