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

export * from "./tensor.js";
export { WeightFile, openWeightFile, writeSafetensors } from "./weights.js";
export type { TensorToWrite, WeightDType, WeightTensorInfo } from "./weights.js";
export * from "./components/index.js";
export * from "./tokenizer/index.js";
export * from "./schedulers/index.js";
export * from "./rng/index.js";
export * from "./models/index.js";
// Names exported by two modules above: these are the public ones.
export type { PredictionType } from "./schedulers/index.js";
export { numel } from "./tensor.js";
export * from "./images/index.js";
export * from "./safety/index.js";
export * from "./pipelines/index.js";
export * from "./server/index.js";
