/**
 * EventBridge in the simulated account. Between CodeBuild and the bus,
 * delivery is best effort and at least once: events can be duplicated (same
 * event id), dropped, or held back behind later ones. The default bus holds
 * the template's rules, matches them with EventBridge's pattern semantics and
 * delivers to the function asynchronously; schedule rules fire on the
 * simulated clock.
 */
import type { RuleSpec } from '../tools/local-aws/deployment.js';
import { matchesPattern } from '../tools/local-aws/events/pattern.js';
import type { LambdaRuntime } from './lambda-runtime.js';
import type { Random } from './random.js';
import type { Scheduler } from './scheduler.js';

/** An event on the bus (any JSON object). */
export type BusEvent = Readonly<Record<string, unknown>>;

/** Probabilities of the delivery faults, and the longest hold-back. */
export interface DeliveryFaults {
  /** An event is delivered twice (the copy with its own delay). */
  readonly dup: number;
  readonly drop: number;
  /** An event is held back, arriving after events emitted later. */
  readonly reorder: number;
  readonly maxDelayMs: number;
}

/** What happens to one emitted event: one delay per delivered copy. */
export type DeliveryPlan = readonly number[];

/** Options of {@link EventBus}. */
export interface EventBusOptions {
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly faults: DeliveryFaults;
  /** Delays are whole multiples of this. */
  readonly tickMs: number;
  /** Overrides the random plan for chosen events (the demo scripts some). */
  readonly override?: (event: BusEvent) => DeliveryPlan | undefined;
}

/**
 * The delivery from CodeBuild and the default bus with the deployed rules.
 * Each fault is a keyed draw on the event's emission number, so a seed gives
 * the same fault schedule for the same sequence of events.
 *
 * @example
 * const bus = new EventBus({ scheduler, random, faults, tickMs: 10_000 });
 * bus.subscribe(deployment.rules, lambda);
 * emulator.onEvent((event) => bus.emit(event));
 */
export class EventBus {
  readonly #o: EventBusOptions;
  readonly #subscriptions: { rule: RuleSpec; runtime: LambdaRuntime }[] = [];
  /** Events emitted, copies delivered and faults; `matched`: rule matches. */
  readonly stats = {
    emitted: 0,
    copies: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    matched: 0,
  };

  constructor(options: EventBusOptions) {
    this.#o = options;
  }

  /** Adds a deployment's enabled rules, targeting `runtime`. */
  subscribe(rules: readonly RuleSpec[], runtime: LambdaRuntime): void {
    for (const rule of rules.filter((r) => r.enabled)) {
      // The stack's schedule sends a constant input; a scheduled event
      // itself is not modelled, so refuse rather than send something else.
      if (rule.scheduleExpression && rule.targets.some((t) => !t.input)) {
        throw new Error(`${rule.name}: schedule targets need an Input`);
      }
      this.#subscriptions.push({ rule, runtime });
    }
  }

  /** Fires every schedule rule one period after `from`, then every period, until `stop`. */
  startSchedules(from: number, stop: () => boolean): void {
    for (const { rule, runtime } of this.#subscriptions) {
      const period = rule.scheduleRateMs;
      if (period === undefined) continue;
      const fire = () => {
        if (stop()) return;
        for (const target of rule.targets) runtime.invokeAsync(target.input);
        this.#o.scheduler.after(period, fire);
      };
      this.#o.scheduler.at(from + period, fire);
    }
  }

  /** Hands an event CodeBuild emitted to EventBridge; the copies' delays. */
  emit(event: BusEvent): DeliveryPlan {
    const seq = ++this.stats.emitted;
    const plan = this.#o.override?.(event) ?? this.#plan(seq);
    if (plan.length === 0) this.stats.dropped++;
    this.stats.duplicated += Math.max(0, plan.length - 1);
    this.stats.copies += plan.length;
    for (const delay of plan) {
      this.#o.scheduler.after(delay, () => this.#put(event));
    }
    return plan;
  }

  #put(event: BusEvent): void {
    for (const { rule, runtime } of this.#subscriptions) {
      if (!rule.eventPattern || !matchesPattern(rule.eventPattern, event)) {
        continue;
      }
      this.stats.matched++;
      for (const target of rule.targets) {
        runtime.invokeAsync(target.input ?? event);
      }
    }
  }

  #plan(seq: number): DeliveryPlan {
    const { random: r, tickMs, faults } = this.#o;
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
