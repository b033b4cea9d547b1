// Workloads on the function wired to the CodeBuild emulator and dynalite
// (the test harness), with remote calls counted from the servers' request
// logs and the function's logs swallowed.
import { SQSClient } from '@aws-sdk/client-sqs';
import { RECHECK, SWEEP_INPUT } from '../lambda/contract.js';
import { captureLogs } from '../tools/local-aws/capture-logs.js';
import { lambdaContext, startHarness } from '../tools/local-aws/harness.js';
import { SqsEventSource } from '../tools/local-aws/sqs/event-source.js';
import * as settings from './settings.js';
import { round } from './stats.js';

const TWO_DAYS_MS = 48 * 3_600_000;

/**
 * A fresh account with one one-build batch per status, oldest first; those
 * `old` ended two days ago (CodeBuild's clock moves back to stage them).
 */
async function account(statuses: string[], old = (_: number) => false) {
  const h = await startHarness();
  const cb = h.codebuild;
  cb.createProject(settings.PROJECT);
  const events = statuses.map((status, i) => {
    const shift = old(i) ? TWO_DAYS_MS : 0;
    h.clock.shift(-shift);
    const batch = cb.startBatch(settings.PROJECT, { groups: ['unit'] });
    const [build] = cb.currentBuilds(batch.arn);
    const event = cb.completeBuild(build.arn, status as 'FAILED');
    cb.settleBatch(batch.arn);
    h.clock.shift(shift);
    return event;
  });
  return {
    h,
    events,
    /** Requests both servers received so far. */
    calls: () => cb.requests.length + h.dynamo.requests.length,
    /** RetryBuildBatch calls that really retried, per batch, oldest first. */
    retries: () => cb.listBatches().map((b) => cb.retryCount(String(b.arn))),
  };
}

/** Runs `work` with the function's logs swallowed; its duration in ms. */
async function quietly(work: () => Promise<unknown>): Promise<number> {
  const logs = captureLogs();
  const started = performance.now();
  await work().finally(logs.restore);
  return performance.now() - started;
}

/** One sweep: remote calls, ms, batches retried in / before the window. */
export type SweepRun = Awaited<ReturnType<typeof measureSweep>>;

/**
 * Sweeps once an account of `batches`: the oldest `failedBeforeWindow` failed
 * two days ago (outside the default 24 h lookback), the newest
 * `failedInWindow` just now, the rest succeeded.
 *
 * @example
 * const run = await measureSweep({ batches: 10, failedInWindow: 1, failedBeforeWindow: 2 });
 */
export async function measureSweep(seed: {
  readonly batches: number;
  readonly failedInWindow: number;
  readonly failedBeforeWindow: number;
}) {
  const { batches, failedInWindow, failedBeforeWindow } = seed;
  const old = (i: number) => i < failedBeforeWindow;
  const statuses = Array.from({ length: batches }, (_, i) =>
    old(i) || i >= batches - failedInWindow ? 'FAILED' : 'SUCCEEDED',
  );
  const a = await account(statuses, old);
  const before = a.calls();
  const handler = a.h.handler();
  const ms = await quietly(() => handler(SWEEP_INPUT, lambdaContext()));
  const retried = a.retries().map((n) => n > 0);
  await a.h.stop();
  return {
    ...seed,
    calls: a.calls() - before,
    ms: Math.round(ms),
    retried: retried.filter(Boolean).length,
    retriedBeforeWindow: retried.filter((r, i) => r && old(i)).length,
  };
}

/** What the burst cost and whether every batch was retried exactly once. */
export type Burst = Awaited<ReturnType<typeof measureBurst>>;

/**
 * Failure events of many batches at once while CodeBuild throttles, under
 * Lambda's asynchronous invocation: as many execution environments as the
 * concurrency allows (`reservedConcurrency` 0: unreserved, one per event),
 * each with its own SDK clients and one event at a time; a failed invocation
 * is retried twice (at once here; Lambda waits a minute or two), then
 * dead-lettered. The next scheduled sweep follows.
 *
 * @example
 * const { retriesIssued, events } = await measureBurst(0);
 */
export async function measureBurst(reservedConcurrency: number) {
  const events = settings.BURST_EVENTS;
  const a = await account(Array(events).fill('FAILED'));
  const environments = Math.min(events, reservedConcurrency || events);
  const handlers = Array.from({ length: environments }, () => a.h.handler());
  // Evenly spread, repeatable draws: the same calls are throttled every run.
  let draw = 0;
  const random = () => (draw = (draw + 0.618034) % 1);
  a.h.codebuild.setFaults({ ...settings.BURST_FAULTS, random });
  const before = a.calls();
  let [lambdaRetries, deadLettered] = [0, 0];
  const drain = async (handler: (typeof handlers)[number]) => {
    for (let event = a.events.pop(); event; event = a.events.pop()) {
      for (let attempt = 0; ; attempt++) {
        const ok = await handler(event, lambdaContext()).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (attempt === settings.ASYNC_RETRIES) {
          deadLettered++;
          break;
        }
        lambdaRetries++;
      }
    }
  };
  const ms = await quietly(() => Promise.all(handlers.map(drain)));
  const throttled = a.h.codebuild.throttledCount;
  const calls = a.calls() - before;
  const retriesByEvents = a.retries().filter((n) => n > 0).length;
  // The next scheduled sweep, CodeBuild still throttling.
  await quietly(() => handlers[0](SWEEP_INPUT, lambdaContext()));
  const retries = a.retries();
  await a.h.stop();
  return {
    events,
    ...settings.BURST_FAULTS,
    environments,
    seconds: round(ms / 1000, 2),
    /** Batches retried, after the events and the sweep: must be `events`. */
    retriesIssued: retries.reduce((x, y) => x + y, 0),
    retriesByEvents,
    /** Batches retried twice / not at all: must both be 0. */
    overRetried: retries.filter((n) => n > 1).length,
    missed: retries.filter((n) => n === 0).length,
    throttled,
    calls,
    lambdaRetries,
    deadLettered,
  };
}

/** CodeBuild calls per healthy child build's event and per re-check. */
export type QueueCalls = Awaited<ReturnType<typeof measureQueueCalls>>;

/**
 * The CodeBuild calls the function makes for healthy child builds' events
 * (of `settings.QUEUE_HEALTHY_BATCHES` unwatched two-build batches, and the
 * siblings of a failed build) and per re-check message of a watched batch:
 * its failed build starts a backstop chain, a re-check finds it running,
 * its last sibling starts a settle chain, a re-check finds it running, it
 * settles FAILED, and the queue is drained (messages one per invocation,
 * the clocks of CodeBuild and SQS moved on to each delay).
 */
export async function measureQueueCalls() {
  const h = await startHarness();
  const cb = h.codebuild;
  cb.createProject(settings.PROJECT);
  const handler = h.handler({}, { now: h.clock.now });
  const source = new SqsEventSource({
    client: new SQSClient({}),
    queueUrl: h.recheckQueueUrl,
    batchSize: 1,
    handler: (event) => handler(event, lambdaContext()),
  });
  const healthy = { builds: 0, calls: 0 };
  const rechecks = {
    messages: 0,
    calls: 0,
    reads: 0,
    byMessage: [] as number[],
  };
  /** The CodeBuild requests `work` made. */
  const requestsOf = async (work: () => Promise<unknown>) => {
    const before = cb.requests.length;
    await quietly(work);
    return cb.requests.slice(before);
  };
  const ended = async (buildArn: string, status: 'SUCCEEDED' | 'FAILED') => {
    const event = cb.completeBuild(buildArn, status);
    const calls = await requestsOf(() => handler(event, lambdaContext()));
    if (status === 'SUCCEEDED') {
      healthy.builds++;
      healthy.calls += calls.length;
    }
  };
  const recheck = async (afterSeconds: number) => {
    h.clock.shift(afterSeconds * 1000);
    for (;;) {
      let made: unknown;
      const calls = await requestsOf(async () => (made = await source.poll()));
      if (!made) return;
      rechecks.messages++;
      rechecks.calls += calls.length;
      rechecks.reads += calls.filter(
        (r) => r.operation === 'BatchGetBuildBatches',
      ).length;
      rechecks.byMessage.push(calls.length);
    }
  };
  for (let i = 0; i < settings.QUEUE_HEALTHY_BATCHES; i++) {
    const batch = cb.startBatch(settings.PROJECT, { groups: ['unit', 'lint'] });
    for (const build of cb.currentBuilds(batch.arn)) {
      await ended(build.arn, 'SUCCEEDED');
    }
    cb.settleBatch(batch.arn);
  }
  const groups = ['build', 'unit', 'e2e'];
  const watched = cb.startBatch(settings.PROJECT, { groups });
  const [failed, ...siblings] = cb.currentBuilds(watched.arn);
  await ended(failed.arn, 'FAILED');
  await recheck(RECHECK.backstopSeconds);
  for (const build of siblings) await ended(build.arn, 'SUCCEEDED');
  await recheck(RECHECK.settleSeconds[0]);
  cb.settleBatch(watched.arn);
  for (const delay of [RECHECK.settleSeconds[1], RECHECK.followSeconds]) {
    await recheck(delay);
  }
  await h.stop();
  return {
    healthyBuilds: healthy.builds,
    codebuildCallsPerHealthyBuild: round(healthy.calls / healthy.builds, 3),
    rechecks: rechecks.messages,
    /** CodeBuild calls of each re-check, in order (the retry included). */
    codebuildCallsByRecheck: rechecks.byMessage,
    /** Reads of the batch (BatchGetBuildBatches) per re-check message. */
    codebuildReadsPerRecheck: round(rechecks.reads / rechecks.messages, 3),
    /** Every CodeBuild call per re-check, the retry's own included. */
    codebuildCallsPerRecheck: round(rechecks.calls / rechecks.messages, 3),
    retried: cb.retryCount(watched.arn),
  };
}
