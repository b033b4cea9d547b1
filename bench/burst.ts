// Burst: failure events of many batches delivered at once while CodeBuild
// throttles. Lambda's asynchronous invocation is modelled: as many execution
// environments as the stack's concurrency allows (the default leaves it
// unreserved: one per event), one event per environment at a time, a failed
// invocation retried twice (re-queued at once here; Lambda waits a minute or
// two), then the dead-letter queue; the next scheduled sweep follows.
import { LambdaProcess } from './lambda-process.js';
import {
  ASYNC_RETRIES,
  BURST_EVENTS,
  BURST_LATENCY_MS,
  BURST_THROTTLE_RATE,
  FAULT_SEED,
} from './settings.js';
import { seededRandom } from './stats.js';
import type { Shipped } from './synth.js';
import { World } from './world.js';

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
  /** Most invocations running at once (Lambda concurrency). */
  readonly peakConcurrency: number;
  /** Most CodeBuild requests in flight at once. */
  readonly peakCodeBuildInFlight: number;
  readonly environments: number;
  readonly lambdaRetries: number;
  readonly deadLettered: number;
  readonly sweepSeconds: number;
  readonly sweepThrottled: number;
  readonly throttleRate: number;
  readonly latencyMs: number;
  /** Time to create the environments beforehand (not in `seconds`). */
  readonly environmentsLoadSeconds: number;
  readonly maxRssMb: number;
}

export async function measureBurst(
  shipped: Shipped,
  workerFile: string,
): Promise<Burst> {
  const world = await World.start();
  const events = Array.from(
    { length: BURST_EVENTS },
    () => world.event('retried').event,
  );
  const environments =
    shipped.reservedConcurrency > 0
      ? Math.min(BURST_EVENTS, shipped.reservedConcurrency)
      : BURST_EVENTS;
  const lambda = await LambdaProcess.start(
    workerFile,
    world.lambdaEnv(shipped),
  );
  const loadStarted = performance.now();
  const idle: string[] = [];
  for (let i = 0; i < environments; i++) {
    await lambda.load(`env-${i}`, shipped.bundle);
    idle.push(`env-${i}`);
  }
  const environmentsLoadSeconds = (performance.now() - loadStarted) / 1000;

  world.codebuild.setFaults({
    throttleRate: BURST_THROTTLE_RATE,
    latencyMs: BURST_LATENCY_MS,
    random: seededRandom(FAULT_SEED),
  });
  world.codebuild.resetLog();
  world.resetPeak();
  const mark = world.calls.length;
  const queue = events.map((event) => ({ event, attempts: 0 }));
  let inFlight = 0;
  let peakConcurrency = 0;
  let lambdaRetries = 0;
  let deadLettered = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (queue.length === 0 && inFlight === 0) return resolve();
      while (queue.length > 0 && idle.length > 0) {
        const item = queue.shift();
        const key = idle.pop();
        if (!item || !key) break;
        inFlight++;
        peakConcurrency = Math.max(peakConcurrency, inFlight);
        lambda.invoke(key, item.event).then((invocation) => {
          inFlight--;
          idle.push(key);
          if (!invocation.ok) {
            if (item.attempts < ASYNC_RETRIES) {
              item.attempts++;
              lambdaRetries++;
              queue.push(item);
            } else {
              deadLettered++;
            }
          }
          pump();
        }, reject);
      }
    };
    pump();
  });
  const seconds = (performance.now() - started) / 1000;
  const throttled = world.codebuild.throttledCount;
  const retriesByEvents = [...world.retriesByBatch().values()].filter(
    (n) => n > 0,
  ).length;
  const calls = world.calls.slice(mark);
  const peakCodeBuildInFlight = world.peakCodeBuildInFlight;

  const sweepStarted = performance.now();
  await lambda.invoke('env-0', shipped.sweepEvent);
  const sweepSeconds = (performance.now() - sweepStarted) / 1000;
  const sweepThrottled = world.codebuild.throttledCount - throttled;
  world.codebuild.setFaults({});

  const retries = [...world.retriesByBatch().values()];
  const { maxRssMb } = await lambda.stats();
  await lambda.stop();
  await world.stop();
  return {
    seconds,
    retriesIssued: retries.reduce((a, b) => a + b, 0),
    expectedRetries: BURST_EVENTS,
    retriesByEvents,
    overRetried: retries.filter((n) => n > 1).length,
    missed: retries.filter((n) => n === 0).length,
    throttled,
    codebuildCalls: calls.filter((c) => c.service === 'codebuild').length,
    dynamodbCalls: calls.filter((c) => c.service === 'dynamodb').length,
    peakConcurrency,
    peakCodeBuildInFlight,
    environments,
    lambdaRetries,
    deadLettered,
    sweepSeconds,
    sweepThrottled,
    throttleRate: BURST_THROTTLE_RATE,
    latencyMs: BURST_LATENCY_MS,
    environmentsLoadSeconds,
    maxRssMb,
  };
}
