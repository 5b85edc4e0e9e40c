/**
 * Post-processing of text-encoder outputs for long and weighted prompts. Embeddings are row-major float32
 * matrices of shape [rows, hidden], one row per token position.
 */
import { InvalidArgumentError, ShapeError } from "../errors.js";

function checkHidden(hidden: number): void {
  if (!Number.isSafeInteger(hidden) || hidden < 1) throw new InvalidArgumentError(`hidden size must be a positive integer, got ${String(hidden)}`);
}

/**
 * Joins the per-chunk embeddings of a chunked prompt (each [sequenceLength, hidden], in chunk order) into
 * one [chunks * sequenceLength, hidden] matrix: concatenation along the sequence axis, which is how the
 * AUTOMATIC1111 web UI feeds prompts longer than 75 tokens to the UNet's cross-attention (the UNet accepts
 * any number of context positions). All chunks must have the same shape.
 */
export function concatChunkEmbeddings(chunks: readonly Float32Array[], hidden: number): Float32Array {
  checkHidden(hidden);
  if (!Array.isArray(chunks) || chunks.length === 0) throw new InvalidArgumentError("chunks must be a non-empty array of Float32Array");
  const size = chunks[0]!.length;
  chunks.forEach((c, i) => {
    if (!(c instanceof Float32Array)) throw new InvalidArgumentError(`chunk ${i} is not a Float32Array`);
    if (c.length !== size || c.length % hidden !== 0) {
      throw new ShapeError(`chunk ${i} has ${c.length} values; expected ${size} (a multiple of hidden size ${hidden}) like chunk 0`);
    }
  });
  const out = new Float32Array(size * chunks.length);
  chunks.forEach((c, i) => out.set(c, i * size));
  return out;
}

/** Options of `applyPromptWeights`. */
export interface ApplyPromptWeightsOptions {
  /**
   * Restore the mean separately for each block of this many rows instead of over the whole matrix. The
   * AUTOMATIC1111 web UI encodes and rescales every 77-position chunk on its own, so pass
   * `sequenceLength` (77) to reproduce it exactly for chunked prompts; for a single chunk both are the same.
   * Must divide the number of rows. Default: the whole matrix is one block.
   */
  readonly groupRows?: number;
}

/**
 * Applies per-token prompt weights to text embeddings, as the AUTOMATIC1111 web UI does: every row
 * (token position) is multiplied by its weight, then the matrix is rescaled so that the mean over all its
 * elements equals the mean before weighting:
 *
 *   weighted[r, h] = embeddings[r, h] * weights[r]
 *   result = weighted * (mean(embeddings) / mean(weighted))
 *
 * (per block of `options.groupRows` rows if given). Means are accumulated in float64. If a weighted mean
 * is 0 (or either mean is not finite) that block is not rescaled. Returns a new array; the input is not
 * modified.
 *
 * @param embeddings row-major [rows, hidden] (rows = chunks * 77 for a chunked prompt).
 * @param shape [rows, hidden].
 * @param weights one weight per row (`TokenizedPrompt.weights`).
 */
export function applyPromptWeights(
  embeddings: Float32Array,
  shape: readonly [number, number],
  weights: ArrayLike<number>,
  options: ApplyPromptWeightsOptions = {},
): Float32Array {
  if (!(embeddings instanceof Float32Array)) throw new InvalidArgumentError("embeddings must be a Float32Array");
  if (!Array.isArray(shape) || shape.length !== 2) throw new InvalidArgumentError("shape must be [rows, hidden]");
  const [rows, hidden] = shape;
  checkHidden(hidden);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new InvalidArgumentError(`rows must be a non-negative integer, got ${String(rows)}`);
  if (embeddings.length !== rows * hidden) {
    throw new ShapeError(`embeddings have ${embeddings.length} values, shape [${rows}, ${hidden}] needs ${rows * hidden}`);
  }
  if (weights === null || typeof weights !== "object" || weights.length !== rows) {
    throw new ShapeError(`weights must have one entry per row (${rows}), got ${weights?.length ?? "none"}`);
  }
  for (let r = 0; r < rows; r++) {
    const w = weights[r];
    if (typeof w !== "number" || !Number.isFinite(w)) throw new InvalidArgumentError(`weight ${r} is not a finite number`);
  }
  const groupRows = options.groupRows ?? Math.max(rows, 1);
  if (!Number.isSafeInteger(groupRows) || groupRows < 1 || rows % groupRows !== 0) {
    throw new InvalidArgumentError(`groupRows must be a positive integer dividing the row count ${rows}, got ${String(groupRows)}`);
  }

  const out = new Float32Array(embeddings.length);
  for (let g = 0; g < rows; g += groupRows) {
    let before = 0;
    let after = 0;
    for (let r = g; r < g + groupRows; r++) {
      const w = weights[r]!;
      const base = r * hidden;
      for (let h = 0; h < hidden; h++) {
        const x = embeddings[base + h]!;
        before += x;
        const y = Math.fround(x * w);
        out[base + h] = y;
        after += y;
      }
    }
    if (after === 0 || !Number.isFinite(before) || !Number.isFinite(after)) continue;
    const factor = before / after; // the element count cancels in the ratio of the means
    for (let k = g * hidden; k < (g + groupRows) * hidden; k++) out[k] = out[k]! * factor;
  }
  return out;
}
