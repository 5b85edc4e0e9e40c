/**
 * Prompt weighting ("attention/emphasis") in the syntax popularised by the AUTOMATIC1111 web UI.
 *
 * - `(text)` multiplies the weight of `text` by 1.1; nesting multiplies again: `((text))` = 1.1 * 1.1.
 * - `[text]` divides the weight by 1.1.
 * - `(text:1.3)` multiplies the weight by 1.3 (a number with optional sign, digits and a dot, spaces
 *   allowed around it: `(text: 1.3 )`). Weights multiply with enclosing brackets: `((a:2))` = 2 * 1.1.
 * - `\(`, `\)`, `\[`, `\]` and `\\` are the literal characters; any other backslash is dropped.
 * - Unbalanced brackets: a `)` or `]` with no open bracket of its kind is literal text; a `(` or `[`
 *   still open at the end applies its 1.1 / (1/1.1) factor to everything after it; `)` never closes a
 *   `[` nor `]` a `(`. A `:number)` with no open `(` is literal text, and so is any other `:`.
 * - `(text:x)` where x is not a number (e.g. `(a:.)`) is treated as literal ":" and text, not a weight.
 * - The keyword BREAK has no special meaning here (it is ordinary text).
 *
 * The result lists text fragments with their weights; adjacent fragments of equal weight are joined.
 */

/** One run of prompt text and its weight. */
export interface WeightedFragment {
  readonly text: string;
  readonly weight: number;
}

const ROUND_FACTOR = 1.1;
const SQUARE_FACTOR = 1 / 1.1;
/** `:` weight `)` starting at the current position. */
const WEIGHT_CLOSE = /:\s*([+-]?[.\d]+)\s*\)/y;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;
const ESCAPABLE = "()[]\\";
const SYNTAX = "\\()[]:";

/** Parses A1111 emphasis syntax into weighted fragments (see the module comment for the rules). */
export function parsePromptWeights(prompt: string): WeightedFragment[] {
  const parts: { text: string; weight: number }[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const scale = (from: number, factor: number): void => {
    for (let k = from; k < parts.length; k++) parts[k]!.weight *= factor;
  };
  const literal = (text: string): void => {
    parts.push({ text, weight: 1 });
  };

  let i = 0;
  const n = prompt.length;
  while (i < n) {
    const ch = prompt[i]!;
    if (ch === "\\") {
      const nextCh = prompt[i + 1];
      if (nextCh !== undefined && ESCAPABLE.includes(nextCh)) {
        literal(nextCh);
        i += 2;
      } else {
        i += 1; // a lone backslash is dropped
      }
    } else if (ch === "(") {
      round.push(parts.length);
      i++;
    } else if (ch === "[") {
      square.push(parts.length);
      i++;
    } else if (ch === ":") {
      WEIGHT_CLOSE.lastIndex = i;
      const m = WEIGHT_CLOSE.exec(prompt);
      if (m && round.length > 0 && NUMBER.test(m[1]!)) {
        scale(round.pop()!, Number.parseFloat(m[1]!));
        i += m[0].length;
      } else if (m && round.length === 0) {
        literal(m[0]); // ":1.5)" with nothing to close is plain text
        i += m[0].length;
      } else {
        literal(":");
        i++;
      }
    } else if (ch === ")") {
      if (round.length > 0) scale(round.pop()!, ROUND_FACTOR);
      else literal(")");
      i++;
    } else if (ch === "]") {
      if (square.length > 0) scale(square.pop()!, SQUARE_FACTOR);
      else literal("]");
      i++;
    } else {
      let j = i + 1;
      while (j < n && !SYNTAX.includes(prompt[j]!)) j++;
      literal(prompt.slice(i, j));
      i = j;
    }
  }
  for (const start of round) scale(start, ROUND_FACTOR);
  for (const start of square) scale(start, SQUARE_FACTOR);

  const merged: { text: string; weight: number }[] = [];
  for (const p of parts) {
    const last = merged[merged.length - 1];
    if (last && last.weight === p.weight) last.text += p.text;
    else merged.push({ ...p });
  }
  if (merged.length === 0) merged.push({ text: "", weight: 1 });
  return merged;
}
