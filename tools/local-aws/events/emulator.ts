import { randomUUID } from 'node:crypto';
import { ACCOUNT, REGION } from '../environment.js';
import { ApiError, checker, type Input, LocalService } from '../wire-server.js';
import { type EventPattern, matchesPattern } from './pattern.js';

export type { ArrivalRecord, RequestRecord } from '../wire-server.js';

/** An event as EventBridge delivers it to a rule's targets. */
export interface EventBridgeEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  /** ISO 8601 to the second, e.g. `2026-11-20T09:41:00Z`. */
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, unknown>>;
}

interface Rule {
  readonly pattern: EventPattern | string;
  readonly events: EventBridgeEvent[];
  /** How many of its bus's events there were when the rule was added. */
  readonly from: number;
}

type Entry = Record<string, unknown>;
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;
const TOO_BIG = 'Total size of the entries in the request is over the limit.';
const MALFORMED = {
  ErrorCode: 'MalformedDetail',
  ErrorMessage: 'Detail is malformed.',
};
const BUS_ARN = /^arn:[^:]*:events:[^:]*:[^:]*:event-bus\//;
const check = checker('ValidationException');

/** An entry's size as AWS counts it: UTF-8 texts, 14 bytes for a Time. */
function entrySize({ Source, DetailType, Detail, Resources, Time }: Entry) {
  const texts = [Source, DetailType, Detail, [Resources ?? []]].flat(2);
  const text = texts.filter((t) => typeof t === 'string').join('');
  return Buffer.byteLength(text) + (Time === undefined ? 0 : 14);
}

/**
 * A wire-level Amazon EventBridge on 127.0.0.1 for the real
 * `@aws-sdk/client-eventbridge` (JSON 1.1, `AWSEvents`; signatures are not
 * checked) serving PutEvents, with in-process buses and rules matched by
 * the patterns of {@link matchesPattern}, and injectable faults.
 * As AWS answers: per entry, `InvalidArgument` for a missing Source,
 * DetailType or Detail and `MalformedDetail` for a Detail that is not a
 * JSON object; for the request, `ValidationException` for 0 or more than
 * 10 entries or more than 256 KB in all; an entry for a bus that does not
 * exist gets an EventId and is dropped. Simplified: a bus ARN counts by its
 * name only, global endpoints and TraceHeader are ignored, and a rule only
 * records what it matched (no targets).
 *
 * @example
 * const events = await EventsEmulator.start();
 * events.addRule('batch-done', { pattern: { source: ['batch-retry'] } });
 * // new EventBridgeClient({ endpoint: events.endpoint, … })
 * events.delivered('batch-done'); // the matching events
 * await events.stop();
 */
export class EventsEmulator extends LocalService {
  /** Every event accepted onto an existing bus, in order. */
  readonly events: EventBridgeEvent[] = [];
  /** Each bus's events, by bus name. */
  readonly #buses = new Map<string, EventBridgeEvent[]>([['default', []]]);
  readonly #rules = new Map<string, Rule>();

  private constructor(now: () => number) {
    super(now);
  }

  /** Starts an emulator on a free loopback port; `now` is its clock (ms). */
  static async start(options: { now?: () => number } = {}) {
    const events = new EventsEmulator(options.now ?? Date.now);
    await events.listen({
      target: 'AWSEvents',
      operations: { PutEvents: (input) => events.#putEvents(input) },
    });
    return events;
  }

  /** Creates a custom bus (`default` always exists); returns its ARN. */
  createEventBus(name: string): string {
    if (this.#buses.has(name)) throw new Error(`Bus ${name} already exists`);
    this.#buses.set(name, []);
    return `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
  }

  /**
   * Adds a rule on a bus (default `default`) that matches the events put
   * from now on; throws for an invalid pattern or an unknown bus.
   */
  addRule(
    name: string,
    options: { eventBusName?: string; pattern: EventPattern | string },
  ): void {
    const bus = options.eventBusName ?? 'default';
    const key = `${bus}/${name}`;
    const events = this.#buses.get(bus);
    if (!events) throw new Error(`No bus ${bus}`);
    if (this.#rules.has(key)) throw new Error(`Rule ${key} already exists`);
    const { pattern } = options;
    matchesPattern(pattern, {}); // Refuses an invalid pattern now.
    this.#rules.set(key, { pattern, events, from: events.length });
  }

  /** The events rule `name` of `eventBusName` (default `default`) matched. */
  delivered(name: string, eventBusName = 'default'): EventBridgeEvent[] {
    const rule = this.#rules.get(`${eventBusName}/${name}`);
    if (!rule) throw new Error(`No rule ${name} on bus ${eventBusName}`);
    const events = rule.events.slice(rule.from);
    return events.filter((event) => matchesPattern(rule.pattern, event));
  }

  /** PutEvents: every entry answered in order, failed ones counted. */
  #putEvents(input: Input) {
    const entries = Array.isArray(input.Entries) ? input.Entries : undefined;
    const count = entries?.length ?? 0;
    const rule = !entries
      ? 'Member must not be null'
      : count
        ? `Member must have length less than or equal to ${MAX_ENTRIES}`
        : 'Member must have length greater than or equal to 1';
    const value = entries ? `[${count} entries]` : input.Entries;
    check(count >= 1 && count <= MAX_ENTRIES, 'entries', value, rule);
    const list = (entries ?? []).map((e) => (typeof e === 'object' && e) || {});
    if (list.reduce((sum, e) => sum + entrySize(e), 0) > MAX_BYTES) {
      throw new ApiError('ValidationException', TOO_BIG);
    }
    const results = list.map((entry) => this.#accept(entry));
    const FailedEntryCount = results.filter((r) => !r.EventId).length;
    return { FailedEntryCount, Entries: results };
  }

  /** One entry: its EventId, or why it failed (AWS's codes and wording). */
  #accept(entry: Entry): Record<string, string> {
    for (const field of ['Source', 'DetailType', 'Detail']) {
      if (typeof entry[field] === 'string' && entry[field]) continue;
      const ErrorMessage = `Parameter ${field} is not valid. Reason: ${field} is a required argument.`;
      return { ErrorCode: 'InvalidArgument', ErrorMessage };
    }
    const { Source, DetailType, Detail, Time, Resources } = entry;
    let detail: unknown;
    try {
      detail = JSON.parse(String(Detail));
    } catch {
      return MALFORMED;
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail)) {
      return MALFORMED;
    }
    const EventId = randomUUID();
    const bus = String(entry.EventBusName ?? 'default').replace(BUS_ARN, '');
    const onBus = this.#buses.get(bus);
    if (!onBus) return { EventId }; // AWS drops it, and says nothing.
    const at = typeof Time === 'number' ? Time * 1000 : this.now();
    const event: EventBridgeEvent = {
      version: '0',
      id: EventId,
      'detail-type': String(DetailType),
      source: String(Source),
      account: ACCOUNT,
      time: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: REGION,
      resources: Array.isArray(Resources) ? Resources.map(String) : [],
      detail: detail as Entry,
    };
    this.events.push(event);
    onBus.push(event);
    return { EventId };
  }
}
