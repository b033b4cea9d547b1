import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SIM_EPOCH, SimClock } from '../../sim/clock.js';
import {
  type CrashPlan,
  type DeadLetter,
  type InvocationRecord,
  LambdaRuntime,
} from '../../sim/lambda-runtime.js';
import { type CrashPoint, Network } from '../../sim/network.js';
import { Random } from '../../sim/random.js';
import { Scheduler } from '../../sim/scheduler.js';
import type { Deployment } from '../../tools/local-aws/deployment.js';

const CODE = fileURLToPath(new URL('./fixtures/handler/', import.meta.url));

function deployment(
  overrides: {
    reservedConcurrency?: number;
    maximumRetryAttempts?: number;
    maximumEventAgeSeconds?: number;
  } = {},
): Deployment {
  return {
    stackName: 'Test',
    environment: {
      stackName: 'Test',
      account: '111122223333',
      region: 'eu-west-1',
      partition: 'aws',
    },
    parameters: {},
    fn: {
      logicalId: 'Fn',
      name: 'test-fn',
      arn: 'arn:aws:lambda:eu-west-1:111122223333:function:test-fn',
      handler: 'index.handler',
      runtime: 'nodejs24.x',
      timeoutSeconds: 120,
      memoryMb: 256,
      environment: { TABLE_NAME: 'the-table' },
      reservedConcurrency: overrides.reservedConcurrency,
      codeDirectory: CODE,
      logGroupName: '/aws/lambda/test-fn',
    },
    asyncInvoke: {
      maximumRetryAttempts: overrides.maximumRetryAttempts ?? 2,
      maximumEventAgeSeconds: overrides.maximumEventAgeSeconds ?? 3600,
    },
    rules: [],
    queues: [],
    eventSources: [],
    table: {
      logicalId: 'T',
      name: 't',
      attributeDefinitions: [],
      keySchema: [],
      globalSecondaryIndexes: [],
      billingMode: 'PAY_PER_REQUEST',
    },
  };
}

interface Rig {
  clock: SimClock;
  scheduler: Scheduler;
  runtime: LambdaRuntime;
  records: InvocationRecord[];
  dead: DeadLetter[];
  upstreamCalls: string[];
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function rig(
  options: Parameters<typeof deployment>[0] & {
    crashPlan?: CrashPlan;
    timerScale?: number;
  } = {},
): Promise<Rig> {
  const upstreamCalls: string[] = [];
  const upstream: Server = createServer((req, res) => {
    upstreamCalls.push(String(req.headers['x-amz-target']));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end('{}');
    });
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const clock = new SimClock(SIM_EPOCH);
  const scheduler = new Scheduler(clock);
  const network = new Network({
    codebuildEndpoint: url,
    logsEndpoint: url,
    dynamodbEndpoint: url,
    sqsEndpoint: url,
    eventsEndpoint: url,
    random: new Random(1),
  });
  const records: InvocationRecord[] = [];
  const dead: DeadLetter[] = [];
  const runtime = new LambdaRuntime({
    deployment: deployment(options),
    clock,
    scheduler,
    network,
    random: new Random(1),
    accountConcurrency: 4,
    baseEnvironment: { AWS_REGION: 'eu-west-1' },
    timerScale: options.timerScale ?? 1,
    crashPlan: options.crashPlan,
    onInvocation: (r) => records.push(r),
    onDeadLetter: (d) => dead.push(d),
  });
  cleanups.push(async () => {
    await runtime.close();
    await network.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });
  return { clock, scheduler, runtime, records, dead, upstreamCalls };
}

describe('LambdaRuntime', () => {
  it('runs the handler with simulated time and a deadline from the timeout', async () => {
    const r = await rig();
    r.clock.set(SIM_EPOCH + 42_000);
    r.runtime.invokeAsync({ mode: 'ok' });
    await r.scheduler.runUntil(SIM_EPOCH + 60_000);
    const [record] = r.records;
    expect(record?.outcome).toBe('ok');
    const result = record?.result as Record<string, unknown>;
    expect(result.now).toBe(SIM_EPOCH + 42_000);
    expect(result.date).toBe(new Date(SIM_EPOCH + 42_000).toISOString());
    expect(result.remaining).toBe(120_000);
    expect(result.table).toBe('the-table');
    expect(result.functionName).toBe('test-fn');
    expect(String(result.endpoint)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(result.requestId).toBe(record?.requestId);
    expect(record?.coldStart).toBe(true);
  });

  it('reuses a warm environment', async () => {
    const r = await rig();
    r.runtime.invokeAsync({ mode: 'ok' });
    await r.scheduler.runUntil(SIM_EPOCH);
    r.runtime.invokeAsync({ mode: 'ok' });
    await r.scheduler.runUntil(SIM_EPOCH);
    expect(r.records.map((x) => x.coldStart)).toEqual([true, false]);
    expect(
      r.records.map((x) => (x.result as { invocations: number }).invocations),
    ).toEqual([1, 2]);
  });

  it('freezes what a handler leaves running until the next invocation', async () => {
    const r = await rig();
    r.runtime.invokeAsync({ mode: 'leave' });
    await r.scheduler.runUntil(SIM_EPOCH);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.upstreamCalls).toEqual([]);
    r.clock.set(SIM_EPOCH + 600_000);
    // The stale work runs only while the environment is thawed, that is
    // while this (slower) invocation runs.
    r.runtime.invokeAsync({ mode: 'sleep', ms: 300 });
    await r.scheduler.runUntil(SIM_EPOCH + 600_000);
    // Resumed ten simulated minutes later, seeing that time.
    expect(r.upstreamCalls).toEqual([
      `CodeBuild_20161006.LeftBehind${SIM_EPOCH + 600_000}`,
    ]);
  });

  it('reclaims environments idle for too long', async () => {
    const r = await rig();
    r.runtime.invokeAsync({ mode: 'ok' });
    await r.scheduler.runUntil(SIM_EPOCH);
    r.clock.set(SIM_EPOCH + 31 * 60_000);
    r.runtime.invokeAsync({ mode: 'ok' });
    await r.scheduler.runUntil(SIM_EPOCH + 31 * 60_000);
    expect(r.records.map((x) => x.coldStart)).toEqual([true, true]);
    expect(r.runtime.stats.reclaimed).toBe(1);
  });

  it('retries a failing event after 1 and 2 minutes, then dead-letters it', async () => {
    const r = await rig();
    r.runtime.invokeAsync({ mode: 'fail', n: 7 });
    await r.scheduler.runUntil(SIM_EPOCH + 3_600_000);
    expect(r.records.map((x) => x.startedAt - SIM_EPOCH)).toEqual([
      0, 60_000, 180_000,
    ]);
    expect(r.records.every((x) => x.outcome === 'error')).toBe(true);
    expect(r.dead).toHaveLength(1);
    expect(r.dead[0]).toMatchObject({
      requestContext: {
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        functionArn:
          'arn:aws:lambda:eu-west-1:111122223333:function:test-fn:$LATEST',
      },
      requestPayload: { mode: 'fail', n: 7 },
      responsePayload: { errorType: 'TypeError', errorMessage: 'failing 7' },
    });
    expect(r.runtime.outstanding).toBe(0);
  });

  it('discards events older than the maximum event age', async () => {
    const r = await rig({ maximumEventAgeSeconds: 100 });
    r.runtime.invokeAsync({ mode: 'fail' });
    await r.scheduler.runUntil(SIM_EPOCH + 3_600_000);
    expect(r.records).toHaveLength(2);
    expect(r.dead[0]?.requestContext).toMatchObject({
      condition: 'EventAgeExceeded',
      approximateInvokeCount: 2,
    });
  });

  it('caps concurrency at the reserved concurrency and throttles the rest', async () => {
    const r = await rig({ reservedConcurrency: 2 });
    for (let i = 0; i < 5; i++) {
      r.runtime.invokeAsync({ mode: 'sleep', ms: 50 });
    }
    await r.scheduler.runUntil(SIM_EPOCH + 600_000);
    expect(r.records).toHaveLength(5);
    expect(r.records.every((x) => x.outcome === 'ok')).toBe(true);
    expect(r.runtime.stats.maxConcurrency).toBe(2);
    expect(r.runtime.stats.throttled).toBeGreaterThan(0);
    // Throttled events wait 1 s, then 2 s...
    expect(Math.max(...r.records.map((x) => x.startedAt - SIM_EPOCH))).toBe(
      1_000 + 2_000,
    );
  });

  /** Runs one RetryBuildBatch call whose first attempt is killed at `point`. */
  async function killedAt(point: CrashPoint): Promise<Rig> {
    const r = await rig({
      crashPlan: ({ attempt }) =>
        attempt === 1 ? (reached) => reached === point : undefined,
    });
    r.runtime.invokeAsync({ mode: 'call', operation: 'RetryBuildBatch' });
    await r.scheduler.runUntil(SIM_EPOCH + 3_600_000);
    expect(r.records.map((x) => x.outcome)).toEqual(['killed', 'ok']);
    return r;
  }

  it('kills an environment at a crash point; the retry runs in a new one', async () => {
    const r = await killedAt('before-retry-call');
    expect(r.records[0]).toMatchObject({
      crashPoint: 'before-retry-call',
      error: { errorType: 'Runtime.ExitError' },
    });
    expect(r.records[1]?.coldStart).toBe(true);
    expect(r.records[1]?.startedAt).toBe(SIM_EPOCH + 60_000);
    // Killed before the request left: only the retry reached the service.
    expect(r.upstreamCalls).toEqual(['CodeBuild_20161006.RetryBuildBatch']);
  });

  it('during-retry-call lets the service act, then kills before the answer', async () => {
    const r = await killedAt('during-retry-call');
    expect(r.upstreamCalls).toHaveLength(2);
  });
});
