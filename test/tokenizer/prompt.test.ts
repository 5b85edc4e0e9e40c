/** tokenizePrompt: truncation warnings, chunking, weighted syntax; embeddings helpers. */
import { describe, expect, it, vi } from "vitest";
import { InvalidArgumentError, ShapeError } from "../../lib/errors.js";
import {
  applyPromptWeights,
  concatChunkEmbeddings,
  standardClipTokenizer,
  tokenizePrompt,
  type PromptWarning,
} from "../../lib/tokenizer/index.js";

const sd1 = standardClipTokenizer("sd1");
const sd2 = standardClipTokenizer("sd2");
const BOS = 49406;
const EOS = 49407;

/** "red apple " n times: 2n tokens (red = 736, apple = 3055). */
const apples = (n: number): string => "red apple ".repeat(n);

describe("tokenizePrompt, default options (diffusers behaviour)", () => {
  it("matches encode() for a short prompt, weights all 1, no warnings", () => {
    const r = tokenizePrompt(sd1, "a photo of an astronaut");
    const enc = sd1.encode("a photo of an astronaut");
    expect(r.chunks).toBe(1);
    expect(r.sequenceLength).toBe(77);
    expect(r.inputIds).toEqual(enc.inputIds);
    expect(r.attentionMask).toEqual(enc.attentionMask);
    expect(r.weights).toEqual(new Array(77).fill(1));
    expect(r.truncated).toBe(false);
    expect(r.weighted).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it("truncates to 75 tokens and reports exactly what was cut, without logging", () => {
    const warn = vi.spyOn(console, "warn");
    const log = vi.spyOn(console, "log");
    const seen: PromptWarning[] = [];
    // 40 x "red apple" = 80 tokens, then "blue sky" (2 more): 82 tokens, the last 7 are dropped.
    const prompt = apples(40) + "blue sky";
    const r = tokenizePrompt(sd1, prompt, { onWarning: (w) => seen.push(w) });
    expect(r.tokenCount).toBe(82);
    expect(r.truncated).toBe(true);
    expect(r.inputIds).toEqual(sd1.encode(prompt).inputIds);
    expect(r.inputIds.length).toBe(77);
    expect(r.inputIds[76]).toBe(EOS);
    expect(r.warnings).toHaveLength(1);
    const w = r.warnings[0]!;
    expect(w.code).toBe("PROMPT_TRUNCATED");
    expect(w.removedTokens).toBe(7);
    // tokens 75..81: apple (75 is odd index -> "apple"), red apple, red apple, blue, sky
    expect(w.removedText).toBe("apple red apple red apple blue sky");
    expect(w.message).toContain("apple red apple red apple blue sky");
    expect(seen).toEqual([w]);
    expect(warn).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
    warn.mockRestore();
    log.mockRestore();
  });

  it("exactly 75 tokens is not truncated", () => {
    const r = tokenizePrompt(sd1, apples(37) + "red");
    expect(r.tokenCount).toBe(75);
    expect(r.truncated).toBe(false);
    expect(r.warnings).toEqual([]);
  });
});

describe('tokenizePrompt, longPrompt: "chunk"', () => {
  it("splits into 75-token chunks, each bos + tokens + eos + padding", () => {
    const r = tokenizePrompt(sd1, apples(40) + "blue sky", { longPrompt: "chunk" });
    const all = sd1.textToIds(apples(40) + "blue sky");
    expect(all).toHaveLength(82);
    expect(r.chunks).toBe(2);
    expect(r.truncated).toBe(false);
    expect(r.warnings).toEqual([]);
    expect(r.inputIds).toHaveLength(154);
    expect(r.inputIds.slice(0, 77)).toEqual([BOS, ...all.slice(0, 75), EOS]);
    const second = r.inputIds.slice(77);
    expect(second.slice(0, 9)).toEqual([BOS, ...all.slice(75), EOS]);
    expect(second.slice(9)).toEqual(new Array(68).fill(EOS));
    expect(r.attentionMask.slice(77)).toEqual([...new Array(9).fill(1), ...new Array(68).fill(0)]);
    expect(r.weights).toEqual(new Array(154).fill(1));
  });

  it("pads with the tokenizer's pad id (SD2: 0)", () => {
    const r = tokenizePrompt(sd2, "a cat", { longPrompt: "chunk" });
    expect(r.inputIds.slice(0, 5)).toEqual([BOS, 320, 2368, EOS, 0]);
    expect(r.inputIds.slice(4)).toEqual(new Array(73).fill(0));
  });

  it("a short or empty prompt is one chunk; minChunks adds empty chunks", () => {
    expect(tokenizePrompt(sd1, "", { longPrompt: "chunk" }).chunks).toBe(1);
    const r = tokenizePrompt(sd1, "a cat", { longPrompt: "chunk", minChunks: 3 });
    expect(r.chunks).toBe(3);
    expect(r.inputIds.slice(77, 80)).toEqual([BOS, EOS, EOS]);
    expect(r.attentionMask.slice(154, 157)).toEqual([1, 1, 0]);
  });

  it("150 tokens make exactly 2 chunks", () => {
    expect(tokenizePrompt(sd1, apples(75), { longPrompt: "chunk" }).chunks).toBe(2);
    expect(tokenizePrompt(sd1, apples(75) + "red", { longPrompt: "chunk" }).chunks).toBe(3);
  });
});

describe('tokenizePrompt, promptSyntax: "weighted"', () => {
  it('"(a:1.5) b": a has weight 1.5, everything else 1', () => {
    const r = tokenizePrompt(sd1, "(a:1.5) b", { promptSyntax: "weighted" });
    expect(r.inputIds.slice(0, 4)).toEqual([BOS, 320, 321, EOS]);
    expect(r.weights.slice(0, 4)).toEqual([1, 1.5, 1, 1]);
    expect(r.weights.slice(4)).toEqual(new Array(73).fill(1));
    expect(r.weighted).toBe(true);
  });

  it("multi-token fragments share their weight; brackets separate words", () => {
    const r = tokenizePrompt(sd1, "a ((red apple)) [cat]", { promptSyntax: "weighted" });
    expect(r.inputIds.slice(0, 6)).toEqual([BOS, 320, 736, 3055, 2368, EOS]);
    expect(r.weights.slice(0, 6)).toEqual([1, 1, 1.1 * 1.1, 1.1 * 1.1, 1 / 1.1, 1]);
  });

  it('plain syntax keeps brackets as text ("(" is a token)', () => {
    const plain = tokenizePrompt(sd1, "(a:1.5) b");
    expect(plain.inputIds).toEqual(sd1.encode("(a:1.5) b").inputIds);
    expect(plain.weighted).toBe(false);
  });

  it("weights follow their tokens into chunks", () => {
    const r = tokenizePrompt(sd1, `${apples(40)}(blue:2) sky`, { promptSyntax: "weighted", longPrompt: "chunk" });
    expect(r.chunks).toBe(2);
    const second = r.weights.slice(77);
    // chunk 2: bos, apple red apple red apple (5), blue (2), sky, eos
    expect(second.slice(0, 9)).toEqual([1, 1, 1, 1, 1, 1, 2, 1, 1]);
  });

  it("SD2: '!' inside weighted text is still id 0", () => {
    const r = tokenizePrompt(sd2, "(wow!:1.2)", { promptSyntax: "weighted" });
    expect(r.inputIds.slice(0, 4)).toEqual([BOS, 2781, 0, EOS]);
    expect(r.weights.slice(0, 4)).toEqual([1, 1.2, 1.2, 1]);
  });
});

describe("tokenizePrompt argument checks", () => {
  it("rejects bad arguments with InvalidArgumentError", () => {
    expect(() => tokenizePrompt(sd1, 42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => tokenizePrompt(sd1, "a", { longPrompt: "wrap" as never })).toThrow(InvalidArgumentError);
    expect(() => tokenizePrompt(sd1, "a", { promptSyntax: "fancy" as never })).toThrow(InvalidArgumentError);
    expect(() => tokenizePrompt(sd1, "a", { minChunks: 0 })).toThrow(InvalidArgumentError);
  });
});

describe("applyPromptWeights", () => {
  it("multiplies rows by weights and restores the mean (hand-computed)", () => {
    // rows: [1, 3], [2, 2]; weights 2, 1 -> [2, 6], [2, 2]; means 2 -> 3; factor 2/3
    const emb = new Float32Array([1, 3, 2, 2]);
    const out = applyPromptWeights(emb, [2, 2], [2, 1]);
    const expected = [2, 6, 2, 2].map((x) => Math.fround(x * (2 / 3)));
    expect(Array.from(out)).toEqual(expected);
    expect(Array.from(emb)).toEqual([1, 3, 2, 2]); // input untouched
    const mean = Array.from(out).reduce((a, b) => a + b, 0) / 4;
    expect(mean).toBeCloseTo(2, 6);
  });

  it("all-ones weights leave the embeddings unchanged", () => {
    const emb = Float32Array.from({ length: 77 * 8 }, (_, i) => Math.sin(i) + 0.1);
    const out = applyPromptWeights(emb, [77, 8], new Array(77).fill(1));
    for (let i = 0; i < emb.length; i++) expect(out[i]).toBeCloseTo(emb[i]!, 6);
  });

  it("does not rescale when the weighted mean is 0", () => {
    const out = applyPromptWeights(new Float32Array([1, -1]), [2, 1], [1, 1]);
    expect(Array.from(out)).toEqual([1, -1]);
  });

  it("groupRows restores the mean per block of rows (A1111 rescales each 77-row chunk on its own)", () => {
    // block 1: rows [1, 3], [2, 2], weights 2, 1 -> factor 2/3 (as above); block 2: [1, 1], [1, 1], weights 3, 1
    // -> [3, 3], [1, 1], means 1 -> 2, factor 1/2
    const emb = new Float32Array([1, 3, 2, 2, 1, 1, 1, 1]);
    const out = applyPromptWeights(emb, [4, 2], [2, 1, 3, 1], { groupRows: 2 });
    const f1 = 2 / 3;
    expect(Array.from(out)).toEqual([...[2, 6, 2, 2].map((x) => Math.fround(x * f1)), 1.5, 1.5, 0.5, 0.5]);
    expect(() => applyPromptWeights(emb, [4, 2], [1, 1, 1, 1], { groupRows: 3 })).toThrow(InvalidArgumentError);
  });

  it("checks shapes and weights", () => {
    expect(() => applyPromptWeights(new Float32Array(6), [2, 2], [1, 1])).toThrow(ShapeError);
    expect(() => applyPromptWeights(new Float32Array(4), [2, 2], [1])).toThrow(ShapeError);
    expect(() => applyPromptWeights(new Float32Array(4), [2, 2], [1, Number.NaN])).toThrow(InvalidArgumentError);
    expect(() => applyPromptWeights([1, 2] as unknown as Float32Array, [1, 2], [1])).toThrow(InvalidArgumentError);
  });
});

describe("concatChunkEmbeddings", () => {
  it("concatenates along the sequence axis", () => {
    const a = new Float32Array([1, 2, 3, 4]);
    const b = new Float32Array([5, 6, 7, 8]);
    expect(Array.from(concatChunkEmbeddings([a, b], 2))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it("rejects mismatched chunks", () => {
    expect(() => concatChunkEmbeddings([new Float32Array(4), new Float32Array(6)], 2)).toThrow(ShapeError);
    expect(() => concatChunkEmbeddings([], 2)).toThrow(InvalidArgumentError);
  });
});
