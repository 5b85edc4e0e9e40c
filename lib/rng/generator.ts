/**
 * The `Generator` interface schedulers and pipelines draw noise from. It mirrors how diffusers calls
 * `randn_tensor(shape, generator=...)`: one call per draw, with the full tensor shape, in call order.
 */
import { InvalidArgumentError } from "../errors.js";

export interface Generator {
  /** Standard normal float32 values for a tensor of `shape` (row-major), like `torch.randn(shape, generator=g)`. */
  randn(shape: readonly number[]): Float32Array;
  /** Uniform [0, 1) float32 values, like `torch.rand(shape, generator=g)`. */
  rand(shape: readonly number[]): Float32Array;
  /** The seed the generator was last seeded with. */
  readonly initialSeed: bigint;
}

/** Number of elements of a shape; throws InvalidArgumentError for negative or non-integer dimensions. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new InvalidArgumentError(`invalid tensor shape [${shape.join(", ")}]: dimensions must be non-negative integers`);
    }
    n *= d;
  }
  return n;
}

/**
 * diffusers' `randn_tensor(shape, generator)`: with a single generator one draw of the whole shape; with a
 * list (one generator per batch item, `list.length === shape[0]`) one draw of shape `[1, ...shape[1:]]` from
 * each generator, concatenated along the batch dimension. A list of length 1 behaves like a single generator
 * (as in diffusers).
 */
export function randnTensor(shape: readonly number[], generator: Generator | readonly Generator[]): Float32Array {
  const total = numelOf(shape);
  if (!Array.isArray(generator)) return (generator as Generator).randn(shape);
  const gens = generator as readonly Generator[];
  if (gens.length === 1) return gens[0]!.randn(shape);
  const batch = shape[0] ?? 1;
  if (gens.length !== batch) {
    throw new InvalidArgumentError(
      `randnTensor: got a list of ${gens.length} generators for batch size ${batch}; pass one generator per batch item`,
    );
  }
  const itemShape = [1, ...shape.slice(1)];
  const per = batch === 0 ? 0 : total / batch;
  const out = new Float32Array(total);
  for (let b = 0; b < batch; b++) out.set(gens[b]!.randn(itemShape), b * per);
  return out;
}
