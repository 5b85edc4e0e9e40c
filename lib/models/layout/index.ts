export * from "./diffusers.js";
export * from "./hf_cache.js";
export * from "./source.js";
