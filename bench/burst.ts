// Burst: failure events of many batches delivered at once while CodeBuild
// throttles. Lambda's asynchronous invocation is modelled: as many execution
// environments as the stack's concurrency allows (the default leaves it
// unreserved: one per event), each with its own SDK clients and retry quota
// and one event at a time; a failed invocation is retried twice (re-queued at
// once here; Lambda waits a minute or two), then dead-lettered; the next
// scheduled sweep follows.
import { SWEEP_INPUT } from '../lambda/contract.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../test/support/harness.js';
import { captureLogs } from '../test/support/logs.js';
import {
  ASYNC_RETRIES,
  BURST_EVENTS,
  BURST_LATENCY_MS,
  BURST_THROTTLE_RATE,
  FAULT_SEED,
  PROJECT,
} from './settings.js';
import { seededRandom } from './stats.js';

/** What the burst cost and whether every batch was retried exactly once. */
export interface Burst {
  /** From delivering the events until the last invocation returned. */
  readonly seconds: number;
  /** Batches retried by CodeBuild, after the events and the next sweep. */
  readonly retriesIssued: number;
  readonly expectedRetries: number;
  /** Of which issued while handling the events (before the sweep). */
  readonly retriesByEvents: number;
  /** Batches retried twice / not at all (must both be 0). */
  readonly overRetried: number;
  readonly missed: number;
  /** ThrottlingExceptions CodeBuild answered while the events drained. */
  readonly throttled: number;
  readonly codebuildCalls: number;
  readonly dynamodbCalls: number;
  readonly environments: number;
  /** Most invocations running at once (Lambda concurrency). */
  readonly peakConcurrency: number;
  readonly lambdaRetries: number;
  readonly deadLettered: number;
  readonly throttleRate: number;
  readonly latencyMs: number;
}

/**
 * Runs the burst with `reservedConcurrency` environments at most (0:
 * unreserved, one per event).
 *
 * @example
 * const burst = await measureBurst(0);
 * burst.retriesIssued === burst.expectedRetries;
 */
export async function measureBurst(
  reservedConcurrency: number,
): Promise<Burst> {
  const h = await startHarness();
  const cb = h.codebuild;
  cb.createProject(PROJECT);
  const queue = Array.from({ length: BURST_EVENTS }, () => {
    const batch = cb.startBatch(PROJECT, { groups: ['unit'] });
    const [child] = cb.currentBuilds(batch.arn);
    const event = cb.completeBuild(child.arn, 'FAILED');
    cb.settleBatch(batch.arn);
    return { event, attempts: 0 };
  });
  const environments =
    reservedConcurrency > 0
      ? Math.min(BURST_EVENTS, reservedConcurrency)
      : BURST_EVENTS;
  const idle: ReturnType<Harness['handler']>[] = Array.from(
    { length: environments },
    () => h.handler(),
  );
  const [sweeper] = idle;
  cb.setFaults({
    throttleRate: BURST_THROTTLE_RATE,
    latencyMs: BURST_LATENCY_MS,
    random: seededRandom(FAULT_SEED),
  });
  cb.resetLog();
  const dynamoMark = h.dynamo.requests.length;
  let inFlight = 0;
  let peakConcurrency = 0;
  let lambdaRetries = 0;
  let deadLettered = 0;
  const logs = captureLogs();
  const started = performance.now();
  try {
    await new Promise<void>((resolve) => {
      const pump = () => {
        if (queue.length === 0 && inFlight === 0) return resolve();
        while (queue.length > 0 && idle.length > 0) {
          const item = queue.shift();
          const handler = idle.pop();
          if (!item || !handler) break;
          inFlight++;
          peakConcurrency = Math.max(peakConcurrency, inFlight);
          const settled = (ok: boolean) => {
            inFlight--;
            idle.push(handler);
            if (!ok && item.attempts < ASYNC_RETRIES) {
              item.attempts++;
              lambdaRetries++;
              queue.push(item);
            } else if (!ok) {
              deadLettered++;
            }
            pump();
          };
          handler(item.event, lambdaContext()).then(
            () => settled(true),
            () => settled(false),
          );
        }
      };
      pump();
    });
  } finally {
    logs.restore();
  }
  const seconds = (performance.now() - started) / 1000;
  const throttled = cb.throttledCount;
  const codebuildCalls = cb.requests.length;
  const dynamodbCalls = h.dynamo.requests.length - dynamoMark;
  const retried = () =>
    cb.listBatches().map((b) => cb.retryCount(String(b.arn)));
  const retriesByEvents = retried().filter((n) => n > 0).length;

  // The next scheduled sweep, CodeBuild still throttling.
  const sweepLogs = captureLogs();
  await sweeper(SWEEP_INPUT, lambdaContext()).finally(sweepLogs.restore);
  const retries = retried();
  await h.stop();
  return {
    seconds,
    retriesIssued: retries.reduce((a, b) => a + b, 0),
    expectedRetries: BURST_EVENTS,
    retriesByEvents,
    overRetried: retries.filter((n) => n > 1).length,
    missed: retries.filter((n) => n === 0).length,
    throttled,
    codebuildCalls,
    dynamodbCalls,
    environments,
    peakConcurrency,
    lambdaRetries,
    deadLettered,
    throttleRate: BURST_THROTTLE_RATE,
    latencyMs: BURST_LATENCY_MS,
  };
}
