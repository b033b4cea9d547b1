/**
 * The simulated clock: one integer of epoch milliseconds in shared memory.
 *
 * The simulation is a discrete-event simulation. The clock stands still while
 * a step runs (every function invocation, CodeBuild and DynamoDB call due at
 * that instant, run to completion in real time), and jumps to the next
 * scheduled instant between steps. Nothing else moves it.
 *
 * Who reads it:
 * - the CodeBuild emulator, through its `now` option (start/end times of
 *   builds and batches, the five-minute idempotency-token window);
 * - every Lambda execution environment (a worker thread), whose `Date` is
 *   replaced by one reading this buffer before the bundle is imported, so the
 *   SDK, Powertools Idempotency (record expiry, in-progress expiry = now +
 *   remaining time) and the budget store all see simulated time;
 * - the harness, for schedules, event ages and latencies.
 *
 * The main thread's own `Date` is left alone: dynalite keeps real time (it
 * only stamps table metadata with it) and test runners keep working timers.
 */
export class SimClock {
  /** Shared with worker threads; holds the time as a BigInt64. */
  readonly buffer: SharedArrayBuffer;
  readonly #view: BigInt64Array;

  constructor(startMs: number) {
    this.buffer = new SharedArrayBuffer(8);
    this.#view = new BigInt64Array(this.buffer);
    this.set(startMs);
  }

  /** Simulated epoch milliseconds. */
  now = (): number => Number(Atomics.load(this.#view, 0));

  /** Moves the clock; it never goes backwards. */
  set(ms: number): void {
    const next = Math.round(ms);
    if (next < this.now()) {
      throw new Error(
        `the simulated clock cannot go back from ${this.now()} to ${next}`,
      );
    }
    Atomics.store(this.#view, 0, BigInt(next));
  }

  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.set(this.now() + ms);
  }

  /** ISO text of the simulated time. */
  iso(): string {
    return new Date(this.now()).toISOString();
  }
}

/** A fixed, recognisable start for simulations: Monday 2026-11-16 08:00 UTC. */
export const SIM_EPOCH = Date.UTC(2026, 10, 16, 8, 0, 0);

/** `hh:mm:ss` since `start`, for progress lines and tables. */
export function elapsed(start: number, now: number): string {
  const total = Math.max(0, Math.round((now - start) / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h, m, s].map((n) => String(n).padStart(2, '0')).join(':');
}
