/**
 * CLIP's pre-tokenizer: splits normalized text into the pieces that BPE then works on, one at a time.
 *
 * Alternatives, tried in this order at each position (case-insensitive, as CLIP's pattern is):
 * - the literal special-token strings `<|startoftext|>` and `<|endoftext|>` (hard-wired in CLIP's pattern);
 * - the English contractions `'s 't 're 've 'm 'll 'd`;
 * - one CJK ideograph (the cleanup surrounds each with spaces, so it is always a piece of its own);
 * - a run of other letters (`\p{L}`);
 * - a single number character (`\p{N}`): "2023" becomes four pieces;
 * - a run of anything else that is not whitespace (punctuation, symbols, marks, emoji).
 * Whitespace separates pieces and is never part of one.
 */
import { CJK_IDEOGRAPH_RANGES } from "./text-cleanup.js";

/** Special-token strings CLIP's pattern recognises inside text (and BPE keeps whole). */
export const CLIP_PATTERN_SPECIALS: readonly string[] = ["<|startoftext|>", "<|endoftext|>"];

// Built from a string: the `v` flag (class set subtraction) is newer than the TypeScript target.
const PIECE = new RegExp(
  String.raw`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|` +
    `[${CJK_IDEOGRAPH_RANGES}]|[\\p{L}--[${CJK_IDEOGRAPH_RANGES}]]+|` +
    String.raw`\p{N}|[^\s\p{L}\p{N}]+`,
  "giv",
);

/** The pieces of `text` in order (text should already be normalized by `normalizeText` or `cleanText`). */
export function splitPieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}
