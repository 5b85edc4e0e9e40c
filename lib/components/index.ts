export { TextEncoder } from "./text-encoder.js";
export type { TextEncoderForwardOptions, TextEncoderOutput } from "./text-encoder.js";
export { ImageEncoder } from "./image-encoder.js";
export type { ImageEncoderForwardOptions, ImageEncoderOutput } from "./image-encoder.js";
export { UNet } from "./unet.js";
export type { UNetForwardOptions } from "./unet.js";
export { Vae } from "./vae.js";
export type { VaeEncodeOutput } from "./vae.js";
export type { ForwardOptions } from "./native-component.js";
export { NativeComponent } from "./native-component.js";
export {
  buildNetwork,
  componentWeightFiles,
  loadImageEncoder,
  loadTextEncoder,
  loadUNet,
  loadVae,
  sourcesFromFiles,
  wrapNetwork,
} from "./load.js";
export type { ComponentFolderOptions, NetworkKind, WeightSource } from "./load.js";
export { loadSingleFile } from "./single-file.js";
export type { SingleFileComponents } from "./single-file.js";
