import type { SimClock } from './clock.js';

/** Something to do at a simulated instant. */
export type Task = () => unknown;

interface Entry {
  readonly at: number;
  readonly task: Task;
}

/**
 * The discrete-event loop. Tasks run in time order, ties in the order they
 * were scheduled. A step sets the clock to the earliest instant, starts every
 * task due then, waits for all of them (and whatever they schedule for the
 * same instant), runs the step hooks, and only then lets the clock jump.
 *
 * @example
 * const scheduler = new Scheduler(clock);
 * scheduler.at(clock.now() + 60_000, 'sweep', () => fireSweep());
 * await scheduler.runUntil(end);
 */
export class Scheduler {
  readonly #clock: SimClock;
  /** Sorted by time; a new entry goes after those due at the same time. */
  readonly #queue: Entry[] = [];
  readonly #afterStep: (() => unknown)[] = [];
  #steps = 0;

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  /** Steps run so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Schedules `task` at `at` (never before now); `label` names it for readers. */
  at(at: number, _label: string, task: Task): void {
    const when = Math.max(Math.round(at), this.#clock.now());
    let low = 0;
    let high = this.#queue.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((this.#queue[mid] as Entry).at <= when) low = mid + 1;
      else high = mid;
    }
    this.#queue.splice(low, 0, { at: when, task });
  }

  /** Schedules `task` `delayMs` from now. */
  after(delayMs: number, label: string, task: Task): void {
    this.at(this.#clock.now() + delayMs, label, task);
  }

  /** Runs after every step, before the clock may move (may schedule). */
  onStep(hook: () => unknown): void {
    this.#afterStep.push(hook);
  }

  /**
   * Runs steps until nothing is due at or before `end`, or `stop` says so
   * (checked between steps).
   */
  async runUntil(end: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      if (stop?.()) return;
      const next = this.#queue[0]?.at;
      if (next === undefined || next > end) return;
      this.#clock.set(next);
      await this.#step(next);
    }
  }

  async #step(now: number): Promise<void> {
    this.#steps++;
    while ((this.#queue[0]?.at ?? Number.POSITIVE_INFINITY) <= now) {
      const running: Promise<unknown>[] = [];
      while ((this.#queue[0]?.at ?? Number.POSITIVE_INFINITY) <= now) {
        const result = (this.#queue.shift() as Entry).task();
        if (result instanceof Promise) running.push(result);
      }
      await Promise.all(running);
      for (const hook of this.#afterStep) await hook();
    }
  }
}
