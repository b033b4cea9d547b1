/**
 * Malformed input: events generated with fast-check, each broken in one way
 * the function must refuse (a missing or mistyped field, a bad ARN, a
 * project mismatch, an oversized payload, not an object at all...), and each
 * carrying a secret in its environment variables. They go through the bus
 * (the rule's pattern) to the function; those the pattern filters out are
 * invoked directly, as any other caller could. Every one must be rejected
 * with a logged reason, without a single CodeBuild call, and without the
 * secret in any log line.
 */
import fc from 'fast-check';
import { resolveDeployment } from '../tools/local-aws/deployment.js';
import { createTable } from '../tools/local-aws/dynamo.js';
import {
  ACCOUNT,
  functionEnvironment,
  REGION,
} from '../tools/local-aws/environment.js';
import { startLocalAws } from '../tools/local-aws/local-aws.js';
import type { Assembly } from '../tools/local-aws/synth.js';
import { EventBus } from './bus.js';
import { SIM_EPOCH, SimClock } from './clock.js';
import { logRecords } from './explain.js';
import { type InvocationRecord, LambdaRuntime } from './lambda-runtime.js';
import { type CallRecord, Network } from './network.js';
import { Random } from './random.js';
import { Scheduler } from './scheduler.js';
import type { SimulationResult } from './simulation.js';

/** What `--malformed` reports. */
export interface MalformedReport {
  readonly seed: number;
  readonly generated: number;
  /** By what was broken. */
  readonly kinds: Readonly<Record<string, number>>;
  readonly matchedByRule: number;
  readonly invocations: number;
  /** Rejected (result `rejected`) with a `Rejected invalid event` log line and a reason. */
  readonly rejectedWithReason: number;
  readonly notRejected: number;
  readonly codebuildCalls: number;
  readonly dynamodbCalls: number;
  readonly secretLeaks: number;
  readonly topReasons: readonly { reason: string; count: number }[];
  readonly ok: boolean;
}

const PROJECT = 'web-app';
const BUILD_ARN = `arn:aws:codebuild:${REGION}:${ACCOUNT}:build/${PROJECT}:6f1d2c3b-8a9e-4f70-b2d4-0c5e7a9b1d22`;
const TERMINAL = ['SUCCEEDED', 'FAILED', 'FAULT', 'STOPPED', 'TIMED_OUT'];
const BUILD_ARN_PATTERN =
  /^arn:aws(?:-[a-z]+)*:codebuild:[a-z0-9-]+:\d{12}:build\/[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[A-Za-z0-9-]{1,128}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;

/** A well-formed Build State Change event carrying `secret`. */
export function validEvent(secret: string): Record<string, unknown> {
  return {
    version: '0',
    id: '3f2c9a71-5b0e-4d7a-9c11-7e2b8f4a6d01',
    'detail-type': 'CodeBuild Build State Change',
    source: 'aws.codebuild',
    account: ACCOUNT,
    time: '2026-11-20T09:41:07Z',
    region: REGION,
    resources: [BUILD_ARN],
    detail: {
      'build-status': 'FAILED',
      'project-name': PROJECT,
      'build-id': BUILD_ARN,
      'additional-information': {
        environment: {
          image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
          type: 'LINUX_CONTAINER',
          'environment-variables': [
            { name: 'NPM_TOKEN', type: 'PLAINTEXT', value: secret },
          ],
        },
        'build-complete': true,
      },
      'current-phase': 'COMPLETED',
      version: '1',
    },
  };
}

type Mutant = { readonly kind: string; readonly event: unknown };
type Json = Record<string, unknown>;

const detailOf = (event: Json) => event.detail as Json;

/** Values of any JSON type except `type`. */
function notA(type: 'string' | 'array' | 'object'): fc.Arbitrary<unknown> {
  const all: fc.Arbitrary<unknown>[] = [
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
  ];
  if (type !== 'string') all.push(fc.string());
  if (type !== 'array') all.push(fc.array(fc.integer(), { maxLength: 3 }));
  if (type !== 'object') all.push(fc.dictionary(fc.string(), fc.integer()));
  return fc.oneof(...all);
}

/**
 * Malformed events: one broken thing each, with `secret` in the
 * environment variables wherever the event still has them.
 */
export function malformedEvents(secret: string): fc.Arbitrary<Mutant> {
  const base = () => validEvent(secret);
  const withTop = (kind: string, key: string, value: fc.Arbitrary<unknown>) =>
    value.map((v) => {
      const event = base();
      event[key] = v;
      return { kind, event };
    });
  const withDetail = (
    kind: string,
    key: string,
    value: fc.Arbitrary<unknown>,
  ) =>
    value.map((v) => {
      const event = base();
      detailOf(event)[key] = v;
      return { kind, event };
    });
  const required = [
    'version',
    'id',
    'account',
    'time',
    'region',
    'resources',
    'source',
    'detail-type',
    'detail',
  ];
  const requiredDetail = ['build-status', 'project-name', 'build-id'];

  return fc.oneof(
    fc.constantFrom(...required).map((key) => {
      const event = base();
      delete event[key];
      return { kind: `missing ${key}`, event };
    }),
    fc.constantFrom(...requiredDetail).map((key) => {
      const event = base();
      delete detailOf(event)[key];
      return { kind: `missing detail.${key}`, event };
    }),
    fc
      .tuple(
        fc.constantFrom(
          'version',
          'id',
          'account',
          'time',
          'region',
          'source',
          'detail-type',
        ),
        notA('string'),
      )
      .map(([key, value]) => {
        const event = base();
        event[key] = value;
        return { kind: `${key} not a string`, event };
      }),
    withTop('resources not a list', 'resources', notA('array')),
    withTop('detail not an object', 'detail', notA('object')),
    fc
      .tuple(fc.constantFrom(...requiredDetail), notA('string'))
      .map(([key, value]) => {
        const event = base();
        detailOf(event)[key] = value;
        return { kind: `detail.${key} not a string`, event };
      }),
    withTop(
      'account not 12 digits',
      'account',
      fc.string().filter((s) => !/^\d{12}$/.test(s)),
    ),
    withTop(
      'time not ISO 8601',
      'time',
      fc.string().filter((s) => !ISO_DATETIME.test(s)),
    ),
    withTop('empty id', 'id', fc.constant('')),
    withDetail(
      'build-status not terminal',
      'build-status',
      fc.oneof(
        fc.constantFrom('IN_PROGRESS', 'failed', 'Succeeded', ''),
        fc.string().filter((s) => !TERMINAL.includes(s)),
      ),
    ),
    withDetail(
      'build-id not a build ARN',
      'build-id',
      fc.oneof(
        fc.string().filter((s) => !BUILD_ARN_PATTERN.test(s)),
        fc.constant(BUILD_ARN.replace(':build/', ':build-batch/')),
        fc.constant(BUILD_ARN.replace(':codebuild:', ':codepipeline:')),
        fc.constant(BUILD_ARN.replace(ACCOUNT, '1234')),
        fc.constant(`${BUILD_ARN} `),
      ),
    ),
    withDetail(
      'project-name does not match build-id',
      'project-name',
      fc
        .stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{1,20}$/)
        .filter((s) => s !== PROJECT),
    ),
    withDetail(
      'project-name length',
      'project-name',
      fc.oneof(fc.constant('w'), fc.constant('w'.repeat(300))),
    ),
    withTop(
      'other source',
      'source',
      fc.string().filter((s) => s !== 'aws.codebuild' && s !== 'aws.events'),
    ),
    withTop(
      'other detail-type',
      'detail-type',
      fc.oneof(
        fc.constant('CodeBuild Build Phase Change'),
        fc.string().filter((s) => s !== 'CodeBuild Build State Change'),
      ),
    ),
    fc.integer({ min: 270_000, max: 400_000 }).map((size) => {
      const event = base();
      detailOf(event).padding = 'x'.repeat(size);
      return { kind: 'over 256 KiB', event };
    }),
    fc
      .oneof(
        fc.constant(null),
        fc.string(),
        fc.integer(),
        fc.boolean(),
        fc.array(fc.constant(base())),
      )
      .map((event) => ({ kind: 'not an object', event })),
    fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }).map((extra) => ({
      kind: 'sweep input with extra keys',
      event: { kind: 'sweep', ...extra, [`x-${Object.keys(extra).length}`]: 1 },
    })),
    fc.constantFrom('id', 'time', 'account').map((key) => {
      const event: Json = {
        version: '0',
        id: 'a3f1c2d4-0000-4000-8000-000000000000',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: ACCOUNT,
        time: '2026-11-20T09:40:00Z',
        region: REGION,
        resources: [],
        detail: {},
      };
      delete event[key];
      return { kind: `scheduled event without ${key}`, event };
    }),
    fc
      .dictionary(
        fc.string().filter((k) => k !== 'source' && k !== 'kind'),
        fc.jsonValue(),
      )
      .map((event) => ({ kind: 'arbitrary object', event })),
  );
}

/**
 * Feeds `count` malformed events through the bus and the function.
 *
 * @example
 * const report = await runMalformed({ assembly, count: 300, seed: 1 });
 */
export async function runMalformed(options: {
  readonly assembly: Assembly;
  readonly count: number;
  readonly seed: number;
}): Promise<MalformedReport> {
  const secret = `sk-malformed-${new Random(options.seed).int(1e8, 9e8)}`;
  const mutants = fc.sample(malformedEvents(secret), {
    numRuns: options.count,
    seed: options.seed,
  });
  const random = new Random(options.seed);
  const clock = new SimClock(SIM_EPOCH);
  const scheduler = new Scheduler(clock);
  const services = await startLocalAws({ now: clock.now, tables: [] });
  const calls: CallRecord[] = [];
  const invocations: InvocationRecord[] = [];
  const logs: { stack: string; line: string }[] = [];
  const deployment = resolveDeployment(options.assembly);
  const network = new Network({
    codebuildEndpoint: services.codebuild.endpoint,
    dynamodbEndpoint: services.dynamo.endpoint,
    random: random.fork('network'),
    onCall: (call) => calls.push(call),
  });
  const runtime = new LambdaRuntime({
    deployment,
    clock,
    scheduler,
    network,
    random: random.fork('lambda'),
    accountConcurrency: 4,
    baseEnvironment: functionEnvironment(),
    onInvocation: (r) => invocations.push(r),
    onLog: (line) => logs.push({ stack: deployment.stackName, line }),
  });
  try {
    await createTable(services.dynamo.client, deployment.table);
    const bus = new EventBus(clock, scheduler, random.fork('bus'));
    // The event rule only: the schedule would make CodeBuild calls of its own.
    bus.subscribe(
      deployment.rules.filter((r) => r.eventPattern),
      runtime,
      deployment.environment,
    );
    const kinds: Record<string, number> = {};
    let matched = 0;
    for (const [i, mutant] of mutants.entries()) {
      kinds[mutant.kind] = (kinds[mutant.kind] ?? 0) + 1;
      scheduler.at(clock.now() + i * 1000, 'malformed', () => {
        const event = mutant.event;
        const viaRule =
          event !== null && typeof event === 'object' && !Array.isArray(event)
            ? bus.put(event as Json)
            : 0;
        if (viaRule > 0) matched++;
        else runtime.invokeAsync(event, 'direct');
      });
    }
    await scheduler.runUntil(clock.now() + 24 * 3_600_000);
    await runtime.close();

    const fake = { logs, invocations } as unknown as SimulationResult;
    const rejections = new Map<string, string>();
    for (const record of logRecords(fake)) {
      if (
        record.message === 'Rejected invalid event' &&
        typeof record.reason === 'string' &&
        record.reason.length > 0
      ) {
        rejections.set(String(record.function_request_id), record.reason);
      }
    }
    const reasons: Record<string, number> = {};
    let rejected = 0;
    for (const r of invocations) {
      const result = r.result as { kind?: string } | undefined;
      const reason = rejections.get(r.requestId);
      if (r.outcome === 'ok' && result?.kind === 'rejected' && reason) {
        rejected++;
        const key = reason.replace(/\d{3,}/g, 'N');
        reasons[key] = (reasons[key] ?? 0) + 1;
      }
    }
    const firstAttempts = invocations.filter((r) => r.attempt === 1).length;
    const codebuildCalls = calls.filter(
      (c) => c.service === 'codebuild',
    ).length;
    const leaks = logs.filter((l) => l.line.includes(secret)).length;
    return {
      seed: options.seed,
      generated: mutants.length,
      kinds,
      matchedByRule: matched,
      invocations: invocations.length,
      rejectedWithReason: rejected,
      notRejected: firstAttempts - rejected,
      codebuildCalls,
      dynamodbCalls: calls.filter((c) => c.service === 'dynamodb').length,
      secretLeaks: leaks,
      topReasons: Object.entries(reasons)
        .sort(([, a], [, b]) => b - a)
        .slice(0, 12)
        .map(([reason, count]) => ({ reason, count })),
      ok:
        rejected === mutants.length &&
        invocations.length === mutants.length &&
        codebuildCalls === 0 &&
        leaks === 0,
    };
  } finally {
    await runtime.close().catch(() => undefined);
    await network.close();
    await services.stop();
  }
}
