import type { SimClock } from './clock.js';

/** Something to do at a simulated instant. */
export type Task = () => unknown;

/**
 * The discrete-event loop. Tasks run in time order, ties in the order they
 * were scheduled. A step sets the clock to the earliest instant, starts every
 * task due then, waits for all of them (and whatever they schedule for the
 * same instant), runs the step hooks, and only then lets the clock jump.
 *
 * @example
 * const scheduler = new Scheduler(clock);
 * scheduler.at(clock.now() + 60_000, () => fireSweep());
 * await scheduler.runUntil(end);
 */
export class Scheduler {
  /** Sorted by time; a new entry goes after those due at the same time. */
  readonly #queue: { readonly at: number; readonly task: Task }[] = [];
  readonly #afterStep: Task[] = [];
  /** Steps run so far. */
  steps = 0;

  constructor(readonly clock: SimClock) {}

  /** Schedules `task` at `at` (never before now). */
  at(at: number, task: Task): void {
    const when = Math.max(Math.round(at), this.clock.now());
    let low = 0;
    let high = this.#queue.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((this.#queue[mid]?.at ?? 0) <= when) low = mid + 1;
      else high = mid;
    }
    this.#queue.splice(low, 0, { at: when, task });
  }

  /** Schedules `task` `delayMs` from now. */
  after(delayMs: number, task: Task): void {
    this.at(this.clock.now() + delayMs, task);
  }

  /** Runs after every step, before the clock may move (may schedule). */
  onStep(hook: Task): void {
    this.#afterStep.push(hook);
  }

  /** Runs steps until nothing is due by `end`, or `stop` (asked between steps) says so. */
  async runUntil(end: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      const next = this.#queue[0]?.at;
      if (stop?.() || next === undefined || next > end) return;
      this.clock.set(next);
      this.steps++;
      while ((this.#queue[0]?.at ?? Number.POSITIVE_INFINITY) <= next) {
        const running: unknown[] = [];
        while ((this.#queue[0]?.at ?? Number.POSITIVE_INFINITY) <= next) {
          running.push(this.#queue.shift()?.task());
        }
        await Promise.all(running);
        for (const hook of this.#afterStep) await hook();
      }
    }
  }
}
