/**
 * Text cleanup applied before the CLIP pre-tokenizer. This is the behaviour of HuggingFace's slow
 * `CLIPTokenizer` when the optional `ftfy` package is not installed (the default install), where text goes
 * through a BERT-style basic cleanup instead of ftfy:
 *
 * 1. U+0000, U+FFFD and every "other" character (Unicode category C*: controls, format characters such as
 *    U+200B zero-width space, U+200D ZWJ, U+00AD soft hyphen, BOM, private use, unassigned, lone surrogates)
 *    are dropped, except tab / LF / CR which become spaces like every space separator (Zs) does.
 * 2. CJK ideographs get a space on both sides, so each one is its own word.
 * 3. Unicode NFC normalisation (no accent stripping).
 * 4. Whitespace runs collapse to one space, leading/trailing whitespace is removed.
 * 5. Lower-casing (full Unicode lower-case mapping).
 *
 * HTML entities are NOT unescaped (`&amp;` stays `&amp;`): HF only does that on the ftfy path.
 * Known deviation: which code points are "unassigned" or letters follows the Unicode version of the
 * running JavaScript engine, which may be newer than the one of the Python build the goldens came from.
 *
 * The tokenizer itself uses `normalizeText` (steps 1, 3, 5) and lets the pre-tokenizer treat each CJK
 * ideograph as its own piece and skip whitespace, which gives the same pieces as the full cleanup (no
 * piece can span a space) without rebuilding the string.
 */

/** Tab, LF, CR, every space separator, and the line/paragraph separators (which Python's split() treats as whitespace). */
const WHITESPACE = /[\t\n\r\p{Zs}\u2028\u2029]/gu;
/** Characters the cleanup removes (tab/LF/CR were already turned into spaces). */
const DROPPED = /[\p{C}\uFFFD]/gu;
/**
 * CJK ideograph blocks that get spaces around them: Unified Ideographs, Extension A, B, C, D, E,
 * Compatibility Ideographs and Compatibility Ideographs Supplement (as a regex class body).
 */
export const CJK_IDEOGRAPH_RANGES =
  "\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFAFF\\u{20000}-\\u{2A6DF}\\u{2A700}-\\u{2B73F}\\u{2B740}-\\u{2B81F}\\u{2B820}-\\u{2CEAF}\\u{2F800}-\\u{2FA1F}";
const CJK_IDEOGRAPH = new RegExp(`[${CJK_IDEOGRAPH_RANGES}]`, "gu");
const SPACE_RUNS = / +/;
/** Text made only of space and visible ASCII needs no Unicode processing. */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/**
 * Steps 1, 3 and 5 of the cleanup: drops "other" characters, maps whitespace to spaces (not collapsed),
 * NFC-normalises and lower-cases.
 */
export function normalizeText(text: string): string {
  if (PLAIN_ASCII.test(text)) return text.toLowerCase();
  return text.replace(WHITESPACE, " ").replace(DROPPED, "").normalize("NFC").toLowerCase();
}

/** Cleans `text` as described in the module comment and returns the words joined by single spaces. */
export function cleanText(text: string): string {
  const t = normalizeText(text.replace(CJK_IDEOGRAPH, " $& "));
  const words = t.split(SPACE_RUNS);
  // split() leaves an empty first/last element for leading/trailing spaces.
  let start = 0;
  let end = words.length;
  if (end > 0 && words[0] === "") start++;
  if (end > start && words[end - 1] === "") end--;
  return words.slice(start, end).join(" ");
}
