/** A simple tensor: a shape and a flat, row-major Float32Array (what every component takes and returns). */
import { ShapeError } from "./errors.js";

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Makes a tensor, checking that the data holds exactly product(shape) elements. */
export function tensor(shape: number[], data?: Float32Array | number[]): Tensor {
  const n = numel(shape);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`invalid shape [${shape.join(", ")}]`);
  const arr = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
  if (arr.length !== n) throw new ShapeError(`tensor of shape [${shape.join(", ")}] needs ${n} elements, got ${arr.length}`);
  return { shape: [...shape], data: arr };
}

/** Throws a ShapeError naming `what` unless `t` is a Tensor whose shape matches `pattern` (-1 = any). */
export function expectShape(what: string, t: Tensor, pattern: readonly number[]): void {
  if (!t || !Array.isArray(t.shape) || !(t.data instanceof Float32Array)) {
    throw new ShapeError(`${what} must be a Tensor ({ shape: number[], data: Float32Array })`);
  }
  const ok = t.shape.length === pattern.length && pattern.every((p, i) => p < 0 || p === t.shape[i]);
  if (!ok) {
    const want = pattern.map((p) => (p < 0 ? "*" : String(p))).join(", ");
    throw new ShapeError(`${what} has shape [${t.shape.join(", ")}], expected [${want}]`);
  }
  if (t.data.length !== numel(t.shape)) {
    throw new ShapeError(`${what}: data has ${t.data.length} elements for shape [${t.shape.join(", ")}]`);
  }
}
