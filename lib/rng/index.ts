export type { Generator } from "./generator.js";
export { numelOf, randnTensor } from "./generator.js";
export { MT19937 } from "./mt19937.js";
export { TorchCpuGenerator } from "./torch-cpu.js";
export type { TorchCpuGeneratorOptions, TorchCpuNormalKernel } from "./torch-cpu.js";
export { DEFAULT_CUDA_DEVICE, TorchCudaGenerator, philox4x32_10 } from "./philox.js";
export type { CudaDeviceProperties } from "./philox.js";
export { fmaf } from "./f32math.js";
