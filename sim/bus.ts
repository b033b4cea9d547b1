/**
 * The default event bus of the simulated account: rules from the template,
 * matched with EventBridge's pattern semantics, delivering to the function
 * asynchronously; schedule rules fire on the simulated clock.
 *
 * Between CodeBuild and the bus sits {@link EventDelivery}, which models
 * best-effort, at-least-once delivery: events can be duplicated (same event
 * id), dropped, or delayed past later ones.
 */

import type { RuleSpec } from '../tools/local-aws/deployment.js';
import type { SimClock } from './clock.js';
import { matchesPattern } from './event-pattern.js';
import type { LambdaRuntime } from './lambda-runtime.js';
import { type Random, uuidAt } from './random.js';
import type { Scheduler } from './scheduler.js';

/** An event on the bus (any JSON object). */
export type BusEvent = Readonly<Record<string, unknown>>;

interface Subscription {
  readonly rule: RuleSpec;
  readonly runtime: LambdaRuntime;
  readonly region: string;
  readonly account: string;
}

/** Counters of the bus. */
export interface BusStats {
  put: number;
  matched: number;
  delivered: number;
  scheduled: number;
}

/**
 * EventBridge's default bus with the deployed rules.
 *
 * @example
 * const bus = new EventBus(clock, scheduler, random);
 * bus.subscribe(deployment, lambda);
 * bus.put(event);
 */
export class EventBus {
  readonly #clock: SimClock;
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #subscriptions: Subscription[] = [];
  readonly stats: BusStats = { put: 0, matched: 0, delivered: 0, scheduled: 0 };

  constructor(clock: SimClock, scheduler: Scheduler, random: Random) {
    this.#clock = clock;
    this.#scheduler = scheduler;
    this.#random = random;
  }

  /** Adds a deployment's rules that target `runtime`. */
  subscribe(
    rules: readonly RuleSpec[],
    runtime: LambdaRuntime,
    where: { region: string; account: string },
  ): void {
    for (const rule of rules) {
      if (!rule.enabled) continue;
      this.#subscriptions.push({ rule, runtime, ...where });
    }
  }

  /**
   * Starts every schedule rule: the first fire one period after `from`,
   * then every period, until `stop` returns true.
   */
  startSchedules(from: number, stop: () => boolean): void {
    for (const sub of this.#subscriptions) {
      const period = sub.rule.scheduleRateMs;
      if (period === undefined) continue;
      let n = 0;
      const fire = () => {
        if (stop()) return;
        n++;
        this.#fireSchedule(sub, n);
        this.#scheduler.at(from + (n + 1) * period, 'schedule', fire);
      };
      this.#scheduler.at(from + period, 'schedule', fire);
    }
  }

  /** Puts an event on the bus (PutEvents / a service event). */
  put(event: BusEvent): number {
    this.stats.put++;
    let delivered = 0;
    for (const sub of this.#subscriptions) {
      const pattern = sub.rule.eventPattern;
      if (!pattern || !matchesPattern(pattern, event)) continue;
      this.stats.matched++;
      for (const target of sub.rule.targets) {
        sub.runtime.invokeAsync(target.input ?? event, sub.rule.name);
        delivered++;
        this.stats.delivered++;
      }
    }
    return delivered;
  }

  #fireSchedule(sub: Subscription, n: number): void {
    this.stats.scheduled++;
    const time = new Date(this.#clock.now()).toISOString();
    const event = {
      version: '0',
      id: uuidAt(this.#random, 'schedule', sub.rule.name, n),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: sub.account,
      time: time.replace(/\.\d{3}Z$/, 'Z'),
      region: sub.region,
      resources: [
        `arn:aws:events:${sub.region}:${sub.account}:rule/${sub.rule.name}`,
      ],
      detail: {},
    };
    for (const target of sub.rule.targets) {
      sub.runtime.invokeAsync(target.input ?? event, sub.rule.name);
      this.stats.delivered++;
    }
  }
}

/** Probabilities of the delivery faults. */
export interface DeliveryFaults {
  /** An event is delivered twice (the copy with its own delay). */
  readonly dup: number;
  /** An event is never delivered. */
  readonly drop: number;
  /** An event is held back, arriving after events emitted later. */
  readonly reorder: number;
  /** Longest hold-back of a reordered event or a duplicate. */
  readonly maxDelayMs: number;
}

/** What happens to one emitted event: one delay per delivered copy. */
export type DeliveryPlan = readonly number[];

/** Overrides the random plan for chosen events (the demo scripts some). */
export type DeliveryOverride = (
  event: BusEvent,
  seq: number,
) => DeliveryPlan | undefined;

/** Counters of the delivery faults. */
export interface DeliveryStats {
  emitted: number;
  copies: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

/**
 * CodeBuild → EventBridge: at least once, best effort. Each decision is a
 * keyed draw on the event's emission number, so a seed gives the same
 * fault schedule for the same sequence of events.
 */
export class EventDelivery {
  readonly #bus: EventBus;
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #tickMs: number;
  readonly #override?: DeliveryOverride;
  faults: DeliveryFaults;
  #seq = 0;
  readonly stats: DeliveryStats = {
    emitted: 0,
    copies: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
  };

  constructor(options: {
    bus: EventBus;
    scheduler: Scheduler;
    random: Random;
    faults: DeliveryFaults;
    /** Delays are whole multiples of this. */
    tickMs: number;
    override?: DeliveryOverride;
  }) {
    this.#bus = options.bus;
    this.#scheduler = options.scheduler;
    this.#random = options.random;
    this.#tickMs = options.tickMs;
    this.faults = options.faults;
    this.#override = options.override;
  }

  /** Hands an emitted event to EventBridge. */
  emit(event: BusEvent): void {
    const seq = ++this.#seq;
    this.stats.emitted++;
    const plan = this.#override?.(event, seq) ?? this.#plan(seq);
    if (plan.length === 0) this.stats.dropped++;
    if (plan.length > 1) this.stats.duplicated += plan.length - 1;
    for (const delay of plan) {
      this.stats.copies++;
      this.#scheduler.after(delay, 'deliver', () => {
        this.#bus.put(event);
      });
    }
  }

  #plan(seq: number): DeliveryPlan {
    const { dup, drop, reorder, maxDelayMs } = this.faults;
    const r = this.#random;
    if (r.chanceAt(drop, 'drop', seq)) return [];
    const ticks = Math.max(1, Math.floor(maxDelayMs / this.#tickMs));
    const first = r.chanceAt(reorder, 'reorder', seq)
      ? r.intAt(1, ticks, 'reorder-delay', seq) * this.#tickMs
      : 0;
    if (first > 0) this.stats.reordered++;
    if (!r.chanceAt(dup, 'dup', seq)) return [first];
    return [first, r.intAt(0, ticks, 'dup-delay', seq) * this.#tickMs];
  }
}
