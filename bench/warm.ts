// Warm cost, event by event in lock step. A scout (a copy of the shipped
// handler in its own world) takes each event first; the bench reads the
// calls it made from the servers' logs. Then four followers, each in a twin
// world, take the same event in a rotating order: our handler, a second
// copy of it (the control), the floor (handed exactly the scout's calls,
// with its twin's ids, sent with nothing in between) and the issue's
// reference handler (the same calls, through its libraries). All worlds
// start identical, so every call has the same effect everywhere. The order
// rotates through every permutation because the rig favours whoever goes
// later (the servers share a process, and what just ran is warm); the
// control shows what bias is left: ours against ours should read 1.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { IDEMPOTENCY_KEY_PREFIX } from '../lambda/retry-step.js';
import { type Invocation, LambdaProcess } from './lambda-process.js';
import { WARM_EVENTS, WARM_MIX, WARMUP_EVENTS } from './settings.js';
import type { Shipped } from './synth.js';
import { type Call, IdMap, World } from './world.js';

export type WarmKind = (typeof WARM_MIX)[number];

/** One side of the warm run. */
export interface WarmSide {
  /** Latency of each measured event, in delivery order. */
  readonly latencies: number[];
  readonly kinds: WarmKind[];
  /** The very first invocation after the cold start (untimed in totals). */
  firstEventMs: number;
  maxRssMb: number;
  /** Bytes written to stdout/stderr (logs, metrics), per kind, summed. */
  readonly logBytes: Record<WarmKind, number>;
  errors: number;
}

/**
 * Extra environment for the control copy, for diagnosis only: with
 * `BENCH_CONTROL_ENV='{"POWERTOOLS_METRICS_DISABLED":"true"}'` the control
 * row measures what metrics cost, under the same rotation. Empty by default,
 * which makes the control a bias check.
 */
export const CONTROL_ENVIRONMENT: Readonly<Record<string, string>> = JSON.parse(
  process.env.BENCH_CONTROL_ENV ?? '{}',
);

/** The followers, in the order they are reported. */
const FOLLOWERS = ['ours', 'control', 'floor', 'reference'] as const;
type Follower = (typeof FOLLOWERS)[number];

export interface Warm {
  readonly ours: WarmSide;
  /** A second copy of our handler: the rig's bias check. */
  readonly control: WarmSide;
  readonly floor: WarmSide;
  /** The reference handler (see `referenceSource`), information. */
  readonly reference: WarmSide;
  /** Operation sequences our handler sent, per kind, with their counts. */
  readonly sequences: Record<WarmKind, Record<string, number>>;
  /** What our handler returned, per kind (`kind/outcome`), with counts. */
  readonly outcomes: Record<WarmKind, Record<string, number>>;
  /** Checks that every world did the same work. */
  readonly fidelity: {
    readonly retriesOurs: number;
    readonly retriesFloor: number;
    readonly retriesReference: number;
    readonly itemsOurs: number;
    readonly itemsFloor: number;
    readonly callsOurs: number;
    readonly callsFloor: number;
    readonly callsReference: number;
    /** Events where our handler's calls differed from the scout's. */
    readonly divergedEvents: number;
    readonly unmappedIds: number;
  };
}

export async function measureWarm(
  shipped: Shipped,
  floorBundle: string,
  referenceBundle: string,
  workerFile: string,
): Promise<Warm> {
  const [scoutWorld, ...twins] = await Promise.all(
    [null, ...FOLLOWERS].map(() => World.start()),
  );
  const worlds = Object.fromEntries(
    FOLLOWERS.map((name, i) => [name, twins[i]]),
  ) as Record<Follower, World>;
  const ids = Object.fromEntries(
    FOLLOWERS.map((name) => [name, new IdMap()]),
  ) as Record<Follower, IdMap>;

  const plan: { kind: WarmKind; event: unknown }[] = [];
  let lastRetry: unknown;
  for (let i = 0; i < WARMUP_EVENTS + WARM_EVENTS; i++) {
    const kind = WARM_MIX[i % WARM_MIX.length];
    if (kind === 'duplicate') {
      plan.push({ kind, event: lastRetry });
      continue;
    }
    const made = scoutWorld.event(kind);
    for (const name of FOLLOWERS) {
      ids[name].pair(made.ids, worlds[name].event(kind).ids);
    }
    if (kind === 'retried') lastRetry = made.event;
    plan.push({ kind, event: made.event });
  }

  const start = (world: World, extra: Record<string, string> = {}) =>
    LambdaProcess.start(workerFile, { ...world.lambdaEnv(shipped), ...extra });
  const scout = await start(scoutWorld);
  const processes = Object.fromEntries(
    await Promise.all(
      FOLLOWERS.map(async (name) => [
        name,
        await start(
          worlds[name],
          name === 'control' ? CONTROL_ENVIRONMENT : undefined,
        ),
      ]),
    ),
  ) as Record<Follower, LambdaProcess>;
  const bundles: Record<Follower, string> = {
    ours: shipped.bundle,
    control: shipped.bundle,
    floor: floorBundle,
    reference: referenceBundle,
  };
  await scout.load('fn', shipped.bundle);
  for (const name of FOLLOWERS) await processes[name].load('fn', bundles[name]);

  const side = (): WarmSide => ({
    latencies: [],
    kinds: [],
    firstEventMs: 0,
    maxRssMb: 0,
    logBytes: { ignored: 0, standalone: 0, retried: 0, duplicate: 0 },
    errors: 0,
  });
  const result = Object.fromEntries(
    FOLLOWERS.map((name) => [name, side()]),
  ) as Record<Follower, WarmSide>;
  const sequences = emptyByKind();
  const outcomes = emptyByKind();
  const callsAtStart = Object.fromEntries(
    FOLLOWERS.map((name) => [name, worlds[name].calls.length]),
  ) as Record<Follower, number>;
  const orders = permutations([...FOLLOWERS]);
  let divergedEvents = 0;

  for (const [i, { kind, event }] of plan.entries()) {
    const mark = scoutWorld.calls.length;
    await scout.invoke('fn', event);
    const calls: Call[] = scoutWorld.calls.slice(mark);
    const sequence = calls.map((c) => c.operation).join(' ');

    for (const name of orders[i % orders.length]) {
      const world = worlds[name];
      const before = world.calls.length;
      const input =
        name === 'floor'
          ? { calls: ids.floor.translate(calls) }
          : name === 'reference'
            ? { calls: asReferenceCalls(ids.reference.translate(calls)) }
            : ids[name].translate(event, false);
      const invocation: Invocation = await processes[name].invoke('fn', input);
      const made = world.calls
        .slice(before)
        .map((c) => c.operation)
        .join(' ');
      let errors: number;
      if (name === 'ours' || name === 'control') {
        errors = invocation.ok ? 0 : 1;
        if (made !== sequence) divergedEvents++;
      } else {
        errors =
          (invocation.result as { errors?: number } | undefined)?.errors ?? 1;
      }
      if (name === 'ours') {
        sequences[kind][made] = (sequences[kind][made] ?? 0) + 1;
        const outcome = describeOutcome(
          invocation.ok,
          invocation.result ?? invocation.error,
        );
        outcomes[kind][outcome] = (outcomes[kind][outcome] ?? 0) + 1;
      }
      const s = result[name];
      if (i === 0) s.firstEventMs = invocation.ms;
      s.errors += errors;
      if (i < WARMUP_EVENTS) continue;
      s.latencies.push(invocation.ms);
      s.kinds.push(kind);
      s.logBytes[kind] += invocation.logBytes;
    }
  }

  for (const name of FOLLOWERS) {
    result[name].maxRssMb = (await processes[name].stats()).maxRssMb;
  }
  await Promise.all([scout, ...Object.values(processes)].map((p) => p.stop()));

  const total = (w: World) =>
    [...w.retriesByBatch().values()].reduce((x, y) => x + y, 0);
  const callsOf = (name: Follower) =>
    worlds[name].calls.length - callsAtStart[name];
  const fidelity = {
    retriesOurs: total(worlds.ours),
    retriesFloor: total(worlds.floor),
    retriesReference: total(worlds.reference),
    itemsOurs: await worlds.ours.itemCount(),
    itemsFloor: await worlds.floor.itemCount(),
    callsOurs: callsOf('ours'),
    callsFloor: callsOf('floor'),
    callsReference: callsOf('reference'),
    divergedEvents,
    unmappedIds: FOLLOWERS.reduce((n, name) => n + ids[name].unmapped, 0),
  };
  await Promise.all([scoutWorld, ...twins].map((w) => w.stop()));
  return { ...result, sequences, outcomes, fidelity };
}

/** Every order of `items` (24 for four followers). */
export function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [
      item,
      ...rest,
    ]),
  );
}

function emptyByKind(): Record<WarmKind, Record<string, number>> {
  return { ignored: {}, standalone: {}, retried: {}, duplicate: {} };
}

/** `batch/retried`, `ignored/standalone-build`, `error/…`. */
export function describeOutcome(ok: boolean, value: unknown): string {
  if (!ok) return `error/${String(value)}`;
  const r = value as { kind?: string; outcome?: string; reason?: string };
  return `${r?.kind}/${r?.outcome ?? r?.reason ?? ''}`;
}

/**
 * Our calls as the reference handler takes them: DynamoDB inputs also in
 * document form (lib-dynamodb marshals them back, as it does for us), and
 * the Idempotency records' own calls marked, since the reference's
 * Powertools Idempotency writes its records itself.
 */
export function asReferenceCalls(calls: readonly Call[]) {
  return calls.map((call) => {
    if (call.service !== 'dynamodb') return call;
    const input = call.input as Record<string, unknown>;
    const key = (input.Key ?? input.Item) as
      | Record<string, { S?: string }>
      | undefined;
    const recordOfIdempotency =
      key?.id?.S?.startsWith(`${IDEMPOTENCY_KEY_PREFIX}#`) ?? false;
    return { ...call, document: toDocument(input), recordOfIdempotency };
  });
}

type Wire = Record<string, AttributeValue>;

/** A low-level DynamoDB input in lib-dynamodb's document form. */
function toDocument(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...input };
  for (const field of [
    'Key',
    'Item',
    'ExpressionAttributeValues',
    'ExclusiveStartKey',
  ]) {
    if (input[field]) out[field] = unmarshall(input[field] as Wire);
  }
  if (input.RequestItems) {
    out.RequestItems = Object.fromEntries(
      Object.entries(
        input.RequestItems as Record<string, { Keys: Wire[] }>,
      ).map(([table, request]) => [
        table,
        { ...request, Keys: request.Keys.map((k) => unmarshall(k)) },
      ]),
    );
  }
  return out;
}
