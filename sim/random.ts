/**
 * Seeded pseudo-random numbers, so a seed reproduces the workload and the
 * fault schedule: a sequential stream ({@link Random.next}) and keyed draws
 * ({@link Random.at}) that depend only on the seed and the key, which keep
 * decisions about one batch or event stable however invocations interleave.
 */

/** A 32-bit hash (FNV-1a followed by a murmur3 finalizer) of the parts. */
export function hash32(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = `${String(part)}\u0000`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

type Key = readonly (string | number)[];

/**
 * mulberry32: small, fast, good enough for simulations (not for secrets).
 *
 * @example
 * const rng = new Random(42);
 * rng.next(); // 0 <= x < 1, the same sequence for the same seed
 * rng.chanceAt(0.1, 'drop', 7); // the same answer for seed 42 and key drop/7
 */
export class Random {
  readonly seed: number;
  #state: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#state = hash32('stream', this.seed);
  }

  /** The next number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A number in [0, 1) determined by the seed and the key alone. */
  at(...key: Key): number {
    return hash32(this.seed, ...key) / 4294967296;
  }

  /** True with probability `p`, determined by the seed and the key alone. */
  chanceAt(p: number, ...key: Key): boolean {
    return p > 0 && this.at(...key) < p;
  }

  /** An integer in [min, max], determined by the seed and the key alone. */
  intAt(min: number, max: number, ...key: Key): number {
    return min + Math.floor(this.at(...key) * (max - min + 1));
  }

  /** An independent stream derived from this seed and a label. */
  fork(label: string): Random {
    return new Random(hash32(this.seed, label));
  }
}

/** A UUID-shaped identifier from a keyed draw (stable per seed and key). */
export function uuidAt(rng: Random, ...key: Key): string {
  const hex = [0, 1, 2, 3]
    .map((i) => hash32(rng.seed, 'uuid', i, ...key).toString(16))
    .map((h) => h.padStart(8, '0'))
    .join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
