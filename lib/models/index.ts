/**
 * Model files: typed configs (configs/), folder / HF cache / single-file resolution (layout/), original
 * checkpoint family + config inference and name mapping (single_file/), expected parameter lists (params/),
 * and a header-only safetensors reader.
 */
export * from "./tensor_index.js";
export * from "./safetensors_header.js";
export * from "./configs/index.js";
export * from "./params/expected.js";
export * from "./params/verify.js";
export * from "./layout/index.js";
export * from "./single_file/index.js";
