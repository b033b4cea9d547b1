// Warm cost: the shipped handler against one world, the floor against its
// twin, event by event in lock step. Before each floor event the bench
// reads which calls our handler just made (from the servers' logs) and
// hands exactly those, with the twin's ids, to the floor, which sends them
// with nothing in between. Both worlds start identical, so every replayed
// call has the same effect (the same writes succeed, the same retries
// happen) and the servers do the same work for both.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { IDEMPOTENCY_KEY_PREFIX } from './bundles.js';
import { LambdaProcess } from './lambda-process.js';
import { WARM_EVENTS, WARM_MIX, WARMUP_EVENTS } from './settings.js';
import type { Shipped } from './synth.js';
import { type Call, IdMap, World } from './world.js';

export type WarmKind = (typeof WARM_MIX)[number];

/** One side (ours or the floor) of the warm run. */
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

export interface Warm {
  readonly ours: WarmSide;
  readonly floor: WarmSide;
  /** The reference handler (see `referenceSource`), information. */
  readonly reference: WarmSide;
  /** Operation sequences our handler sent, per kind, with their counts. */
  readonly sequences: Record<WarmKind, Record<string, number>>;
  /** What our handler returned, per kind (`kind/outcome`), with counts. */
  readonly outcomes: Record<WarmKind, Record<string, number>>;
  /** Checks that the floor's world ended where ours did. */
  readonly fidelity: {
    readonly retriesOurs: number;
    readonly retriesFloor: number;
    readonly itemsOurs: number;
    readonly itemsFloor: number;
    readonly callsOurs: number;
    readonly callsFloor: number;
    readonly unmappedIds: number;
    readonly retriesReference: number;
    readonly callsReference: number;
  };
}

export async function measureWarm(
  shipped: Shipped,
  floorBundle: string,
  referenceBundle: string,
  workerFile: string,
): Promise<Warm> {
  const [a, b, c] = await Promise.all([
    World.start(),
    World.start(),
    World.start(),
  ]);
  const ids = new IdMap();
  const idsC = new IdMap();
  const plan: { kind: WarmKind; event: unknown }[] = [];
  let lastRetry: unknown;
  for (let i = 0; i < WARMUP_EVENTS + WARM_EVENTS; i++) {
    const kind = WARM_MIX[i % WARM_MIX.length];
    if (kind === 'duplicate') {
      plan.push({ kind, event: lastRetry });
      continue;
    }
    const made = a.event(kind);
    ids.pair(made.ids, b.event(kind).ids);
    idsC.pair(made.ids, c.event(kind).ids);
    if (kind === 'retried') lastRetry = made.event;
    plan.push({ kind, event: made.event });
  }

  const ours = await LambdaProcess.start(workerFile, a.lambdaEnv(shipped));
  const floor = await LambdaProcess.start(workerFile, b.lambdaEnv(shipped));
  const reference = await LambdaProcess.start(workerFile, c.lambdaEnv(shipped));
  await ours.load('fn', shipped.bundle);
  await floor.load('fn', floorBundle);
  await reference.load('fn', referenceBundle);

  const side = (): WarmSide => ({
    latencies: [],
    kinds: [],
    firstEventMs: 0,
    maxRssMb: 0,
    logBytes: { ignored: 0, standalone: 0, retried: 0, duplicate: 0 },
    errors: 0,
  });
  const result = { ours: side(), floor: side(), reference: side() };
  const sequences = emptyByKind();
  const outcomes = emptyByKind();
  const callsStartA = a.calls.length;
  const callsStartB = b.calls.length;
  const callsStartC = c.calls.length;

  for (const [i, { kind, event }] of plan.entries()) {
    const mark = a.calls.length;
    const mine = await ours.invoke('fn', event);
    const calls: Call[] = a.calls.slice(mark);
    const theirs = await floor.invoke('fn', { calls: ids.translate(calls) });
    const referenced = await reference.invoke('fn', {
      calls: asReferenceCalls(idsC.translate(calls)),
    });

    const sequence = calls.map((c) => c.operation).join(' ');
    sequences[kind][sequence] = (sequences[kind][sequence] ?? 0) + 1;
    const outcome = describeOutcome(mine.ok, mine.result ?? mine.error);
    outcomes[kind][outcome] = (outcomes[kind][outcome] ?? 0) + 1;
    for (const [s, invocation, errors] of [
      [result.ours, mine, mine.ok ? 0 : 1],
      [
        result.floor,
        theirs,
        (theirs.result as { errors?: number } | undefined)?.errors ?? 1,
      ],
      [
        result.reference,
        referenced,
        (referenced.result as { errors?: number } | undefined)?.errors ?? 1,
      ],
    ] as const) {
      if (i === 0) s.firstEventMs = invocation.ms;
      s.errors += errors;
      if (i < WARMUP_EVENTS) continue;
      s.latencies.push(invocation.ms);
      s.kinds.push(kind);
      s.logBytes[kind] += invocation.logBytes;
    }
  }

  const [oursStats, floorStats, referenceStats] = await Promise.all([
    ours.stats(),
    floor.stats(),
    reference.stats(),
  ]);
  result.ours.maxRssMb = oursStats.maxRssMb;
  result.floor.maxRssMb = floorStats.maxRssMb;
  result.reference.maxRssMb = referenceStats.maxRssMb;
  await Promise.all([ours.stop(), floor.stop(), reference.stop()]);

  const total = (w: World) =>
    [...w.retriesByBatch().values()].reduce((x, y) => x + y, 0);
  const fidelity = {
    retriesOurs: total(a),
    retriesFloor: total(b),
    itemsOurs: await a.itemCount(),
    itemsFloor: await b.itemCount(),
    callsOurs: a.calls.length - callsStartA,
    callsFloor: b.calls.length - callsStartB,
    unmappedIds: ids.unmapped + idsC.unmapped,
    retriesReference: total(c),
    callsReference: c.calls.length - callsStartC,
  };
  await Promise.all([a.stop(), b.stop(), c.stop()]);
  return { ...result, sequences, outcomes, fidelity };
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
