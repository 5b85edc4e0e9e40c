/** The hand-written OpenAPI 3.0 document served at GET /openapi.json. */

const error = {
  description: "Error",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
};

const commonProps = {
  model: { type: "string", description: "A loaded model name (default: the first one)." },
  prompt: { type: "string" },
  negative_prompt: { type: "string" },
  steps: { type: "integer", minimum: 1, default: 30 },
  guidance_scale: { type: "number", minimum: 0, maximum: 100, default: 7.5 },
  seed: { type: "integer", minimum: 0, maximum: 9007199254740991, description: "Default: random (reported back)." },
  n: { type: "integer", minimum: 1, default: 1, description: "Images (one seeded generator draws them all)." },
  scheduler: { type: "string", description: 'e.g. "ddim", "euler-a", "dpm++2m", "unipc" or a diffusers class name.' },
  response_format: { type: "string", enum: ["b64_json", "binary"], default: "b64_json", description: '"binary": one image/png body (n = 1, synchronous).' },
  async: { type: "boolean", default: false, description: "true: answer 202 with a job id at once." },
  user: { type: "string", description: "Ignored (OpenAI compatibility)." },
};

const responses = {
  "200": {
    description: "The images (synchronous request).",
    content: {
      "application/json": { schema: { $ref: "#/components/schemas/ImagesResult" } },
      "image/png": { schema: { type: "string", format: "binary" } },
    },
  },
  "202": { description: "Accepted (async).", content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } } },
  "400": error, "401": error, "409": error, "413": error,
  "429": { ...error, headers: { "Retry-After": { schema: { type: "integer" }, description: "Seconds." } } },
  "503": error, "504": error,
};

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "sd-native server", version: "1", description: "Stable Diffusion image generation over HTTP (sd-native)." },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "Needed when the server has API keys." } },
      schemas: {
        Error: {
          type: "object", required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } },
        },
        Txt2ImgRequest: {
          type: "object", required: ["prompt"], additionalProperties: false,
          properties: {
            ...commonProps,
            width: { type: "integer", multipleOf: 8, description: "Default: the model's native size." },
            height: { type: "integer", multipleOf: 8 },
            size: { type: "string", pattern: "^\\d+x\\d+$", description: '"WIDTHxHEIGHT", instead of width/height.' },
          },
        },
        Img2ImgRequest: {
          type: "object", required: ["prompt", "image"], additionalProperties: false,
          properties: {
            ...commonProps,
            image: { type: "string", format: "byte", description: "Base64 PNG or JPEG (a data: URL is accepted). Output size: its size rounded down to multiples of 8." },
            strength: { type: "number", minimum: 0, maximum: 1, default: 0.8 },
          },
        },
        ImagesResult: {
          type: "object",
          properties: {
            id: { type: "string" }, created: { type: "integer" }, model: { type: "string" },
            data: { type: "array", items: { type: "object", properties: { b64_json: { type: "string" }, seed: { type: "integer" } } } },
            parameters: { type: "object" }, warnings: { type: "array", items: { type: "string" } },
            nsfw_content_detected: { type: "array", items: { type: "boolean" }, nullable: true },
          },
        },
        Job: {
          type: "object",
          properties: {
            id: { type: "string", format: "uuid" }, object: { type: "string", enum: ["job"] }, model: { type: "string" },
            kind: { type: "string", enum: ["txt2img", "img2img"] },
            state: { type: "string", enum: ["queued", "running", "succeeded", "failed", "cancelled"] },
            step: { type: "integer" }, total: { type: "integer" },
            created: { type: "integer" }, started: { type: "integer", nullable: true }, finished: { type: "integer", nullable: true },
            data: { type: "array", items: { type: "object" }, description: "When succeeded (as ImagesResult)." },
            error: { type: "object", description: "When failed or cancelled." },
          },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/images/generations": {
        post: {
          summary: "Text to image", operationId: "createImage",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Txt2ImgRequest" } } } },
          responses,
        },
      },
      "/v1/images/img2img": {
        post: {
          summary: "Image to image", operationId: "createImageFromImage",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Img2ImgRequest" } } } },
          responses,
        },
      },
      "/v1/jobs/{id}": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        get: {
          summary: "A job's state and progress (and result when done)", operationId: "getJob",
          responses: { "200": { description: "The job", content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } } }, "404": error },
        },
        delete: {
          summary: "Cancel a job (queued: removed; running: stops at its next step)", operationId: "cancelJob",
          responses: { "200": { description: "Cancelled", content: { "application/json": { schema: { $ref: "#/components/schemas/Job" } } } }, "404": error, "409": error },
        },
      },
      "/v1/jobs/{id}/events": {
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
        get: {
          summary: "Server-sent events: queued, step (per denoising step), then done or error; earlier events are replayed",
          operationId: "jobEvents",
          responses: { "200": { description: "text/event-stream", content: { "text/event-stream": { schema: { type: "string" } } } }, "404": error },
        },
      },
      "/v1/models": { get: { summary: "Loaded models", operationId: "listModels", responses: { "200": { description: "The models" } } } },
      "/health": {
        get: { summary: "Liveness (no auth)", operationId: "health", security: [], responses: { "200": { description: "ok" }, "503": { description: "closing" } } },
      },
      "/metrics": {
        get: {
          summary: "Prometheus metrics", operationId: "metrics",
          responses: { "200": { description: "text/plain; version=0.0.4", content: { "text/plain": { schema: { type: "string" } } } } },
        },
      },
      "/openapi.json": { get: { summary: "This document (no auth)", operationId: "openapi", security: [], responses: { "200": { description: "OpenAPI 3" } } } },
    },
  };
}
