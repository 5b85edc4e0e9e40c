/**
 * sd-native: Stable Diffusion inference for Node.js.
 *
 * Entry points: getBackendInfo(), createContext(). Components (tokenizer, schedulers, RNG, model files,
 * pipelines) are exported from their modules below.
 */
export * from "./errors.js";
export { getBackendInfo } from "./backend-info.js";
export type { BackendInfo, CudaDeviceInfo, CudaLibraryInfo } from "./backend-info.js";
export { Context, createContext } from "./context.js";
export type { ContextOptions, DeviceOption, GemmOptions, OperationOptions } from "./context.js";
export { loadNative } from "./native.js";

import { loadNative } from "./native.js";

/** Version of the native core. */
export function nativeVersion(): string {
  return loadNative().version();
}
