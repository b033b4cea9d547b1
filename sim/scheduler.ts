import type { SimClock } from './clock.js';

/** Something to do at a simulated instant. */
export type Task = () => unknown;

interface Entry {
  readonly at: number;
  readonly seq: number;
  readonly label: string;
  readonly task: Task;
}

/**
 * The discrete-event loop. Tasks are kept in time order (ties in the order
 * they were scheduled). A step sets the clock to the earliest instant, starts
 * every task due then, waits for all of them (and whatever they schedule for
 * the same instant), runs the step hooks, and only then lets the clock jump.
 *
 * @example
 * const scheduler = new Scheduler(clock);
 * scheduler.at(clock.now() + 60_000, 'sweep', () => fireSweep());
 * await scheduler.runUntil(end);
 */
export class Scheduler {
  readonly #clock: SimClock;
  readonly #heap: Entry[] = [];
  readonly #afterStep: (() => unknown)[] = [];
  #seq = 0;
  #steps = 0;

  constructor(clock: SimClock) {
    this.#clock = clock;
  }

  /** Steps run so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Tasks waiting. */
  get pending(): number {
    return this.#heap.length;
  }

  /** When the next task is due, if any. */
  nextAt(): number | undefined {
    return this.#heap[0]?.at;
  }

  /** Schedules `task` at `at` (never before now). */
  at(at: number, label: string, task: Task): void {
    const entry = {
      at: Math.max(Math.round(at), this.#clock.now()),
      seq: this.#seq++,
      label,
      task,
    };
    this.#heap.push(entry);
    this.#up(this.#heap.length - 1);
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
      const next = this.nextAt();
      if (next === undefined || next > end) return;
      this.#clock.set(next);
      await this.step();
    }
  }

  /** Runs everything due now, to quiescence. */
  async step(): Promise<void> {
    this.#steps++;
    const now = this.#clock.now();
    for (;;) {
      const running: Promise<unknown>[] = [];
      while (this.#heap.length > 0 && (this.#heap[0] as Entry).at <= now) {
        const entry = this.#pop();
        const result = entry.task();
        if (result instanceof Promise) running.push(result);
      }
      await Promise.all(running);
      for (const hook of this.#afterStep) await hook();
      const next = this.nextAt();
      if (next === undefined || next > now) return;
    }
  }

  #pop(): Entry {
    const top = this.#heap[0] as Entry;
    const last = this.#heap.pop() as Entry;
    if (this.#heap.length > 0) {
      this.#heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #less(a: number, b: number): boolean {
    const x = this.#heap[a] as Entry;
    const y = this.#heap[b] as Entry;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  #swap(a: number, b: number): void {
    const t = this.#heap[a] as Entry;
    this.#heap[a] = this.#heap[b] as Entry;
    this.#heap[b] = t;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.#heap.length && this.#less(l, m)) m = l;
      if (r < this.#heap.length && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
