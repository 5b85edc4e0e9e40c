/**
 * Property and robustness tests (seeded pseudo-random inputs, so failures reproduce):
 * - decode(encode(x)) gives back the cleaned text for random ASCII words;
 * - no input makes the tokenizer throw anything but a typed SdError, and no call takes over 100 ms,
 *   including 100 kB strings, random code points, lone surrogates and control characters.
 */
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, SdError } from "../../lib/errors.js";
import {
  cleanText,
  parsePromptWeights,
  standardClipTokenizer,
  tokenizePrompt,
  type ClipTokenizer,
} from "../../lib/tokenizer/index.js";

const PER_CALL_LIMIT_MS = 100;
const WALL_LIMIT_MS = 1000;
const ATTEMPTS = 3;

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tokenizers: [string, ClipTokenizer][] = [
  ["sd1", standardClipTokenizer("sd1")],
  ["sd2", standardClipTokenizer("sd2")],
];

/**
 * Runs fn, requires it to return normally or throw an SdError, and to finish within the limit.
 *
 * The limit applies to the CPU time of the call (process.cpuUsage, user + system, capped at the wall
 * time), because the test machines are shared and wall-clock time mostly measures what else runs. A call
 * over the limit is retried (after `reset`, which empties the BPE cache so the retry does the same work)
 * up to ATTEMPTS times in all and the best time counts: that absorbs scheduler noise, while an input that
 * is really slow (super-linear behaviour) fails every attempt. Wall-clock time is checked too, against a
 * looser bound that still catches hangs.
 */
function checkCall(label: string, fn: () => unknown, reset: () => void = () => {}): void {
  let best = Number.POSITIVE_INFINITY;
  let bestWall = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < ATTEMPTS && best >= PER_CALL_LIMIT_MS; attempt++) {
    reset();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      fn();
    } catch (err) {
      expect(err, `${label}: threw a non-SdError`).toBeInstanceOf(SdError);
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // GC helper threads can add CPU time in parallel with the call itself; never count more than wall time.
    best = Math.min(best, (cpu.user + cpu.system) / 1000, wallMs);
    bestWall = Math.min(bestWall, wallMs);
  }
  expect(best, `${label}: took ${best.toFixed(1)} ms CPU (best of up to ${ATTEMPTS})`).toBeLessThan(PER_CALL_LIMIT_MS);
  expect(bestWall, `${label}: took ${bestWall.toFixed(1)} ms wall`).toBeLessThan(WALL_LIMIT_MS);
}

describe("decode(encode(x)) round-trips cleaned text", () => {
  for (const [name, tok] of tokenizers) {
    it(`${name}: 300 random strings of ASCII words`, () => {
      const rand = rng(name === "sd1" ? 1 : 2);
      const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
      const spaces = [" ", "  ", "\t", "\n", " \r\n "];
      for (let n = 0; n < 300; n++) {
        const words: string[] = [];
        const count = 1 + Math.floor(rand() * 12);
        for (let w = 0; w < count; w++) {
          let word = "";
          const len = 1 + Math.floor(rand() * 14);
          for (let c = 0; c < len; c++) word += letters[Math.floor(rand() * letters.length)];
          words.push(word);
        }
        let text = rand() < 0.3 ? " " : "";
        words.forEach((w, i) => (text += (i ? spaces[Math.floor(rand() * spaces.length)] : "") + w));
        const ids = tok.textToIds(text);
        const expected = cleanText(text);
        expect(expected).toBe(words.join(" ").toLowerCase());
        expect(tok.decode(ids)).toBe(expected);
        // with bos/eos/padding, skipping special tokens
        expect(tok.decode(tok.encode(text).inputIds, { skipSpecialTokens: true })).toBe(expected);
      }
    });
  }

  it("decode writes special tokens unless skipped, and repairs bytes like HF (U+FFFD)", () => {
    const tok = standardClipTokenizer("sd1");
    expect(tok.decode([49406, 320, 2368, 49407])).toBe("<|startoftext|>a cat <|endoftext|>");
    expect(tok.decode([49406, 320, 2368, 49407], { skipSpecialTokens: true })).toBe("a cat");
    // "café" tokens decode to the original text; a lone continuation byte becomes U+FFFD
    expect(tok.decode(tok.textToIds("café crème"))).toBe("café crème");
    expect(tok.decode([127])).toBe("\uFFFD");
    expect(tok.decode(tok.textToIds("hello, world!"))).toBe("hello, world!");
    expect(() => tok.decode([1e9])).toThrow(InvalidArgumentError);
    expect(() => tok.decode(["x" as unknown as number])).toThrow(InvalidArgumentError);
  });
});

describe("hostile input never throws untyped errors nor takes over 100 ms", () => {
  const KB100 = 100_000;
  const SYNTAX_CHARS = "()[]:\\!<|>1.5 ,a";

  /** The large hostile inputs (each 100 kB as UTF-8), generated from a seed. */
  function bigInputs(seed: number): [string, string][] {
    const rand = rng(seed);
    /** Concatenates picks until the UTF-8 size reaches `bytes`. */
    const randomString = (bytes: number, pick: () => string): string => {
      const parts: string[] = [];
      let n = 0;
      while (n < bytes) {
        const s = pick();
        parts.push(s);
        n += Buffer.byteLength(s, "utf8");
      }
      return parts.join("");
    };
    const anyCodePoint = () => String.fromCodePoint(Math.floor(rand() * 0x110000));
    const anyCodeUnit = () => String.fromCharCode(Math.floor(rand() * 0x10000)); // includes lone surrogates
    const bmpLetter = () => String.fromCharCode(0x41 + Math.floor(rand() * 0x2000));
    const control = () => String.fromCharCode(Math.floor(rand() * 0x20));
    const syntax = () => SYNTAX_CHARS[Math.floor(rand() * SYNTAX_CHARS.length)]!;
    return [
      ["one letter", "a".repeat(KB100)],
      ["random lower-case word", randomString(KB100, () => String.fromCharCode(97 + Math.floor(rand() * 26)))],
      ["digits", "7".repeat(KB100)],
      ["'!'", "!".repeat(KB100)],
      ["punctuation", ".,;-?".repeat(KB100 / 5)],
      ["random code points", randomString(KB100, anyCodePoint)],
      ["random code units (lone surrogates)", randomString(KB100, anyCodeUnit)],
      ["BMP letters, one word", randomString(KB100, bmpLetter)],
      ["Hangul, one word", randomString(KB100, () => String.fromCharCode(0xac00 + Math.floor(rand() * 11000)))],
      ["CJK ideographs", randomString(KB100, () => String.fromCharCode(0x4e00 + Math.floor(rand() * 20000)))],
      ["emoji", randomString(KB100, () => String.fromCodePoint(0x1f300 + Math.floor(rand() * 700)))],
      ["control characters", randomString(KB100, control)],
      ["zero-width characters", randomString(KB100, () => "\u200b\u200d\u00ad\ufeff")],
      ["special-token strings", "<|endoftext|><|startoftext|>".repeat(KB100 / 28)],
      ["weighting syntax", randomString(KB100, syntax)],
      ["nested brackets", "(".repeat(KB100 / 2) + "a" + ")".repeat(KB100 / 2)],
      ["lone surrogates", randomString(KB100, () => "\ud800\udfff\udc00a\ud83d")],
    ];
  }

  // Warm up every code path on inputs of the same kinds (other seed, so the BPE cache stays cold for the
  // measured ones): the limit is about steady-state cost, not JIT compilation of the first call.
  for (const [, tok] of tokenizers) {
    for (const [, text] of bigInputs(7)) {
      tok.encode(text);
      tokenizePrompt(tok, text, { promptSyntax: "weighted", longPrompt: "chunk" });
    }
    tok.clearCache();
  }
  const big = bigInputs(42);
  const rand = rng(43);
  const randomString = (length: number, pick: () => string): string => {
    let s = "";
    while (s.length < length) s += pick();
    return s;
  };
  const anyCodePoint = () => String.fromCodePoint(Math.floor(rand() * 0x110000));
  const anyCodeUnit = () => String.fromCharCode(Math.floor(rand() * 0x10000));
  const bmpLetter = () => String.fromCharCode(0x41 + Math.floor(rand() * 0x2000));
  const control = () => String.fromCharCode(Math.floor(rand() * 0x20));
  const syntax = () => SYNTAX_CHARS[Math.floor(rand() * SYNTAX_CHARS.length)]!;

  for (const [name, tok] of tokenizers) {
    for (const [label, text] of big) {
      it(`${name}: 100 kB of ${label}`, () => {
        const cold = () => tok.clearCache();
        checkCall(`${label} encode`, () => tok.encode(text), cold);
        checkCall(`${label} tokenize`, () => tok.tokenize(text), cold);
        checkCall(`${label} plain/truncate`, () => tokenizePrompt(tok, text, { onWarning: () => {} }), cold);
        checkCall(`${label} weighted/chunk`, () => tokenizePrompt(tok, text, { promptSyntax: "weighted", longPrompt: "chunk" }), cold);
        const ids = tok.encode(text).untruncatedIds;
        checkCall(`${label} decode`, () => tok.decode(ids));
      });
    }

    it(`${name}: 2000 short random strings`, () => {
      const pickers = [anyCodePoint, anyCodeUnit, control, syntax, bmpLetter];
      for (let n = 0; n < 2000; n++) {
        const pick = pickers[n % pickers.length]!;
        const text = randomString(Math.floor(rand() * 200), pick);
        checkCall(`short #${n} ${JSON.stringify(text.slice(0, 30))}`, () => {
          const enc = tok.encode(text);
          expect(enc.inputIds).toHaveLength(77);
          expect(enc.attentionMask).toHaveLength(77);
          expect(enc.untruncatedIds.every((id) => Number.isInteger(id) && id >= 0 && id < 49408)).toBe(true);
          tok.decode(enc.untruncatedIds);
          const p = tokenizePrompt(tok, text, { promptSyntax: "weighted", longPrompt: "chunk" });
          expect(p.inputIds).toHaveLength(77 * p.chunks);
          expect(p.weights).toHaveLength(77 * p.chunks);
          expect(p.weights.every((w) => Number.isFinite(w))).toBe(true);
        });
      }
    });
  }

  it("parsePromptWeights handles deeply nested and unbalanced brackets quickly", () => {
    checkCall("parse nested", () => parsePromptWeights("(".repeat(KB100) + "x"));
    checkCall("parse closers", () => parsePromptWeights(")]".repeat(KB100 / 2)));
  });
});

describe("non-string input", () => {
  const tok = standardClipTokenizer("sd1");
  const bad: unknown[] = [undefined, null, 42, 1n, {}, [], ["a"], Symbol("x"), () => "a", new String("a")];
  for (const value of bad) {
    it(`rejects ${typeof value} ${String(typeof value === "symbol" ? "symbol" : Array.isArray(value) ? "array" : "")}`, () => {
      expect(() => tok.encode(value as string)).toThrow(InvalidArgumentError);
      expect(() => tok.tokenize(value as string)).toThrow(InvalidArgumentError);
      expect(() => tok.textToIds(value as string)).toThrow(InvalidArgumentError);
      expect(() => tokenizePrompt(tok, value as string)).toThrow(InvalidArgumentError);
    });
  }
  it("rejects bad encode options", () => {
    expect(() => tok.encode("a", { maxLength: 1 })).toThrow(InvalidArgumentError);
    expect(() => tok.encode("a", { maxLength: 2.5 })).toThrow(InvalidArgumentError);
    expect(() => tok.encode("a", { padding: "longest" as never })).toThrow(InvalidArgumentError);
  });
});
