/**
 * Parity with the reference goldens (HF slow CLIPTokenizer, non-ftfy path) for every case, with SD1 and
 * SD2 settings, loading the tokenizer from tiny models' tokenizer/ folders and from the shipped assets.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadClipTokenizer, loadClipTokenizerSync, standardClipTokenizer, type ClipTokenizer } from "../../lib/tokenizer/index.js";
import { describeWithReference, referenceDir, referencePath } from "../helpers/reference.js";

interface GoldenSide {
  input_ids: number[];
  attention_mask: number[];
  untruncated_ids: number[];
  truncated: boolean;
  bpe_tokens?: string[];
}
interface GoldenCase {
  index: number;
  prompt: string;
  bpe_tokens: string[];
  sd1: GoldenSide;
  sd2: GoldenSide;
}

function checkCase(tokenizer: ClipTokenizer, c: GoldenCase, side: "sd1" | "sd2"): void {
  const g = c[side];
  const enc = tokenizer.encode(c.prompt);
  expect(enc.inputIds, "input_ids").toEqual(g.input_ids);
  expect(enc.attentionMask, "attention_mask").toEqual(g.attention_mask);
  expect(enc.untruncatedIds, "untruncated_ids").toEqual(g.untruncated_ids);
  expect(enc.truncated, "truncated").toBe(g.truncated);
  expect(tokenizer.tokenize(c.prompt), "bpe tokens").toEqual(g.bpe_tokens ?? c.bpe_tokens);
}

describeWithReference("tokenizer goldens (reference data set)", () => {
  // Test collection runs this body even when the suite is skipped, so only read the file when present.
  const cases: GoldenCase[] = referenceDir()
    ? (JSON.parse(readFileSync(referencePath("goldens/tokenizer/tokenizer_cases.json"), "utf8")) as { cases: GoldenCase[] }).cases
    : [];

  it("has the documented number of cases", () => {
    expect(cases.length).toBe(61);
  });

  const sources: { name: string; side: "sd1" | "sd2"; get: () => ClipTokenizer | Promise<ClipTokenizer> }[] = [
    { name: "tiny-sd1/tokenizer folder", side: "sd1", get: () => loadClipTokenizer(referencePath("models/tiny-sd1/tokenizer")) },
    { name: "tiny-sd2-v/tokenizer folder", side: "sd2", get: () => loadClipTokenizerSync(referencePath("models/tiny-sd2-v/tokenizer")) },
    { name: "shipped assets, SD1 settings", side: "sd1", get: () => standardClipTokenizer("sd1") },
    { name: "shipped assets, SD2 settings", side: "sd2", get: () => standardClipTokenizer("sd2") },
  ];

  for (const source of sources) {
    describe(source.name, () => {
      let tokenizer: ClipTokenizer;
      it("loads", async () => {
        tokenizer = await source.get();
        expect(tokenizer.modelMaxLength).toBe(77);
        expect(tokenizer.bosTokenId).toBe(49406);
        expect(tokenizer.eosTokenId).toBe(49407);
        expect(tokenizer.padTokenId).toBe(source.side === "sd1" ? 49407 : 0);
      });
      for (const c of cases) {
        it(`case ${c.index}: ${JSON.stringify(c.prompt.slice(0, 40))}`, () => {
          checkCase(tokenizer, c, source.side);
        });
      }
    });
  }
});
