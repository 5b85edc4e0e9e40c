/**
 * CLIP tokenizer and prompt handling: tokenization identical to HF's slow CLIPTokenizer (non-ftfy path),
 * long-prompt truncation or chunking, A1111-style prompt weighting.
 *
 * @example
 * ```ts
 * const tokenizer = await loadClipTokenizer("models/sd15/tokenizer"); // or standardClipTokenizer("sd1")
 * const p = tokenizePrompt(tokenizer, "a (red:1.3) fox, [blurry]", {
 *   promptSyntax: "weighted",        // default "plain" (diffusers)
 *   longPrompt: "chunk",             // default "truncate" (diffusers)
 *   onWarning: (w) => log(w.message) // warnings are also in p.warnings; nothing is printed
 * });
 * // encode each 77-id chunk of p.inputIds with the text encoder -> Float32Array [77, hidden] each
 * let emb = concatChunkEmbeddings(chunkEmbeddings, hidden);         // [p.chunks * 77, hidden]
 * if (p.weighted) emb = applyPromptWeights(emb, [p.chunks * 77, hidden], p.weights);
 * ```
 */
export {
  ClipTokenizer,
  type ClipTokenizerSpec,
  type DecodeOptions,
  type EncodeOptions,
  type Encoding,
  type TokenSpec,
} from "./clip-tokenizer.js";
export {
  clipTokenizerFromFiles,
  loadClipTokenizer,
  loadClipTokenizerSync,
  standardClipTokenizer,
  standardTokenizerAssetsDir,
  tokenizerSpecFromFiles,
  type StandardTokenizerSettings,
  type TokenizerFiles,
} from "./load.js";
export { cleanText, normalizeText } from "./text-cleanup.js";
export { splitPieces } from "./pre-tokenizer.js";
export { parsePromptWeights, type WeightedFragment } from "./prompt-weights.js";
export {
  tokenizePrompt,
  type LongPromptMode,
  type PromptSyntax,
  type PromptTokenizeOptions,
  type PromptWarning,
  type TokenizedPrompt,
} from "./prompt.js";
export { applyPromptWeights, concatChunkEmbeddings, type ApplyPromptWeightsOptions } from "./embeddings.js";
