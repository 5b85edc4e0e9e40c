/**
 * Typed errors. Every error sd-native throws is an `SdError` (or a subclass) with a stable string `code`
 * that names the problem class; messages name the file, tensor, field or option at fault.
 */

/** Stable error codes. Native failures map 1:1 from the C API's `sdn_status` names. */
export type SdErrorCode =
  | "ERR_INVALID_ARGUMENT"
  | "ERR_OUT_OF_MEMORY"
  | "ERR_IO"
  | "ERR_FORMAT"
  | "ERR_UNSUPPORTED"
  | "ERR_SHAPE"
  | "ERR_NOT_FOUND"
  | "ERR_ABORTED"
  | "ERR_BACKEND"
  | "ERR_INTERNAL"
  | "ERR_DISPOSED"
  | "ERR_NATIVE_LOAD";

export class SdError extends Error {
  readonly code: SdErrorCode;
  constructor(code: SdErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SdError";
    this.code = code;
  }
}

/** A parameter or option is out of range or of the wrong type. */
export class InvalidArgumentError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_INVALID_ARGUMENT", message, options);
    this.name = "InvalidArgumentError";
  }
}

/** A file's content is malformed (truncated, bad header, hostile pickle, unreadable JSON). */
export class FormatError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_FORMAT", message, options);
    this.name = "FormatError";
  }
}

/** A file, component, tensor or repo id could not be found. */
export class NotFoundError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_NOT_FOUND", message, options);
    this.name = "NotFoundError";
  }
}

/** Tensor shapes do not agree. */
export class ShapeError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_SHAPE", message, options);
    this.name = "ShapeError";
  }
}

/** Valid input this build cannot handle. */
export class UnsupportedError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_UNSUPPORTED", message, options);
    this.name = "UnsupportedError";
  }
}

/** The operation was stopped by an AbortSignal or abort callback. `name` is "AbortError" as in the DOM. */
export class AbortError extends SdError {
  constructor(message = "The operation was aborted", options?: { cause?: unknown }) {
    super("ERR_ABORTED", message, options);
    this.name = "AbortError";
  }
}

/** A method was called on an object after dispose(). */
export class DisposedError extends SdError {
  constructor(what: string) {
    super("ERR_DISPOSED", `${what} has been disposed`);
    this.name = "DisposedError";
  }
}

/** The native addon could not be loaded; the message aggregates every attempt and how to fix it. */
export class NativeLoadError extends SdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_NATIVE_LOAD", message, options);
    this.name = "NativeLoadError";
  }
}

const NATIVE_CODES: Record<string, SdErrorCode> = {
  SDN_ERR_INVALID_ARGUMENT: "ERR_INVALID_ARGUMENT",
  SDN_ERR_OUT_OF_MEMORY: "ERR_OUT_OF_MEMORY",
  SDN_ERR_IO: "ERR_IO",
  SDN_ERR_FORMAT: "ERR_FORMAT",
  SDN_ERR_UNSUPPORTED: "ERR_UNSUPPORTED",
  SDN_ERR_SHAPE: "ERR_SHAPE",
  SDN_ERR_NOT_FOUND: "ERR_NOT_FOUND",
  SDN_ERR_ABORTED: "ERR_ABORTED",
  SDN_ERR_BACKEND: "ERR_BACKEND",
  SDN_ERR_INTERNAL: "ERR_INTERNAL",
};

/**
 * Converts an error thrown by the addon (an Error whose `code` is an `sdn_status` name) into the typed
 * SdError subclass. Anything else is returned unchanged.
 */
export function fromNativeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const nativeCode = (err as Error & { code?: unknown }).code;
  if (typeof nativeCode !== "string" || !(nativeCode in NATIVE_CODES)) return err;
  const code = NATIVE_CODES[nativeCode]!;
  const opts = { cause: err };
  switch (code) {
    case "ERR_INVALID_ARGUMENT":
      return new InvalidArgumentError(err.message, opts);
    case "ERR_FORMAT":
      return new FormatError(err.message, opts);
    case "ERR_NOT_FOUND":
      return new NotFoundError(err.message, opts);
    case "ERR_SHAPE":
      return new ShapeError(err.message, opts);
    case "ERR_UNSUPPORTED":
      return new UnsupportedError(err.message, opts);
    case "ERR_ABORTED":
      return new AbortError(err.message, opts);
    default:
      return new SdError(code, err.message, opts);
  }
}
