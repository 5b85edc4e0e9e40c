/**
 * Added tokens (the special tokens and any extra tokens a tokenizer declares) are cut out of the raw text
 * before cleanup and BPE, by exact, case-sensitive match, leftmost first and longest first at one position.
 * Each becomes its own id. This is why, with the SD2 tokenizer whose pad token is "!", every "!" in a
 * prompt becomes id 0 rather than a BPE token such as "!</w>" (HF slow-tokenizer behaviour).
 */

export interface AddedToken {
  readonly content: string;
  readonly id: number;
  /** Special tokens are dropped by `decode(..., { skipSpecialTokens: true })`. */
  readonly special: boolean;
  /** Remove whitespace on the left of a match. */
  readonly lstrip: boolean;
  /** Remove whitespace on the right of a match. */
  readonly rstrip: boolean;
}

/** A piece of input text: either plain text for BPE, or one added token. */
export type TextSegment = { readonly text: string; readonly token?: undefined } | { readonly text: string; readonly token: AddedToken };

export class AddedTokenMatcher {
  /** Candidates by first UTF-16 unit, longest first. */
  private readonly byFirstUnit = new Map<number, AddedToken[]>();

  constructor(tokens: Iterable<AddedToken>) {
    for (const t of tokens) {
      if (t.content.length === 0) continue;
      const first = t.content.charCodeAt(0);
      const list = this.byFirstUnit.get(first) ?? [];
      list.push(t);
      list.sort((a, b) => b.content.length - a.content.length);
      this.byFirstUnit.set(first, list);
    }
  }

  /** Splits `text` into plain-text segments and added-token segments (empty text segments omitted). */
  split(text: string): TextSegment[] {
    const out: { text: string; token?: AddedToken }[] = [];
    let plainStart = 0;
    let i = 0;
    const n = text.length;
    while (i < n) {
      const candidates = this.byFirstUnit.get(text.charCodeAt(i));
      let match: AddedToken | undefined;
      if (candidates) {
        for (const c of candidates) {
          if (text.startsWith(c.content, i)) {
            match = c;
            break;
          }
        }
      }
      if (!match) {
        i++;
        continue;
      }
      if (i > plainStart) out.push({ text: text.slice(plainStart, i) });
      out.push({ text: match.content, token: match });
      i += match.content.length;
      plainStart = i;
    }
    if (plainStart < n) out.push({ text: text.slice(plainStart) });
    // Whitespace stripping around tokens that ask for it.
    for (let k = 0; k < out.length; k++) {
      const tok = out[k]!.token;
      if (!tok) continue;
      const left = out[k - 1];
      const right = out[k + 1];
      if (tok.lstrip && left && !left.token) left.text = left.text.trimEnd();
      if (tok.rstrip && right && !right.token) right.text = right.text.trimStart();
    }
    return out.filter((s) => s.token !== undefined || s.text.length > 0) as TextSegment[];
  }
}
