/**
 * Byte-level BPE with CLIP's end-of-word marker, and a per-word cache.
 *
 * A word (one pre-tokenizer piece) is UTF-8 encoded and starts as one symbol per byte, spelled in the
 * byte-level alphabet (see byte-level.ts), the last one carrying the `</w>` suffix. Then, repeatedly, the
 * adjacent pair with the lowest merge rank anywhere in the word is chosen and every occurrence of that pair
 * is merged, scanning left to right without overlaps; this stops when no adjacent pair has a rank. That is exactly the reference
 * algorithm; it is implemented here with a linked list of symbols and a min-heap of candidate pairs, so a
 * word of n bytes costs O(n log n) instead of O(n^2) (hostile 100 kB "words" stay fast).
 *
 * Symbols are interned strings, so pairs are looked up by two small integers.
 */
import { FormatError } from "../errors.js";
import { BYTE_TO_CHAR } from "./byte-level.js";
import { CLIP_PATTERN_SPECIALS } from "./pre-tokenizer.js";

export const END_OF_WORD = "</w>";

/** Longer words are merged in independent parts of this many bytes (far beyond any real text). */
const MAX_WORD_BYTES = 2 ** 28;

/** Words longer than this are not cached (they are rare and would only bloat the cache). */
const MAX_CACHED_WORD = 128;
const DEFAULT_CACHE_SIZE = 16_384;

/**
 * (left symbol, right symbol) -> merge rank, as an open-addressing hash table on typed arrays (much faster
 * than a Map with composite keys for the millions of lookups a long word needs).
 */
class PairTable {
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  private readonly ranks: Int32Array;

  constructor(capacityHint: number) {
    let size = 16;
    while (size < capacityHint * 2) size *= 2;
    this.mask = size - 1;
    this.lefts = new Int32Array(size).fill(-1);
    this.rights = new Int32Array(size);
    this.ranks = new Int32Array(size);
  }

  private slot(left: number, right: number): number {
    let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
    h ^= h >>> 15;
    let i = h & this.mask;
    while (this.lefts[i] !== -1 && (this.lefts[i] !== left || this.rights[i] !== right)) i = (i + 1) & this.mask;
    return i;
  }

  set(left: number, right: number, rank: number): void {
    const i = this.slot(left, right);
    this.lefts[i] = left;
    this.rights[i] = right;
    this.ranks[i] = rank;
  }

  /** Rank of the pair, or -1. */
  get(left: number, right: number): number {
    const i = this.slot(left, right);
    return this.lefts[i] === -1 ? -1 : this.ranks[i]!;
  }
}

export class BytePairEncoder {
  /** Interned symbol strings, by symbol id. */
  private readonly symbols: string[] = [];
  private readonly symbolIds = new Map<string, number>();
  private readonly pairRanks: PairTable;
  /** Merge rank -> symbol id of the merged result. */
  private readonly mergedSymbol: Int32Array;
  /** Symbol id of each byte's character, without and with the end-of-word marker. */
  private readonly byteSymbol = new Int32Array(256);
  private readonly byteSymbolEnd = new Int32Array(256);
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheSize: number;
  private readonly specialSymbols = new Map<string, number>();
  // Work arrays reused by every merge (encodeWord is synchronous, so one set suffices).
  private scratchBytes = new Uint8Array(1024);
  private sym = new Int32Array(256);
  private next = new Int32Array(256);
  private prev = new Int32Array(256);
  private alive = new Uint8Array(256);
  private batch = new Int32Array(256);
  private readonly heap = new MinHeap();

  /**
   * @param merges merge rules in priority order, each "left right" (merges.txt lines without the version header).
   * @param cacheSize how many words the per-word cache holds before it is cleared.
   */
  constructor(merges: readonly string[], cacheSize = DEFAULT_CACHE_SIZE) {
    this.cacheSize = cacheSize;
    this.mergedSymbol = new Int32Array(merges.length);
    this.pairRanks = new PairTable(merges.length);
    for (let b = 0; b < 256; b++) {
      this.byteSymbol[b] = this.intern(BYTE_TO_CHAR[b]!);
      this.byteSymbolEnd[b] = this.intern(BYTE_TO_CHAR[b]! + END_OF_WORD);
    }
    for (const special of CLIP_PATTERN_SPECIALS) this.specialSymbols.set(special, this.intern(special));
    for (let rank = 0; rank < merges.length; rank++) {
      const line = merges[rank]!;
      const sep = line.indexOf(" ");
      if (sep <= 0 || sep === line.length - 1 || line.indexOf(" ", sep + 1) !== -1) {
        throw new FormatError(`merges.txt: rule ${rank + 1} is not two space-separated symbols: ${JSON.stringify(line)}`);
      }
      const left = line.slice(0, sep);
      const right = line.slice(sep + 1);
      // A repeated rule keeps its last rank, as a dictionary built from the list would.
      this.pairRanks.set(this.intern(left), this.intern(right), rank);
      this.mergedSymbol[rank] = this.intern(left + right);
    }
  }

  /** Number of merge rules. */
  get mergeCount(): number {
    return this.mergedSymbol.length;
  }

  /**
   * BPE of one pre-tokenizer piece (ordinary text): it is UTF-8 encoded into the byte-level alphabet and
   * merged; returns its tokens as symbol ids (see `symbol()`; the last token ends in `</w>`). The
   * special-token strings CLIP's pre-tokenizer lets through come back whole. Results are cached per piece;
   * the returned array must not be modified.
   */
  encodeWord(piece: string): readonly number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    let tokens: number[];
    const special = this.specialSymbols.get(piece);
    if (special !== undefined) {
      tokens = [special];
    } else {
      const length = this.utf8Bytes(piece);
      const bytes = this.scratchBytes;
      if (length <= MAX_WORD_BYTES) {
        tokens = this.merge(bytes, 0, length, true);
      } else {
        tokens = [];
        for (let i = 0; i < length; i += MAX_WORD_BYTES) {
          const end = Math.min(length, i + MAX_WORD_BYTES);
          for (const t of this.merge(bytes, i, end, end === length)) tokens.push(t);
        }
      }
    }
    if (piece.length <= MAX_CACHED_WORD) {
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(piece, tokens);
    }
    return tokens;
  }

  /** The token string of a symbol id returned by `encodeWord`. */
  symbol(id: number): string {
    return this.symbols[id]!;
  }

  /** Number of distinct symbols (every id `encodeWord` can return is below this). */
  get symbolCount(): number {
    return this.symbols.length;
  }

  /** Empties the per-word cache. */
  clearCache(): void {
    this.cache.clear();
  }

  /**
   * Writes the UTF-8 bytes of `text` to the start of `scratchBytes` and returns their count. Lone
   * surrogates (which the cleanup already removed) would be written as U+FFFD.
   */
  private utf8Bytes(text: string): number {
    const need = text.length * 3;
    if (this.scratchBytes.length < need) this.scratchBytes = new Uint8Array(Math.max(need, 2 * this.scratchBytes.length));
    const out = this.scratchBytes;
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c < 0x80) {
        out[n++] = c;
      } else if (c < 0x800) {
        out[n++] = 0xc0 | (c >> 6);
        out[n++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            out[n++] = 0xf0 | (c >> 18);
            out[n++] = 0x80 | ((c >> 12) & 0x3f);
            out[n++] = 0x80 | ((c >> 6) & 0x3f);
            out[n++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd;
        }
        out[n++] = 0xe0 | (c >> 12);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      }
    }
    return n;
  }

  /** Makes the reused work arrays hold at least n entries. */
  private reserve(n: number): void {
    if (this.sym.length >= n) return;
    const size = Math.max(n, 2 * this.sym.length);
    this.sym = new Int32Array(size);
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.alive = new Uint8Array(size);
    this.batch = new Int32Array(size);
  }

  private intern(symbol: string): number {
    let id = this.symbolIds.get(symbol);
    if (id === undefined) {
      id = this.symbols.length;
      this.symbols.push(symbol);
      this.symbolIds.set(symbol, id);
    }
    return id;
  }

  /** BPE of bytes[start, end) (a whole word when endOfWord); returns symbol ids. */
  private merge(bytes: Uint8Array, start: number, end: number, endOfWord: boolean): number[] {
    const n = end - start;
    if (n <= 0) return [];
    if (n === 1) return [endOfWord ? this.byteSymbolEnd[bytes[start]!]! : this.byteSymbol[bytes[start]!]!];
    this.reserve(n);
    const { sym, next, prev, alive, batch, heap } = this;
    const ranks = this.pairRanks;
    for (let i = 0; i < n; i++) {
      sym[i] = this.byteSymbol[bytes[start + i]!]!;
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      alive[i] = 1;
    }
    if (endOfWord) sym[n - 1] = this.byteSymbolEnd[bytes[end - 1]!]!;
    heap.clear();
    for (let i = 0; i + 1 < n; i++) {
      const r = ranks.get(sym[i]!, sym[i + 1]!);
      if (r >= 0) heap.push(r, i);
    }
    while (heap.size > 0) {
      // All candidates of the lowest rank, left to right: one pass of the reference algorithm.
      const rank = heap.topRank();
      let batchSize = 0;
      while (heap.size > 0 && heap.topRank() === rank) batch[batchSize++] = heap.pop();
      for (let b = 0; b < batchSize; b++) {
        const p = batch[b]!;
        if (!alive[p]) continue;
        const q = next[p]!;
        // The candidate may be stale: the pair at p must still be the one with this rank.
        if (q < 0 || ranks.get(sym[p]!, sym[q]!) !== rank) continue;
        const merged = this.mergedSymbol[rank]!;
        sym[p] = merged;
        alive[q] = 0;
        const after = next[q]!;
        next[p] = after;
        if (after >= 0) prev[after] = p;
        // New neighbours cannot have this same rank (the merged symbol differs from both parts), so pushing
        // them now does not disturb the current pass.
        const before = prev[p]!;
        if (before >= 0) {
          const r = ranks.get(sym[before]!, merged);
          if (r >= 0) heap.push(r, before);
        }
        if (after >= 0) {
          const r = ranks.get(merged, sym[after]!);
          if (r >= 0) heap.push(r, p);
        }
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
    return out;
  }
}

/** Binary min-heap of (rank, position) pairs ordered by rank, then position; pop() returns the position. */
class MinHeap {
  private ranks = new Int32Array(64);
  private positions = new Int32Array(64);
  size = 0;

  clear(): void {
    this.size = 0;
  }

  topRank(): number {
    return this.ranks[0]!;
  }

  push(rank: number, position: number): void {
    if (this.size === this.ranks.length) {
      const r = new Int32Array(this.size * 2);
      r.set(this.ranks);
      this.ranks = r;
      const p = new Int32Array(this.size * 2);
      p.set(this.positions);
      this.positions = p;
    }
    const ranks = this.ranks;
    const positions = this.positions;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pr = ranks[parent]!;
      if (pr < rank || (pr === rank && positions[parent]! < position)) break;
      ranks[i] = pr;
      positions[i] = positions[parent]!;
      i = parent;
    }
    ranks[i] = rank;
    positions[i] = position;
  }

  pop(): number {
    const ranks = this.ranks;
    const positions = this.positions;
    const top = positions[0]!;
    const n = --this.size;
    if (n > 0) {
      const rank = ranks[n]!;
      const position = positions[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let c = l;
        const r = l + 1;
        if (r < n && (ranks[r]! < ranks[l]! || (ranks[r] === ranks[l] && positions[r]! < positions[l]!))) c = r;
        const cr = ranks[c]!;
        if (cr > rank || (cr === rank && positions[c]! > position)) break;
        ranks[i] = cr;
        positions[i] = positions[c]!;
        i = c;
      }
      ranks[i] = rank;
      positions[i] = position;
    }
    return top;
  }
}
