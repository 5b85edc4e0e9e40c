/** The hand-written OpenAPI 3.0 document served at GET /openapi.json. */

const error = {
  description: "Error",
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
};

const image = (what: string) => ({ type: "string", format: "byte", description: `${what} Base64 PNG or JPEG (a data: URL is accepted).` });

const promptProps = {
  prompt: { type: "string" },
  negative_prompt: { type: "string" },
};

const sizeProps = {
  width: { type: "integer", multipleOf: 8, description: "Default: the model's native size." },
  height: { type: "integer", multipleOf: 8 },
  size: { type: "string", pattern: "^\\d+x\\d+$", description: '"WIDTHxHEIGHT", instead of width/height.' },
};

const commonProps = {
  model: {
    type: "string",
    description: "A loaded model name that serves this endpoint (default: the first such model). A model of another pipeline class is a 400.",
  },
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

function imagePath(path: string, summary: string, operationId: string, schema: string): Record<string, unknown> {
  return {
    [path]: {
      post: {
        summary, operationId,
        requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } },
        responses,
      },
    },
  };
}

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
          properties: { ...commonProps, ...promptProps, ...sizeProps },
        },
        Img2ImgRequest: {
          type: "object", required: ["prompt", "image"], additionalProperties: false,
          properties: {
            ...commonProps, ...promptProps,
            image: image("The init image. Output size: its size rounded down to multiples of 8."),
            strength: { type: "number", minimum: 0, maximum: 1, default: 0.8 },
          },
        },
        InpaintRequest: {
          type: "object", required: ["prompt", "image", "mask"], additionalProperties: false,
          properties: {
            ...commonProps, ...promptProps,
            image: image("The image to inpaint. Output size: its size rounded down to multiples of 8."),
            mask: image("White = repaint, black = keep (binarised at 0.5); the image's size."),
            strength: { type: "number", minimum: 0, maximum: 1, default: 1, description: "1: the masked area starts from pure noise." },
          },
        },
        VariationRequest: {
          type: "object", required: ["image"], additionalProperties: false,
          properties: {
            ...commonProps, ...sizeProps,
            image: image("The source image (its CLIP image embedding conditions the UNet; no prompt)."),
          },
        },
        UpscaleRequest: {
          type: "object", required: ["image"], additionalProperties: false,
          properties: {
            ...commonProps, ...promptProps,
            prompt: { type: "string", default: "", description: "Describes the image (the x4 upscaler is text-conditioned)." },
            guidance_scale: { type: "number", minimum: 0, maximum: 100, default: 9 },
            image: image("The low-resolution image; the output is 4x its size (the limits apply to the output)."),
            noise_level: { type: "integer", minimum: 0, maximum: 350, default: 20, description: "Noise added to the low-res image (at most the model's max_noise_level)." },
          },
        },
        Depth2ImgRequest: {
          type: "object", required: ["prompt", "image", "depth_map"], additionalProperties: false,
          properties: {
            ...commonProps, ...promptProps,
            image: image("The init image. Output size: its size rounded down to multiples of 8."),
            depth_map: image("The depth map as a grayscale image (larger = nearer; any scale and size): sd-native has no depth estimator."),
            strength: { type: "number", minimum: 0, maximum: 1, default: 0.8 },
          },
        },
        Model: {
          type: "object",
          properties: {
            id: { type: "string" }, object: { type: "string", enum: ["model"] },
            pipeline: { type: "string", description: "The pipeline class (e.g. StableDiffusionInpaintPipeline)." },
            endpoints: { type: "array", items: { type: "string" }, description: "The image endpoints this model serves." },
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
            kind: { type: "string", enum: ["txt2img", "img2img", "inpaint", "variation", "upscale", "depth2img"] },
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
      ...imagePath("/v1/images/generations", "Text to image (StableDiffusionPipeline models)", "createImage", "Txt2ImgRequest"),
      ...imagePath("/v1/images/img2img", "Image to image (StableDiffusionPipeline and StableDiffusionImg2ImgPipeline models)", "createImageFromImage", "Img2ImgRequest"),
      ...imagePath("/v1/images/inpaint", "Inpainting (StableDiffusionInpaintPipeline models)", "createImageInpaint", "InpaintRequest"),
      ...imagePath("/v1/images/variations", "Image variations (StableDiffusionImageVariationPipeline models)", "createImageVariation", "VariationRequest"),
      ...imagePath("/v1/images/upscale", "x4 upscaling (StableDiffusionUpscalePipeline models)", "createImageUpscale", "UpscaleRequest"),
      ...imagePath("/v1/images/depth2img", "Depth-guided image to image (StableDiffusionDepth2ImgPipeline models)", "createImageDepth2Img", "Depth2ImgRequest"),
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
      "/v1/models": {
        get: {
          summary: "Loaded models, with their pipeline class and the endpoints each serves", operationId: "listModels",
          responses: {
            "200": {
              description: "The models",
              content: {
                "application/json": {
                  schema: { type: "object", properties: { object: { type: "string" }, data: { type: "array", items: { $ref: "#/components/schemas/Model" } } } },
                },
              },
            },
          },
        },
      },
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
