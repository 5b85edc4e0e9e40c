/**
 * An HTTP server for the pipelines (node:http, no extra dependencies): OpenAI-style image endpoints for every
 * pipeline class (txt2img, img2img, inpaint, variations, upscale, depth2img), a handler to mount in other
 * servers, per-model job queues, server-sent progress events, Prometheus metrics. See lib/server/README.md.
 */
export { createServer, SdServer, type CloseOptions, type SdRequestHandler, type ServerOptions } from "./server.js";
export { ENDPOINTS, type JobKind } from "./capabilities.js";
export { DEFAULT_LIMITS, type GenerationRequest, type ServerLimits } from "./validate.js";
export type { JobState } from "./jobs.js";
export { openApiDocument } from "./openapi.js";
