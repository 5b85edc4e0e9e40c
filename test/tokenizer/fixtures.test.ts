/**
 * Golden cases copied into test/fixtures/tokenizer (runs without ../shared/reference), checked against
 * the tokenizer built from the shipped assets with SD1 and SD2 settings.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { standardClipTokenizer } from "../../lib/tokenizer/index.js";
import { repoPath } from "../helpers/reference.js";

interface Side {
  input_ids: number[];
  attention_mask: number[];
  untruncated_ids: number[];
  truncated: boolean;
  bpe_tokens?: string[];
}
interface Case {
  index: number;
  prompt: string;
  bpe_tokens: string[];
  sd1: Side;
  sd2: Side;
}

const fixture = JSON.parse(readFileSync(repoPath("test/fixtures/tokenizer/golden_subset.json"), "utf8")) as { cases: Case[] };

describe("shipped tokenizer assets vs copied golden cases", () => {
  it("fixture is present and non-trivial", () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(10);
    expect(fixture.cases.some((c) => c.sd1.truncated)).toBe(true);
  });
  for (const side of ["sd1", "sd2"] as const) {
    for (const c of fixture.cases) {
      it(`${side} case ${c.index}: ${JSON.stringify(c.prompt.slice(0, 40))}`, () => {
        const tokenizer = standardClipTokenizer(side);
        const enc = tokenizer.encode(c.prompt);
        expect(enc.inputIds).toEqual(c[side].input_ids);
        expect(enc.attentionMask).toEqual(c[side].attention_mask);
        expect(enc.untruncatedIds).toEqual(c[side].untruncated_ids);
        expect(enc.truncated).toBe(c[side].truncated);
        expect(tokenizer.tokenize(c.prompt)).toEqual(c[side].bpe_tokens ?? c.bpe_tokens);
      });
    }
  }
});
