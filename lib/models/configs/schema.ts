/**
 * A small, typed field-schema for JSON config files: each field has a reader (type check + conversion) and
 * either a default (diffusers'/transformers' constructor default) or `required`. Unknown fields and ill-typed
 * values raise FormatError naming the file and the field.
 */
import { FormatError } from "../../errors.js";

export interface ParseContext {
  /** File path (or a label such as "<override>") used in error messages. */
  file: string;
  /** Dotted prefix for nested objects ("text_config."). */
  prefix?: string;
  /** When false, unknown fields become warnings instead of errors. Default true. */
  strict?: boolean;
  /** Collects non-fatal notes (unknown fields in non-strict mode). */
  warnings?: string[];
}

export type Reader<T> = (v: unknown, at: string, ctx: ParseContext) => T;

export interface FieldSpec<T> {
  read: Reader<T>;
  /** Default when absent; a function is called per parse (fresh arrays). */
  dflt?: T | (() => T);
  required?: boolean;
}

export type SpecShape = Record<string, FieldSpec<unknown>>;
export type Parsed<S extends SpecShape> = { -readonly [K in keyof S]: S[K] extends FieldSpec<infer T> ? T : never };

export function fail(ctx: ParseContext, at: string, what: string, v: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(v);
  } catch {
    shown = String(v);
  }
  if (shown !== undefined && shown.length > 80) shown = shown.slice(0, 77) + "...";
  throw new FormatError(`${ctx.file}: field "${at}" must be ${what}, got ${shown}`);
}

export const int: Reader<number> = (v, at, ctx) => (Number.isSafeInteger(v) ? (v as number) : fail(ctx, at, "an integer", v));
export const posInt: Reader<number> = (v, at, ctx) =>
  Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : fail(ctx, at, "a positive integer", v);
export const num: Reader<number> = (v, at, ctx) =>
  typeof v === "number" && Number.isFinite(v) ? v : fail(ctx, at, "a finite number", v);
export const bool: Reader<boolean> = (v, at, ctx) => (typeof v === "boolean" ? v : fail(ctx, at, "a boolean", v));
export const str: Reader<string> = (v, at, ctx) => (typeof v === "string" ? v : fail(ctx, at, "a string", v));
/** Anything JSON (metadata we keep but do not interpret). */
export const any: Reader<unknown> = (v) => v;

export function oneOf<T extends string>(...values: T[]): Reader<T> {
  return (v, at, ctx) =>
    typeof v === "string" && (values as string[]).includes(v) ? (v as T) : fail(ctx, at, `one of ${values.map((s) => JSON.stringify(s)).join(", ")}`, v);
}

export function nullable<T>(r: Reader<T>): Reader<T | null> {
  return (v, at, ctx) => (v === null ? null : r(v, at, ctx));
}

export function listOf<T>(r: Reader<T>, opts: { minLength?: number } = {}): Reader<T[]> {
  return (v, at, ctx) => {
    if (!Array.isArray(v)) return fail(ctx, at, "a list", v);
    if (opts.minLength !== undefined && v.length < opts.minLength) return fail(ctx, at, `a list of at least ${opts.minLength} entries`, v);
    return v.map((x, i) => r(x, `${at}[${i}]`, ctx));
  };
}

/** T or a list of T (diffusers' "int or tuple" fields). */
export function scalarOrList<T>(r: Reader<T>): Reader<T | T[]> {
  return (v, at, ctx) => (Array.isArray(v) ? v.map((x, i) => r(x, `${at}[${i}]`, ctx)) : r(v, at, ctx));
}

export function field<T>(read: Reader<T>, dflt: T | (() => T)): FieldSpec<T> {
  return { read, dflt };
}
export function required<T>(read: Reader<T>): FieldSpec<T> {
  return { read, required: true };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Parses `raw` against `spec`. Keys in `ignored` are accepted without checks (metadata), keys in neither are
 * errors (or warnings when ctx.strict === false).
 */
export function parseFields<S extends SpecShape>(
  raw: unknown,
  spec: S,
  ctx: ParseContext,
  ignored: ReadonlySet<string> = new Set(),
): Parsed<S> {
  const prefix = ctx.prefix ?? "";
  if (!isPlainObject(raw)) {
    throw new FormatError(`${ctx.file}: ${prefix ? `field "${prefix.replace(/\.$/, "")}"` : "config"} must be a JSON object`);
  }
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec)) {
    const at = prefix + name;
    if (Object.prototype.hasOwnProperty.call(raw, name)) {
      out[name] = f.read(raw[name], at, ctx);
    } else if (f.required) {
      throw new FormatError(`${ctx.file}: required field "${at}" is missing`);
    } else {
      const d = f.dflt;
      out[name] = typeof d === "function" ? (d as () => unknown)() : structuredClone(d);
    }
  }
  for (const key of Object.keys(raw)) {
    if (key in spec || ignored.has(key)) continue;
    const msg = `${ctx.file}: unknown field "${prefix}${key}"`;
    if (ctx.strict === false) ctx.warnings?.push(msg);
    else throw new FormatError(msg);
  }
  return out as Parsed<S>;
}

/** Copies the listed metadata keys that are present (for `meta`). */
export function pickMeta(raw: Record<string, unknown>, keys: ReadonlySet<string>): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(raw, k)) meta[k] = raw[k];
  return meta;
}
