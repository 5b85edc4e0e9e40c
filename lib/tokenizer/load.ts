/**
 * Loading a CLIP tokenizer from a diffusers/HF `tokenizer/` folder (vocab.json, merges.txt,
 * tokenizer_config.json, special_tokens_map.json), and the standard CLIP vocabulary shipped in the
 * package's assets/tokenizer/ with the settings of the SD1 and SD2 tokenizers.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError, InvalidArgumentError, NotFoundError, SdError } from "../errors.js";
import { ClipTokenizer, type ClipTokenizerSpec, type TokenSpec } from "./clip-tokenizer.js";

/** The files of a tokenizer folder, as text. The two JSON configs are optional. */
export interface TokenizerFiles {
  readonly vocabJson: string;
  readonly mergesTxt: string;
  readonly tokenizerConfigJson?: string;
  readonly specialTokensMapJson?: string;
}

/** Settings of the two tokenizers Stable Diffusion checkpoints ship. */
export type StandardTokenizerSettings = "sd1" | "sd2";

const BOS = "<|startoftext|>";
const EOS = "<|endoftext|>";
/** Configs store "no limit" as a huge number; anything above this means "use the CLIP default". */
const UNLIMITED_LENGTH = 1e12;

/** Folder holding the shipped vocab.json and merges.txt (works from lib/tokenizer and from dist/tokenizer). */
export function standardTokenizerAssetsDir(): string {
  return fileURLToPath(new URL("../../assets/tokenizer/", import.meta.url));
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new FormatError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseVocab(text: string): Map<string, number> {
  const json = parseJson(text, "vocab.json");
  if (!isRecord(json)) throw new FormatError("vocab.json: expected an object of token -> id");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(json)) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
      throw new FormatError(`vocab.json: id of ${JSON.stringify(token)} is not a non-negative integer`);
    }
    vocab.set(token, id);
  }
  if (vocab.size === 0) throw new FormatError("vocab.json: empty vocabulary");
  return vocab;
}

function parseMerges(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const merges: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length === 0) continue;
    // The first line is a version header ("#version: 0.2"); CLIP's merge list has no other comments.
    if (i === 0 && line.startsWith("#version")) continue;
    merges.push(line);
  }
  return merges;
}

/** A token entry of a config: a plain string or an AddedToken object ({content, lstrip, rstrip, ...}). */
function parseTokenSpec(value: unknown, field: string, file: string): TokenSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return { content: value };
  if (isRecord(value) && typeof value.content === "string") {
    return { content: value.content, lstrip: value.lstrip === true, rstrip: value.rstrip === true };
  }
  throw new FormatError(`${file}: "${field}" is neither a string nor a token object`);
}

type SpecialField = "bos_token" | "eos_token" | "pad_token" | "unk_token";
const SPECIAL_FIELDS: readonly SpecialField[] = ["bos_token", "eos_token", "pad_token", "unk_token"];

/** Builds the tokenizer spec from the file contents. special_tokens_map.json wins over tokenizer_config.json. */
export function tokenizerSpecFromFiles(files: TokenizerFiles): ClipTokenizerSpec {
  const vocab = parseVocab(files.vocabJson);
  const merges = parseMerges(files.mergesTxt);
  const config = files.tokenizerConfigJson === undefined ? {} : parseJson(files.tokenizerConfigJson, "tokenizer_config.json");
  const map = files.specialTokensMapJson === undefined ? {} : parseJson(files.specialTokensMapJson, "special_tokens_map.json");
  if (!isRecord(config)) throw new FormatError("tokenizer_config.json: expected an object");
  if (!isRecord(map)) throw new FormatError("special_tokens_map.json: expected an object");

  const special: Partial<Record<SpecialField, TokenSpec>> = {};
  for (const f of SPECIAL_FIELDS) {
    special[f] = parseTokenSpec(map[f], f, "special_tokens_map.json") ?? parseTokenSpec(config[f], f, "tokenizer_config.json");
  }

  let modelMaxLength = 77;
  const mml = config.model_max_length;
  if (mml !== undefined && mml !== null) {
    if (typeof mml !== "number" || !Number.isFinite(mml) || mml < 2 || (mml < UNLIMITED_LENGTH && !Number.isInteger(mml))) {
      throw new FormatError(`tokenizer_config.json: model_max_length must be an integer >= 2, got ${JSON.stringify(mml)}`);
    }
    if (mml < UNLIMITED_LENGTH) modelMaxLength = mml;
  }

  // Newer configs list every added token with its id under "added_tokens_decoder".
  const addedTokens: (TokenSpec & { id: number; special: boolean })[] = [];
  const decoder = config.added_tokens_decoder;
  if (isRecord(decoder)) {
    for (const [idText, entry] of Object.entries(decoder)) {
      const id = Number(idText);
      const spec = parseTokenSpec(entry, `added_tokens_decoder.${idText}`, "tokenizer_config.json");
      if (!Number.isSafeInteger(id) || id < 0 || !spec) throw new FormatError(`tokenizer_config.json: bad added_tokens_decoder entry ${idText}`);
      addedTokens.push({ ...spec, id, special: !isRecord(entry) || entry.special !== false });
    }
  }
  const extra = map.additional_special_tokens ?? config.additional_special_tokens;
  if (Array.isArray(extra)) {
    extra.forEach((entry, i) => {
      const spec = parseTokenSpec(entry, `additional_special_tokens[${i}]`, "special_tokens_map.json");
      if (spec && !addedTokens.some((t) => t.content === spec.content)) {
        const id = vocab.get(spec.content);
        if (id !== undefined) addedTokens.push({ ...spec, id, special: true });
      }
    });
  }

  return {
    vocab,
    merges,
    bosToken: special.bos_token ?? { content: BOS },
    eosToken: special.eos_token ?? { content: EOS },
    unkToken: special.unk_token ?? { content: EOS },
    padToken: special.pad_token ?? special.eos_token ?? { content: EOS },
    addedTokens,
    modelMaxLength,
  };
}

/** Builds a tokenizer from file contents (see `loadClipTokenizer` for the folder layout). */
export function clipTokenizerFromFiles(files: TokenizerFiles): ClipTokenizer {
  return new ClipTokenizer(tokenizerSpecFromFiles(files));
}

function wrapReadError(err: unknown, path: string): SdError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "ENOTDIR") return new NotFoundError(`tokenizer file not found: ${path}`, { cause: err });
  return new SdError("ERR_IO", `cannot read tokenizer file ${path}: ${(err as Error).message}`, { cause: err });
}

function checkDir(dir: unknown): asserts dir is string {
  if (typeof dir !== "string" || dir.length === 0) throw new InvalidArgumentError("tokenizer folder must be a non-empty string path");
}

/**
 * Loads the tokenizer in `dir` (a model's `tokenizer/` folder): vocab.json and merges.txt are required,
 * tokenizer_config.json (model_max_length, special tokens) and special_tokens_map.json (special tokens,
 * taking precedence) are optional. Missing required files throw NotFoundError, malformed ones FormatError.
 */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  checkDir(dir);
  const read = async (name: string, optional: boolean): Promise<string | undefined> => {
    const path = join(dir, name);
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw wrapReadError(err, path);
    }
  };
  const [vocabJson, mergesTxt, tokenizerConfigJson, specialTokensMapJson] = await Promise.all([
    read("vocab.json", false),
    read("merges.txt", false),
    read("tokenizer_config.json", true),
    read("special_tokens_map.json", true),
  ]);
  return clipTokenizerFromFiles({ vocabJson: vocabJson!, mergesTxt: mergesTxt!, tokenizerConfigJson, specialTokensMapJson });
}

/** Synchronous `loadClipTokenizer`. */
export function loadClipTokenizerSync(dir: string): ClipTokenizer {
  checkDir(dir);
  const read = (name: string, optional: boolean): string | undefined => {
    const path = join(dir, name);
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw wrapReadError(err, path);
    }
  };
  return clipTokenizerFromFiles({
    vocabJson: read("vocab.json", false)!,
    mergesTxt: read("merges.txt", false)!,
    tokenizerConfigJson: read("tokenizer_config.json", true),
    specialTokensMapJson: read("special_tokens_map.json", true),
  });
}

let standardFiles: { vocabJson: string; mergesTxt: string } | undefined;
const standardTokenizers = new Map<StandardTokenizerSettings, ClipTokenizer>();

/**
 * The standard CLIP tokenizer (vocabulary shipped in assets/tokenizer/) with the settings of
 * - "sd1": openai/clip-vit-large-patch14 as used by Stable Diffusion 1.x: pad with `<|endoftext|>` (49407);
 * - "sd2": the SD 2.x tokenizer: pad with "!" (id 0). Like HF's slow tokenizer, "!" is then an added token,
 *   so every "!" in a prompt becomes id 0 too.
 * Both use bos 49406, eos/unk 49407 and length 77. Instances are cached and shared (they are immutable
 * apart from their BPE cache).
 */
export function standardClipTokenizer(settings: StandardTokenizerSettings): ClipTokenizer {
  if (settings !== "sd1" && settings !== "sd2") {
    throw new InvalidArgumentError(`tokenizer settings must be "sd1" or "sd2", got ${String(settings)}`);
  }
  const cached = standardTokenizers.get(settings);
  if (cached) return cached;
  if (!standardFiles) {
    const dir = standardTokenizerAssetsDir();
    const read = (name: string): string => {
      try {
        return readFileSync(join(dir, name), "utf8");
      } catch (err) {
        throw wrapReadError(err, join(dir, name));
      }
    };
    standardFiles = { vocabJson: read("vocab.json"), mergesTxt: read("merges.txt") };
  }
  const spec = tokenizerSpecFromFiles(standardFiles);
  const tokenizer = new ClipTokenizer({
    ...spec,
    bosToken: { content: BOS },
    eosToken: { content: EOS },
    unkToken: { content: EOS },
    padToken: { content: settings === "sd1" ? EOS : "!" },
    modelMaxLength: 77,
  });
  standardTokenizers.set(settings, tokenizer);
  return tokenizer;
}
