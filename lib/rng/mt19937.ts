/**
 * MT19937 (Matsumoto & Nishimura 1998), 32-bit output, seeded the way torch's CPU generator seeds it:
 * the low 32 bits of the (64-bit) seed go through the reference `init_genrand` recurrence.
 */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number | bigint = 5489) {
    this.seed(seed);
  }

  /** Re-seeds with the low 32 bits of `seed` (as torch does for its 64-bit seeds). */
  seed(seed: number | bigint): void {
    const s = typeof seed === "bigint" ? Number(seed & 0xffffffffn) : Number(BigInt(Math.trunc(seed)) & 0xffffffffn);
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & UPPER_MASK) | (mt[(i + 1) % N]! & LOWER_MASK);
      let v = mt[(i + M) % N]! ^ (y >>> 1);
      if (y & 1) v ^= MATRIX_A;
      mt[i] = v >>> 0;
    }
    this.index = 0;
  }

  /** Next 32-bit output as an unsigned number in [0, 2^32). */
  nextU32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Snapshot of the internal state (for cloning generators). */
  getState(): { mt: Uint32Array; index: number } {
    return { mt: this.mt.slice(), index: this.index };
  }

  setState(state: { mt: Uint32Array; index: number }): void {
    this.mt.set(state.mt);
    this.index = state.index;
  }
}
