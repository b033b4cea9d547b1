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

/**
 * EventBridge's default bus with the deployed rules.
 *
 * @example
 * const bus = new EventBus(clock, scheduler, random);
 * bus.subscribe(deployment.rules, lambda, deployment.environment);
 * bus.put(event);
 */
export class EventBus {
  readonly #clock: SimClock;
  readonly #scheduler: Scheduler;
  readonly #random: Random;
  readonly #subscriptions: Subscription[] = [];
  /** Rule matches of events put on the bus. */
  readonly stats = { matched: 0 };

  constructor(clock: SimClock, scheduler: Scheduler, random: Random) {
    this.#clock = clock;
    this.#scheduler = scheduler;
    this.#random = random;
  }

  /** Adds a deployment's enabled rules, targeting `runtime`. */
  subscribe(
    rules: readonly RuleSpec[],
    runtime: LambdaRuntime,
    where: { region: string; account: string },
  ): void {
    for (const rule of rules.filter((r) => r.enabled)) {
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
      const fire = (n: number) => {
        if (stop()) return;
        this.#deliver(sub, this.#scheduledEvent(sub, n));
        this.#scheduler.at(from + (n + 1) * period, 'schedule', () =>
          fire(n + 1),
        );
      };
      this.#scheduler.at(from + period, 'schedule', () => fire(1));
    }
  }

  /** Puts an event on the bus; returns how many targets it went to. */
  put(event: BusEvent): number {
    let delivered = 0;
    for (const sub of this.#subscriptions) {
      const pattern = sub.rule.eventPattern;
      if (!pattern || !matchesPattern(pattern, event)) continue;
      this.stats.matched++;
      delivered += this.#deliver(sub, event);
    }
    return delivered;
  }

  #deliver(sub: Subscription, event: BusEvent): number {
    for (const target of sub.rule.targets) {
      sub.runtime.invokeAsync(target.input ?? event, sub.rule.name);
    }
    return sub.rule.targets.length;
  }

  /** What EventBridge sends a target without a constant input. */
  #scheduledEvent(sub: Subscription, n: number): BusEvent {
    const { region, account, rule } = sub;
    return {
      version: '0',
      id: uuidAt(this.#random, 'schedule', rule.name, n),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account,
      time: new Date(this.#clock.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
      region,
      resources: [`arn:aws:events:${region}:${account}:rule/${rule.name}`],
      detail: {},
    };
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

/** Options of {@link EventDelivery}. */
export interface DeliveryOptions {
  readonly bus: EventBus;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly faults: DeliveryFaults;
  /** Delays are whole multiples of this. */
  readonly tickMs: number;
  /** Overrides the random plan for chosen events (the demo scripts some). */
  readonly override?: (event: BusEvent) => DeliveryPlan | undefined;
}

/**
 * CodeBuild → EventBridge: at least once, best effort. Each decision is a
 * keyed draw on the event's emission number, so a seed gives the same
 * fault schedule for the same sequence of events.
 *
 * @example
 * const delivery = new EventDelivery({ bus, scheduler, random, faults, tickMs: 10_000 });
 * emulator.onEvent((event) => delivery.emit(event));
 */
export class EventDelivery {
  readonly #options: DeliveryOptions;
  readonly stats = {
    emitted: 0,
    copies: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
  };

  constructor(options: DeliveryOptions) {
    this.#options = options;
  }

  /** Hands an emitted event to EventBridge. */
  emit(event: BusEvent): void {
    const seq = ++this.stats.emitted;
    const plan = this.#options.override?.(event) ?? this.#plan(seq);
    if (plan.length === 0) this.stats.dropped++;
    this.stats.duplicated += Math.max(0, plan.length - 1);
    this.stats.copies += plan.length;
    for (const delay of plan) {
      this.#options.scheduler.after(delay, 'deliver', () =>
        this.#options.bus.put(event),
      );
    }
  }

  #plan(seq: number): DeliveryPlan {
    const { random: r, tickMs, faults } = this.#options;
    if (r.chanceAt(faults.drop, 'drop', seq)) return [];
    const ticks = Math.max(1, Math.floor(faults.maxDelayMs / tickMs));
    const first = r.chanceAt(faults.reorder, 'reorder', seq)
      ? r.intAt(1, ticks, 'reorder-delay', seq) * tickMs
      : 0;
    if (first > 0) this.stats.reordered++;
    if (!r.chanceAt(faults.dup, 'dup', seq)) return [first];
    return [first, r.intAt(0, ticks, 'dup-delay', seq) * tickMs];
  }
}
