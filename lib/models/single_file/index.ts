export * from "./infer.js";
export * from "./load.js";
export * from "./mapping.js";
export * from "./yaml.js";
