/** Loading tokenizers from folders / file contents, and the typed errors for bad files. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FormatError, InvalidArgumentError, NotFoundError } from "../../lib/errors.js";
import {
  clipTokenizerFromFiles,
  loadClipTokenizer,
  loadClipTokenizerSync,
  standardClipTokenizer,
  standardTokenizerAssetsDir,
  ClipTokenizer,
} from "../../lib/tokenizer/index.js";
import { describeWithReference, referencePath } from "../helpers/reference.js";

const tmp = mkdtempSync(join(tmpdir(), "sdn-tokenizer-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny BPE: letters a, b, c, merges "a b" and "ab c</w>". */
function tinyFiles(extra: { config?: object; map?: object } = {}) {
  const chars = ["a", "b", "c", "!"];
  const vocab: Record<string, number> = {};
  let id = 0;
  for (const c of chars) vocab[c] = id++;
  for (const c of chars) vocab[`${c}</w>`] = id++;
  vocab["ab"] = id++;
  vocab["abc</w>"] = id++;
  vocab["<|startoftext|>"] = id++;
  vocab["<|endoftext|>"] = id++;
  return {
    vocabJson: JSON.stringify(vocab),
    mergesTxt: "#version: 0.2\na b\nab c</w>\n",
    tokenizerConfigJson: extra.config === undefined ? undefined : JSON.stringify(extra.config),
    specialTokensMapJson: extra.map === undefined ? undefined : JSON.stringify(extra.map),
  };
}

describe("shipped assets", () => {
  it("assets/tokenizer holds the standard CLIP vocabulary", () => {
    const dir = standardTokenizerAssetsDir();
    expect(existsSync(join(dir, "vocab.json"))).toBe(true);
    expect(readFileSync(join(dir, "merges.txt"), "utf8").split("\n")[0]).toBe("#version: 0.2");
    const sd1 = standardClipTokenizer("sd1");
    expect(sd1.vocabSize).toBe(49408);
    expect(standardClipTokenizer("sd1")).toBe(sd1); // cached
    expect(sd1.idToToken(49406)).toBe("<|startoftext|>");
    expect(sd1.tokenToId("photo</w>")).toBe(1125);
    expect(sd1.isSpecialId(49407)).toBe(true);
    expect(standardClipTokenizer("sd2").isSpecialId(0)).toBe(true);
    expect(() => standardClipTokenizer("sdxl" as never)).toThrow(InvalidArgumentError);
  });
});

describe("clipTokenizerFromFiles", () => {
  it("builds a working tokenizer from a tiny vocabulary (defaults: CLIP specials, length 77)", () => {
    const tok = clipTokenizerFromFiles(tinyFiles());
    expect(tok).toBeInstanceOf(ClipTokenizer);
    expect(tok.modelMaxLength).toBe(77);
    // "abc": a b c</w> -> ab c</w> -> abc</w>; "ab": (a, b</w>) is not a merge; "c": c</w>
    expect(tok.tokenize("abc ab c")).toEqual(["abc</w>", "a", "b</w>", "c</w>"]);
    expect(tok.textToIds("abc")).toEqual([9]);
    expect(tok.padTokenId).toBe(11);
  });

  it("unknown BPE tokens map to the unk id", () => {
    const tok = clipTokenizerFromFiles(tinyFiles());
    expect(tok.textToIds("z")).toEqual([tok.unkTokenId]);
  });

  it("reads model_max_length and special tokens; special_tokens_map wins", () => {
    const tok = clipTokenizerFromFiles(
      tinyFiles({ config: { model_max_length: 8, pad_token: "<|endoftext|>" }, map: { pad_token: { content: "!", lstrip: false } } }),
    );
    expect(tok.modelMaxLength).toBe(8);
    expect(tok.padTokenId).toBe(3);
    // "!" is the pad token, hence an added token: it is cut out of the text as id 3
    expect(tok.encode("abc!").inputIds).toEqual([10, 9, 3, 11, 3, 3, 3, 3]);
    expect(tok.encode("abc!").attentionMask).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
  });

  it("huge model_max_length (\"no limit\" sentinel) falls back to 77", () => {
    expect(clipTokenizerFromFiles(tinyFiles({ config: { model_max_length: 1e30 } })).modelMaxLength).toBe(77);
  });

  it("rejects malformed files with FormatError", () => {
    const ok = tinyFiles();
    expect(() => clipTokenizerFromFiles({ ...ok, vocabJson: "{not json" })).toThrow(FormatError);
    expect(() => clipTokenizerFromFiles({ ...ok, vocabJson: "[1,2]" })).toThrow(FormatError);
    expect(() => clipTokenizerFromFiles({ ...ok, vocabJson: '{"a": "x"}' })).toThrow(FormatError);
    expect(() => clipTokenizerFromFiles({ ...ok, mergesTxt: "#version: 0.2\nabc\n" })).toThrow(FormatError);
    expect(() => clipTokenizerFromFiles({ ...ok, tokenizerConfigJson: '{"model_max_length": "77"}' })).toThrow(FormatError);
    expect(() => clipTokenizerFromFiles({ ...ok, specialTokensMapJson: '{"pad_token": 5}' })).toThrow(FormatError);
  });
});

describe("loading from a folder", () => {
  it("loads a folder (sync and async) and reports missing files with NotFoundError", async () => {
    const dir = join(tmp, "tok");
    const missing = join(tmp, "nope");
    const files = tinyFiles({ config: { model_max_length: 10 } });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, "vocab.json"), files.vocabJson);
    writeFileSync(join(dir, "merges.txt"), files.mergesTxt);
    writeFileSync(join(dir, "tokenizer_config.json"), files.tokenizerConfigJson!);
    expect((await loadClipTokenizer(dir)).modelMaxLength).toBe(10);
    expect(loadClipTokenizerSync(dir).modelMaxLength).toBe(10);
    await expect(loadClipTokenizer(missing)).rejects.toBeInstanceOf(NotFoundError);
    expect(() => loadClipTokenizerSync(missing)).toThrow(NotFoundError);
    await expect(loadClipTokenizer(42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describeWithReference("reference tokenizer folders", () => {
  it("every tiny model's tokenizer loads with length 77 and the expected pad id", async () => {
    for (const [model, pad] of [
      ["tiny-sd1", 49407],
      ["tiny-sd2-v", 0],
      ["tiny-sd2-base", 0],
      ["tiny-sd-inpaint", 0],
      ["tiny-sd-depth", 0],
      ["tiny-sd-upscale", 0],
    ] as const) {
      const tok = await loadClipTokenizer(referencePath("models", model, "tokenizer"));
      expect(tok.modelMaxLength, model).toBe(77);
      expect(tok.padTokenId, model).toBe(pad);
    }
  });

  it("shipped assets are byte-identical to the reference vocabulary", () => {
    for (const f of ["vocab.json", "merges.txt"]) {
      expect(readFileSync(join(standardTokenizerAssetsDir(), f)).equals(readFileSync(referencePath("tokenizer", f)))).toBe(true);
    }
  });
});
