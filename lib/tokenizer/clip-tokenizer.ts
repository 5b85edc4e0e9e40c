/**
 * The CLIP tokenizer: text -> ids as HuggingFace's slow `CLIPTokenizer` produces them on its non-ftfy path
 * (what diffusers uses with a default install), and ids -> text.
 *
 * Pipeline for `encode(text)`:
 * 1. added tokens (bos/eos/pad/unk and any extra ones) are cut out of the raw text, case-sensitively;
 * 2. every other segment is cleaned (`normalizeText`, see text-cleanup.ts), split into pieces
 *    (`splitPieces`), and each piece is UTF-8 encoded into the byte-level alphabet and BPE-merged
 *    (`BytePairEncoder`, cached per word);
 * 3. tokens map to ids through the vocabulary (unknown -> unk id); added tokens have their own ids;
 * 4. `<|startoftext|>` + ids + `<|endoftext|>`, truncated to `maxLength` (keeping the first maxLength-2
 *    content tokens) and padded with the pad id, with an attention mask of 1 for real tokens and 0 for pad.
 */
import { InvalidArgumentError } from "../errors.js";
import { AddedTokenMatcher, type AddedToken } from "./added-tokens.js";
import { BytePairEncoder, END_OF_WORD } from "./bpe.js";
import { writeByteLevelBytes } from "./byte-level.js";
import { splitPieces } from "./pre-tokenizer.js";
import { normalizeText } from "./text-cleanup.js";

/** A special or added token as written in a tokenizer's configuration. */
export interface TokenSpec {
  readonly content: string;
  /** Remove whitespace before a match in the text (default false). */
  readonly lstrip?: boolean;
  /** Remove whitespace after a match in the text (default false). */
  readonly rstrip?: boolean;
}

/** Everything needed to build a `ClipTokenizer`. */
export interface ClipTokenizerSpec {
  /** Token string (byte-level alphabet, words ending in `</w>`) -> id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** Merge rules in priority order, each "left right". */
  readonly merges: readonly string[];
  readonly bosToken: TokenSpec;
  readonly eosToken: TokenSpec;
  readonly padToken: TokenSpec;
  readonly unkToken: TokenSpec;
  /** Further added tokens; `id` pins the id, otherwise the vocab id or the next free id is used. */
  readonly addedTokens?: readonly (TokenSpec & { readonly id?: number; readonly special?: boolean })[];
  /** Sequence length of the text encoder (77 for every Stable Diffusion text encoder). Default 77. */
  readonly modelMaxLength?: number;
}

/** Options of `ClipTokenizer.encode`. The defaults are diffusers' call: max_length padding + truncation at 77. */
export interface EncodeOptions {
  /** Total length including bos/eos. Default: the tokenizer's `modelMaxLength`. At least 2. */
  readonly maxLength?: number;
  /** Cut the content to `maxLength - 2` tokens. Default true. */
  readonly truncation?: boolean;
  /** "max_length" pads to `maxLength` (default); "none" does not pad. */
  readonly padding?: "max_length" | "none";
}

/** Result of `ClipTokenizer.encode`. */
export interface Encoding {
  /** bos + content (possibly truncated) + eos, padded with the pad id. */
  readonly inputIds: number[];
  /** 1 for bos, content and eos; 0 for padding. Same length as inputIds. */
  readonly attentionMask: number[];
  /** bos + all content + eos, never truncated or padded. */
  readonly untruncatedIds: number[];
  /** True when content tokens were cut off. */
  readonly truncated: boolean;
  /** Number of content tokens (without bos/eos) before truncation. */
  readonly tokenCount: number;
}

/** Options of `ClipTokenizer.decode`. */
export interface DecodeOptions {
  /** Leave out bos/eos/pad/unk and other special tokens. Default false. */
  readonly skipSpecialTokens?: boolean;
  /** Remove the space before `. , ? !` and English contractions, as HF does by default. Default true. */
  readonly cleanUpTokenizationSpaces?: boolean;
}

const DEFAULT_MAX_LENGTH = 77;
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: false });
const SPACE_CLEANUPS: readonly (readonly [string, string])[] = [
  [" .", "."],
  [" ?", "?"],
  [" !", "!"],
  [" ,", ","],
  [" ' ", "'"],
  [" n't", "n't"],
  [" 'm", "'m"],
  [" 's", "'s"],
  [" 've", "'ve"],
  [" 're", "'re"],
];

function assertString(value: unknown, what: string): asserts value is string {
  if (typeof value !== "string") {
    throw new InvalidArgumentError(`${what} must be a string, got ${value === null ? "null" : typeof value}`);
  }
}

export class ClipTokenizer {
  /** Length of the text encoder's input (bos + content + eos + padding). */
  readonly modelMaxLength: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  /** Number of ids (vocabulary plus added tokens that are not in it): highest id + 1. */
  readonly vocabSize: number;

  private readonly vocab: ReadonlyMap<string, number>;
  private readonly idToTokenTable = new Map<number, string>();
  private readonly added = new Map<string, AddedToken>();
  private readonly addedById = new Map<number, AddedToken>();
  private readonly matcher: AddedTokenMatcher;
  private readonly bpe: BytePairEncoder;
  private readonly specialIds = new Set<number>();
  /** BPE symbol id -> token id. */
  private readonly symbolToId: Int32Array;

  constructor(spec: ClipTokenizerSpec) {
    const maxLength = spec.modelMaxLength ?? DEFAULT_MAX_LENGTH;
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
      throw new InvalidArgumentError(`modelMaxLength must be an integer >= 2, got ${maxLength}`);
    }
    this.modelMaxLength = maxLength;
    this.vocab = spec.vocab;
    let nextId = 0;
    for (const [token, id] of spec.vocab) {
      if (!Number.isSafeInteger(id) || id < 0) throw new InvalidArgumentError(`vocab: id of ${JSON.stringify(token)} is not a non-negative integer`);
      this.idToTokenTable.set(id, token);
      if (id >= nextId) nextId = id + 1;
    }

    const addToken = (t: TokenSpec & { id?: number; special?: boolean }, special: boolean): AddedToken => {
      const existing = this.added.get(t.content);
      if (existing) return existing;
      let id = t.id ?? spec.vocab.get(t.content);
      if (id === undefined) id = nextId;
      if (id >= nextId) nextId = id + 1;
      const token: AddedToken = { content: t.content, id, special, lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false };
      this.added.set(t.content, token);
      this.addedById.set(id, token);
      if (special) this.specialIds.add(id);
      return token;
    };
    // Same order as HF: bos, eos, unk, pad, then the rest.
    this.bosTokenId = addToken(spec.bosToken, true).id;
    this.eosTokenId = addToken(spec.eosToken, true).id;
    this.unkTokenId = addToken(spec.unkToken, true).id;
    this.padTokenId = addToken(spec.padToken, true).id;
    for (const t of spec.addedTokens ?? []) addToken(t, t.special ?? true);
    this.matcher = new AddedTokenMatcher(this.added.values());
    this.bpe = new BytePairEncoder(spec.merges);
    this.symbolToId = new Int32Array(this.bpe.symbolCount);
    for (let s = 0; s < this.symbolToId.length; s++) this.symbolToId[s] = this.tokenToId(this.bpe.symbol(s));
    this.vocabSize = nextId;
  }


  /** The token strings of `text` (no bos/eos): BPE tokens like "photo</w>" and added tokens like "!" (SD2). */
  tokenize(text: string): string[] {
    assertString(text, "text");
    const out: string[] = [];
    for (const segment of this.matcher.split(text)) {
      if (segment.token) {
        out.push(segment.token.content);
        continue;
      }
      for (const piece of splitPieces(normalizeText(segment.text))) {
        for (const s of this.bpe.encodeWord(piece)) out.push(this.bpe.symbol(s));
      }
    }
    return out;
  }

  /** The ids of `text` without bos/eos, truncation or padding. */
  textToIds(text: string): number[] {
    assertString(text, "text");
    const out: number[] = [];
    const symbolToId = this.symbolToId;
    for (const segment of this.matcher.split(text)) {
      if (segment.token) {
        out.push(segment.token.id);
        continue;
      }
      for (const piece of splitPieces(normalizeText(segment.text))) {
        const symbols = this.bpe.encodeWord(piece);
        for (let k = 0; k < symbols.length; k++) out.push(symbolToId[symbols[k]!]!);
      }
    }
    return out;
  }

  /** Id of one token string: added tokens first, then the vocabulary, else the unk id. */
  tokenToId(token: string): number {
    return this.added.get(token)?.id ?? this.vocab.get(token) ?? this.unkTokenId;
  }

  /** Token string of an id, or undefined if the id is unknown. */
  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.idToTokenTable.get(id);
  }

  /** True for the ids of special tokens (bos, eos, pad, unk, and special added tokens). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Tokenizes `text` for the text encoder. With the defaults this gives exactly what diffusers gets from
   * `tokenizer(text, padding="max_length", max_length=77, truncation=True)`, plus the untruncated ids it
   * uses for its truncation warning.
   */
  encode(text: string, options: EncodeOptions = {}): Encoding {
    assertString(text, "text");
    const content = this.textToIds(text);
    return this.wrap(content, options);
  }

  /** Adds bos/eos, truncation and padding to already tokenized content ids (see `encode`). */
  wrap(content: readonly number[], options: EncodeOptions = {}): Encoding {
    const maxLength = options.maxLength ?? this.modelMaxLength;
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
      throw new InvalidArgumentError(`maxLength must be an integer >= 2, got ${String(maxLength)}`);
    }
    const truncation = options.truncation ?? true;
    const padding = options.padding ?? "max_length";
    if (padding !== "max_length" && padding !== "none") {
      throw new InvalidArgumentError(`padding must be "max_length" or "none", got ${String(padding)}`);
    }
    const n = content.length;
    const untruncatedIds = new Array<number>(n + 2);
    untruncatedIds[0] = this.bosTokenId;
    for (let k = 0; k < n; k++) untruncatedIds[k + 1] = content[k]!;
    untruncatedIds[n + 1] = this.eosTokenId;
    const truncated = truncation && n > maxLength - 2;
    const kept = truncated ? maxLength - 2 : n;
    const total = padding === "max_length" ? Math.max(maxLength, kept + 2) : kept + 2;
    const inputIds = new Array<number>(total);
    const attentionMask = new Array<number>(total);
    inputIds[0] = this.bosTokenId;
    for (let k = 0; k < kept; k++) inputIds[k + 1] = content[k]!;
    inputIds[kept + 1] = this.eosTokenId;
    for (let k = 0; k < kept + 2; k++) attentionMask[k] = 1;
    for (let k = kept + 2; k < total; k++) {
      inputIds[k] = this.padTokenId;
      attentionMask[k] = 0;
    }
    return { inputIds, attentionMask, untruncatedIds, truncated, tokenCount: content.length };
  }

  /**
   * Ids -> text, as HF's `decode`: token strings are joined, turned back into UTF-8 bytes (invalid
   * sequences become U+FFFD), every `</w>` becomes a space, and the result is trimmed. Special tokens are
   * written as their text unless `skipSpecialTokens`. Unknown ids throw InvalidArgumentError.
   */
  decode(ids: Iterable<number> | ArrayLike<number>, options: DecodeOptions = {}): string {
    if (ids === null || typeof ids !== "object") throw new InvalidArgumentError("ids must be an array of token ids");
    const list = Array.isArray(ids) ? (ids as readonly unknown[]) : Array.from(ids as ArrayLike<number>);
    const skipSpecial = options.skipSpecialTokens ?? false;
    let bytes = new Uint8Array(Math.max(16, list.length * 4));
    let length = 0;
    for (const id of list) {
      if (typeof id !== "number") throw new InvalidArgumentError(`token id ${String(id)} is not a number`);
      if (skipSpecial && this.specialIds.has(id)) continue;
      const token = this.idToToken(id);
      if (token === undefined) throw new InvalidArgumentError(`unknown token id ${String(id)}`);
      if (length + token.length * 4 > bytes.length) {
        const grown = new Uint8Array(Math.max(2 * bytes.length, length + token.length * 4));
        grown.set(bytes.subarray(0, length));
        bytes = grown;
      }
      length = writeByteLevelBytes(token, bytes, length);
    }
    let text = UTF8_DECODER.decode(bytes.subarray(0, length));
    text = text.split(END_OF_WORD).join(" ").trim();
    if (options.cleanUpTokenizationSpaces ?? true) {
      for (const [from, to] of SPACE_CLEANUPS) text = text.split(from).join(to);
    }
    return text;
  }

  /** Empties the per-word BPE cache (only useful to measure cold performance or release memory). */
  clearCache(): void {
    this.bpe.clearCache();
  }
}
