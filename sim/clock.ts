/**
 * The simulated clock: one integer of epoch milliseconds in shared memory.
 * It stands still while a step runs and jumps to the next scheduled instant
 * between steps. The CodeBuild emulator reads it through its `now` option,
 * and every Lambda execution environment's `Date` reads this buffer (see
 * lambda-worker.mjs); the harness's own `Date` keeps real time for dynalite.
 *
 * @example
 * const clock = new SimClock(SIM_EPOCH);
 * clock.set(SIM_EPOCH + 60_000);
 */
export class SimClock {
  /** Shared with worker threads; holds the time as a BigInt64. */
  readonly buffer = new SharedArrayBuffer(8);
  readonly #view = new BigInt64Array(this.buffer);

  constructor(startMs: number) {
    this.set(startMs);
  }

  /** Simulated epoch milliseconds. */
  now = (): number => Number(Atomics.load(this.#view, 0));

  /** Moves the clock; it never goes backwards. */
  set(ms: number): void {
    const next = Math.round(ms);
    if (next < this.now()) {
      throw new Error(`the simulated clock cannot go back from ${this.now()}`);
    }
    Atomics.store(this.#view, 0, BigInt(next));
  }
}

/** A fixed, recognisable start for simulations: Monday 2026-11-16 08:00 UTC. */
export const SIM_EPOCH = Date.UTC(2026, 10, 16, 8, 0, 0);

/** `hh:mm:ss` of a duration, for summaries. */
export function elapsed(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}
