/**
 * Byte-level alphabet of the CLIP BPE: every UTF-8 byte is written as one printable character so that
 * BPE works on strings without whitespace or control characters.
 *
 * Bytes that are already visible Latin-1 characters ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
 * themselves; the remaining 68 bytes (controls, space, DEL, NBSP, soft hyphen, ...) are given the code
 * points U+0100, U+0101, ... in increasing byte order. This is the alphabet CLIP's vocab.json is written in.
 */

function isSelfMapped(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

/** BYTE_TO_CHAR[b] is the one-character string that represents byte b. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array<string>(256);
  let next = 0x100;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(isSelfMapped(b) ? b : next++);
  }
  return table;
})();

/** Inverse of BYTE_TO_CHAR: char code -> byte, or -1 for characters outside the alphabet. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x200).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CHAR[b]!.charCodeAt(0)] = b;
  return table;
})();

const utf8 = new TextEncoder();

/**
 * Writes the bytes spelled by `symbols` (a string in the byte-level alphabet) into `out` from `offset`
 * and returns the new offset; `out` must have room for 4 bytes per character. Characters that are not
 * part of the alphabet (which a well-formed vocabulary never produces) are written as their own UTF-8
 * encoding, so nothing is silently lost.
 */
export function writeByteLevelBytes(symbols: string, out: Uint8Array, offset: number): number {
  let n = offset;
  for (let i = 0; i < symbols.length; i++) {
    const code = symbols.charCodeAt(i);
    const b = code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code]! : -1;
    if (b >= 0) {
      out[n++] = b;
    } else {
      const { written } = utf8.encodeInto(symbols[i]!, out.subarray(n));
      n += written;
    }
  }
  return n;
}
