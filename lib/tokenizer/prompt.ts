/**
 * Prompt -> text-encoder input: token ids, attention mask and per-token weights, with the two ways of
 * handling prompts longer than the encoder's 77 positions and the two prompt syntaxes.
 */
import { InvalidArgumentError } from "../errors.js";
import type { ClipTokenizer } from "./clip-tokenizer.js";
import { parsePromptWeights } from "./prompt-weights.js";

/**
 * What to do with prompts of more than 75 tokens (77 positions minus bos and eos):
 * - "truncate" (default, what diffusers does): keep the first 75 tokens, report what was cut.
 * - "chunk" (the AUTOMATIC1111 behaviour): split the tokens into chunks of 75, each wrapped as its own
 *   77-position sequence; the text encoder encodes every chunk and the embeddings are concatenated
 *   along the sequence axis (see `concatChunkEmbeddings`). Chunks are laid out like diffusers' single
 *   sequence (bos, tokens, eos, padding) and split every 75 tokens exactly; the web UI instead pads before
 *   a final eos and moves a chunk break back to a comma within the last 20 tokens, which is not reproduced.
 */
export type LongPromptMode = "truncate" | "chunk";

/**
 * How prompt text is read:
 * - "plain" (default, what diffusers does): the text is tokenized as is; every weight is 1.
 * - "weighted": A1111 emphasis syntax, `(word)`, `(word:1.3)`, `[word]`, see `parsePromptWeights`. Each
 *   fragment is tokenized on its own (so a bracket also separates words) and its tokens get its weight.
 */
export type PromptSyntax = "plain" | "weighted";

/** Longest piece of dropped text quoted in a warning message (the full text is in `removedText`). */
const MAX_QUOTED_CHARS = 300;

/** A non-fatal problem with a prompt (returned in the result and passed to `onWarning`). */
export interface PromptWarning {
  readonly code: "PROMPT_TRUNCATED";
  /** Human-readable description, quoting what was cut (the first 300 characters of it). */
  readonly message: string;
  /** The decoded text of the tokens that were dropped. */
  readonly removedText: string;
  /** How many tokens were dropped. */
  readonly removedTokens: number;
}

export interface PromptTokenizeOptions {
  /** Default "truncate". */
  readonly longPrompt?: LongPromptMode;
  /** Default "plain". */
  readonly promptSyntax?: PromptSyntax;
  /**
   * "chunk" mode only: produce at least this many chunks, adding empty ones (bos, eos, padding). Use it to
   * give a prompt and its negative prompt the same number of chunks, as classifier-free guidance needs
   * both conditionings to have the same length. Default 1.
   */
  readonly minChunks?: number;
  /** Called once per warning, in addition to the warning being listed in the result. Nothing is logged. */
  readonly onWarning?: (warning: PromptWarning) => void;
}

/** Text-encoder input for one prompt: `chunks` sequences of `sequenceLength` positions, flattened. */
export interface TokenizedPrompt {
  /** Number of 77-position sequences (always 1 in "truncate" mode). */
  readonly chunks: number;
  /** Positions per chunk (the tokenizer's modelMaxLength, 77). */
  readonly sequenceLength: number;
  /** chunks * sequenceLength ids: per chunk bos, up to 75 tokens, eos, padding. */
  readonly inputIds: number[];
  /** 1 for bos/tokens/eos, 0 for padding; same layout as inputIds. */
  readonly attentionMask: number[];
  /** Per-position weight; 1 for bos, eos and padding, and everywhere with "plain" syntax. */
  readonly weights: number[];
  /** Number of prompt tokens (without bos/eos) before any truncation. */
  readonly tokenCount: number;
  /** True when tokens were dropped ("truncate" mode only). */
  readonly truncated: boolean;
  /** True when some weight differs from 1 (then call `applyPromptWeights` on the embeddings). */
  readonly weighted: boolean;
  readonly warnings: PromptWarning[];
}

/**
 * Tokenizes a prompt for the text encoder. With the default options the ids are exactly diffusers'
 * (`padding="max_length"`, `truncation=True`); a truncation produces a `PROMPT_TRUNCATED` warning whose
 * message quotes the dropped text, returned in `warnings` and given to `onWarning` (never logged).
 */
export function tokenizePrompt(tokenizer: ClipTokenizer, prompt: string, options: PromptTokenizeOptions = {}): TokenizedPrompt {
  if (typeof prompt !== "string") {
    throw new InvalidArgumentError(`prompt must be a string, got ${prompt === null ? "null" : typeof prompt}`);
  }
  const longPrompt = options.longPrompt ?? "truncate";
  const syntax = options.promptSyntax ?? "plain";
  const minChunks = options.minChunks ?? 1;
  if (longPrompt !== "truncate" && longPrompt !== "chunk") {
    throw new InvalidArgumentError(`longPrompt must be "truncate" or "chunk", got ${String(longPrompt)}`);
  }
  if (syntax !== "plain" && syntax !== "weighted") {
    throw new InvalidArgumentError(`promptSyntax must be "plain" or "weighted", got ${String(syntax)}`);
  }
  if (!Number.isSafeInteger(minChunks) || minChunks < 1) {
    throw new InvalidArgumentError(`minChunks must be an integer >= 1, got ${String(minChunks)}`);
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== "function") {
    throw new InvalidArgumentError("onWarning must be a function");
  }

  // Content tokens and their weights.
  let ids: number[];
  let tokenWeights: number[];
  if (syntax === "plain") {
    ids = tokenizer.textToIds(prompt);
    tokenWeights = new Array<number>(ids.length).fill(1);
  } else {
    ids = [];
    tokenWeights = [];
    for (const fragment of parsePromptWeights(prompt)) {
      for (const id of tokenizer.textToIds(fragment.text)) {
        ids.push(id);
        tokenWeights.push(fragment.weight);
      }
    }
  }

  const length = tokenizer.modelMaxLength;
  const perChunk = length - 2;
  const warnings: PromptWarning[] = [];
  let groups: number[][];
  let truncated = false;
  if (longPrompt === "truncate") {
    groups = [[0, Math.min(ids.length, perChunk)]];
    if (ids.length > perChunk) {
      truncated = true;
      const removed = ids.slice(perChunk);
      const removedText = tokenizer.decode(removed);
      const quoted = removedText.length > MAX_QUOTED_CHARS ? `${removedText.slice(0, MAX_QUOTED_CHARS)}…` : removedText;
      warnings.push({
        code: "PROMPT_TRUNCATED",
        message:
          `The prompt has ${ids.length} tokens but the text encoder takes ${perChunk}; ` +
          `the last ${removed.length} were dropped: ${JSON.stringify(quoted)}`,
        removedText,
        removedTokens: removed.length,
      });
    }
  } else {
    groups = [];
    for (let start = 0; start < ids.length; start += perChunk) groups.push([start, Math.min(ids.length, start + perChunk)]);
    while (groups.length < minChunks) groups.push([ids.length, ids.length]);
  }

  const inputIds: number[] = [];
  const attentionMask: number[] = [];
  const weights: number[] = [];
  for (const [start, end] of groups as [number, number][]) {
    inputIds.push(tokenizer.bosTokenId);
    attentionMask.push(1);
    weights.push(1);
    for (let k = start; k < end; k++) {
      inputIds.push(ids[k]!);
      attentionMask.push(1);
      weights.push(tokenWeights[k]!);
    }
    inputIds.push(tokenizer.eosTokenId);
    attentionMask.push(1);
    weights.push(1);
    for (let k = end - start + 2; k < length; k++) {
      inputIds.push(tokenizer.padTokenId);
      attentionMask.push(0);
      weights.push(1);
    }
  }

  for (const w of warnings) options.onWarning?.(w);
  return {
    chunks: groups.length,
    sequenceLength: length,
    inputIds,
    attentionMask,
    weights,
    tokenCount: ids.length,
    truncated,
    weighted: weights.some((w) => w !== 1),
    warnings,
  };
}
