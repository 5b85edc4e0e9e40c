/**
 * A TensorIndex is the list of tensors a weight file holds (name, dtype, shape), without data. Everything
 * in lib/models/ that reasons about weights (config inference, name mapping, shape checks) consumes this
 * list, so it can run on a safetensors header, on the native reader's listing, or on a test fixture.
 */

/** safetensors dtype names (the native reader reports pickle dtypes in the same spelling). */
export type TensorDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "F8_E4M3"
  | "F8_E5M2"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

export const TENSOR_DTYPES: readonly TensorDType[] = [
  "F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL",
];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<TensorDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E4M3: 1, F8_E5M2: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

export interface TensorInfo {
  name: string;
  dtype: TensorDType;
  shape: number[];
}

export type TensorIndex = readonly TensorInfo[];

/** "[320, 4, 3, 3]" */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isTensorDType(s: unknown): s is TensorDType {
  return typeof s === "string" && (TENSOR_DTYPES as readonly string[]).includes(s);
}

/** Maps numpy/torch spellings ("float32", "torch.float16", "f32") to safetensors names; undefined if unknown. */
export function normalizeDType(s: string): TensorDType | undefined {
  const t = s.replace(/^torch\./, "").toLowerCase();
  const table: Record<string, TensorDType> = {
    f64: "F64", float64: "F64", double: "F64",
    f32: "F32", float32: "F32", float: "F32",
    f16: "F16", float16: "F16", half: "F16",
    bf16: "BF16", bfloat16: "BF16",
    i64: "I64", int64: "I64", long: "I64",
    i32: "I32", int32: "I32", int: "I32",
    i16: "I16", int16: "I16", short: "I16",
    i8: "I8", int8: "I8",
    u8: "U8", uint8: "U8",
    bool: "BOOL",
    f8_e4m3: "F8_E4M3", float8_e4m3fn: "F8_E4M3",
    f8_e5m2: "F8_E5M2", float8_e5m2: "F8_E5M2",
  };
  if (isTensorDType(s)) return s;
  return table[t];
}

/** Name → info lookup over an index (last one wins for duplicate names; indexes from files have none). */
export function indexByName(index: TensorIndex): Map<string, TensorInfo> {
  const m = new Map<string, TensorInfo>();
  for (const t of index) m.set(t.name, t);
  return m;
}
