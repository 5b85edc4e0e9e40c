/**
 * Tokenizer benchmarks. Run: npx vitest bench --run bench/tokenizer.bench.ts
 *
 * Target: tokenizing a 77-token prompt takes well under a millisecond (steady state, i.e. with the per-word
 * BPE cache warm, which is the normal case when prompts are reused or share words), and stays far below
 * that even with the cache emptied before every call.
 */
import { bench, describe } from "vitest";
import { parsePromptWeights, standardClipTokenizer, tokenizePrompt } from "../lib/tokenizer/index.js";

const sd1 = standardClipTokenizer("sd1");
const sd2 = standardClipTokenizer("sd2");

/** 75 content tokens (77 with bos/eos). */
const PROMPT_77 =
  "a highly detailed matte painting of a sprawling cyberpunk city at night, neon lights reflecting on wet " +
  "streets, flying cars, towering skyscrapers with holographic advertisements, rain, fog, volumetric " +
  "lighting, cinematic composition, ultra wide angle, by greg rutkowski and syd mead, trending on artstation, " +
  "sharp focus, 8k, octane render, intricate details, elegant";
const contentTokens = sd1.textToIds(PROMPT_77).length;
if (contentTokens !== 75) throw new Error(`benchmark prompt should have 75 tokens, has ${contentTokens}`);
const WEIGHTED = "(masterpiece:1.2), ((best quality)), [blurry], a (red:1.3) fox in a [snowy] forest, (detailed fur)";
const LONG = `${PROMPT_77}, ${PROMPT_77}, ${PROMPT_77}`;
const ids77 = sd1.encode(PROMPT_77).inputIds;

describe(`encode a ${contentTokens + 2}-token prompt`, () => {
  bench("sd1 encode (warm BPE cache)", () => {
    sd1.encode(PROMPT_77);
  });
  bench("sd2 encode (warm BPE cache)", () => {
    sd2.encode(PROMPT_77);
  });
  bench("sd1 encode (cold BPE cache)", () => {
    sd1.clearCache();
    sd1.encode(PROMPT_77);
  });
});

describe("prompt handling", () => {
  bench("tokenizePrompt default (truncate, plain)", () => {
    tokenizePrompt(sd1, PROMPT_77);
  });
  bench("tokenizePrompt weighted", () => {
    tokenizePrompt(sd1, WEIGHTED, { promptSyntax: "weighted" });
  });
  bench("tokenizePrompt long prompt, chunked (3 chunks)", () => {
    tokenizePrompt(sd1, LONG, { longPrompt: "chunk" });
  });
  bench("tokenizePrompt long prompt, truncated with warning", () => {
    tokenizePrompt(sd1, LONG);
  });
  bench("parsePromptWeights", () => {
    parsePromptWeights(WEIGHTED);
  });
  bench("decode 77 ids", () => {
    sd1.decode(ids77);
  });
});
