/**
 * An HTTP server for the pipelines (node:http, no extra dependencies): OpenAI-style image endpoints,
 * per-model job queues, server-sent progress events, Prometheus metrics. See lib/server/README.md.
 */
export { createServer, SdServer, type CloseOptions, type ServerOptions } from "./server.js";
export { DEFAULT_LIMITS, type GenerationRequest, type ServerLimits } from "./validate.js";
export type { JobState } from "./jobs.js";
export { openApiDocument } from "./openapi.js";
