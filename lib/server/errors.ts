/** HTTP errors the server answers with `{ error: { code, message } }` (never a stack trace). */
import { SdError } from "../errors.js";

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** A validation failure naming the field. */
export function badField(field: string, message: string): HttpError {
  return new HttpError(400, "invalid_field", `${field}: ${message}`);
}

/** Maps anything a job threw to what a client may see: typed argument errors keep their message. */
export function publicError(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof SdError) {
    switch (err.code) {
      case "ERR_INVALID_ARGUMENT":
      case "ERR_UNSUPPORTED":
      case "ERR_FORMAT":
      case "ERR_SHAPE":
        return { status: 400, code: "invalid_request", message: err.message };
      case "ERR_ABORTED":
        return { status: 499, code: "cancelled", message: "the job was cancelled" };
      case "ERR_OUT_OF_MEMORY":
        return { status: 503, code: "out_of_memory", message: "the server ran out of memory for this request" };
      default:
        return { status: 500, code: "internal_error", message: "generation failed" };
    }
  }
  return { status: 500, code: "internal_error", message: "internal server error" };
}
