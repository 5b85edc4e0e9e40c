/**
 * A1111 emphasis syntax. Expected weights are derived by hand from the rules: "(" multiplies by 1.1,
 * "[" divides by 1.1, "(x:w)" multiplies by w, nested brackets multiply, unbalanced openers apply to
 * the rest of the prompt, unmatched closers are literal text.
 */
import { describe, expect, it } from "vitest";
import { parsePromptWeights } from "../../lib/tokenizer/index.js";

const f = (text: string, weight: number) => ({ text, weight });

describe("parsePromptWeights", () => {
  it("plain text has weight 1", () => {
    expect(parsePromptWeights("a cat")).toEqual([f("a cat", 1)]);
  });
  it("empty prompt gives one empty fragment", () => {
    expect(parsePromptWeights("")).toEqual([f("", 1)]);
  });
  it("(word) is x1.1, ((word)) x1.1x1.1, (((word))) x1.1^3", () => {
    expect(parsePromptWeights("(a)")).toEqual([f("a", 1.1)]);
    expect(parsePromptWeights("((a))")).toEqual([f("a", 1 * 1.1 * 1.1)]);
    expect(parsePromptWeights("(((a)))")).toEqual([f("a", 1 * 1.1 * 1.1 * 1.1)]);
  });
  it("[word] is /1.1 and [[word]] /1.1/1.1", () => {
    expect(parsePromptWeights("[a]")).toEqual([f("a", 1 / 1.1)]);
    expect(parsePromptWeights("[[a]]")).toEqual([f("a", (1 / 1.1) * (1 / 1.1))]);
  });
  it("(word:1.5) sets the factor; spaces and signs around the number are allowed", () => {
    expect(parsePromptWeights("(a:1.5) b")).toEqual([f("a", 1.5), f(" b", 1)]);
    expect(parsePromptWeights("(a: 0.5 )")).toEqual([f("a", 0.5)]);
    expect(parsePromptWeights("(a:-1)")).toEqual([f("a", -1)]);
    expect(parsePromptWeights("(a:.5)")).toEqual([f("a", 0.5)]);
    expect(parsePromptWeights("(a:2.)")).toEqual([f("a", 2)]);
  });
  it("explicit weights multiply with enclosing brackets", () => {
    expect(parsePromptWeights("((a:2))")).toEqual([f("a", 2 * 1.1)]);
    expect(parsePromptWeights("[(a:2)]")).toEqual([f("a", 2 / 1.1)]);
    expect(parsePromptWeights("(a (b:2) c:1.5)")).toEqual([f("a ", 1.5), f("b", 3), f(" c", 1.5)]);
  });
  it("mixed round and square", () => {
    expect(parsePromptWeights("a (b) [c] d")).toEqual([f("a ", 1), f("b", 1.1), f(" ", 1), f("c", 1 / 1.1), f(" d", 1)]);
    // ( then [ : the inner part gets x1.1 then /1.1 (in that order of closing)
    expect(parsePromptWeights("([a])")).toEqual([f("a", (1 / 1.1) * 1.1)]);
  });
  it("escaped brackets are literal and keep the weight of their context", () => {
    expect(parsePromptWeights("\\(a\\)")).toEqual([f("(a)", 1)]);
    expect(parsePromptWeights("\\[a\\]")).toEqual([f("[a]", 1)]);
    expect(parsePromptWeights("(\\(a\\))")).toEqual([f("(a)", 1.1)]);
    expect(parsePromptWeights("a\\\\b")).toEqual([f("a\\b", 1)]);
  });
  it("a backslash before anything else is dropped", () => {
    expect(parsePromptWeights("a\\b")).toEqual([f("ab", 1)]);
  });
  it("unclosed ( or [ applies to the rest of the prompt", () => {
    expect(parsePromptWeights("a (b c")).toEqual([f("a ", 1), f("b c", 1.1)]);
    expect(parsePromptWeights("a [b c")).toEqual([f("a ", 1), f("b c", 1 / 1.1)]);
    expect(parsePromptWeights("((a) b")).toEqual([f("a", 1 * 1.1 * 1.1), f(" b", 1.1)]);
  });
  it("unmatched ) or ] is literal text", () => {
    expect(parsePromptWeights("a) b")).toEqual([f("a) b", 1)]);
    expect(parsePromptWeights("a] b")).toEqual([f("a] b", 1)]);
    expect(parsePromptWeights("(a]")).toEqual([f("a]", 1.1)]);
  });
  it("a colon that is not a weight is literal", () => {
    expect(parsePromptWeights("time: 5pm")).toEqual([f("time: 5pm", 1)]);
    expect(parsePromptWeights("a:1.5) b")).toEqual([f("a:1.5) b", 1)]);
    expect(parsePromptWeights("(a:b)")).toEqual([f("a:b", 1.1)]);
    // not a valid number: literal ":" and text, then ")" closes with x1.1
    expect(parsePromptWeights("(a:1.2.3)")).toEqual([f("a:1.2.3", 1.1)]);
  });
  it("adjacent fragments of equal weight are joined", () => {
    expect(parsePromptWeights("(a)(b)")).toEqual([f("ab", 1.1)]);
  });
});
