// Sweep growth: one sweep in accounts of growing size, each in a fresh pair
// of servers, with the calls counted from their request logs.
import { SWEEP_INPUT } from '../lambda/contract.js';
import { lambdaContext, startHarness } from '../test/support/harness.js';
import { captureLogs } from '../test/support/logs.js';
import { PROJECT } from './settings.js';

const HOUR_MS = 3_600_000;

/** Batches in an account: the oldest failed long ago, the newest just now. */
export interface SweepAccount {
  readonly batches: number;
  readonly failedInWindow: number;
  readonly failedBeforeWindow: number;
}

/** What one sweep of an account cost and did. */
export interface SweepRun extends SweepAccount {
  readonly calls: number;
  readonly operations: Record<string, number>;
  readonly ms: number;
  /** Batches the sweep retried (must be the failures in the window). */
  readonly retried: number;
  /** Batches that failed before the window and were retried (must be 0). */
  readonly retriedBeforeWindow: number;
}

/**
 * Seeds an account oldest first (`failedBeforeWindow` batches that failed two
 * days ago, outside the default 24 h lookback; then batches that succeeded;
 * then `failedInWindow` that failed just now) and sweeps it once.
 *
 * @example
 * const run = await measureSweep({ batches: 100, failedInWindow: 10, failedBeforeWindow: 20 });
 */
export async function measureSweep(account: SweepAccount): Promise<SweepRun> {
  const h = await startHarness();
  const cb = h.codebuild;
  cb.createProject(PROJECT);
  const { batches, failedInWindow, failedBeforeWindow } = account;
  for (let i = 0; i < batches; i++) {
    // CodeBuild's clock moves back to stage a batch that ended long ago.
    const shift = i < failedBeforeWindow ? 48 * HOUR_MS : 0;
    const fails = shift > 0 || i >= batches - failedInWindow;
    h.clock.shift(-shift);
    const batch = cb.startBatch(PROJECT, { groups: ['unit'] });
    const [child] = cb.currentBuilds(batch.arn);
    cb.completeBuild(child.arn, fails ? 'FAILED' : 'SUCCEEDED');
    cb.settleBatch(batch.arn);
    h.clock.shift(shift);
  }
  const handler = h.handler();
  const marks = [cb.requests.length, h.dynamo.requests.length];
  const logs = captureLogs();
  const started = performance.now();
  try {
    await handler(SWEEP_INPUT, lambdaContext());
  } finally {
    logs.restore();
  }
  const ms = performance.now() - started;
  const operations: Record<string, number> = {};
  const requests = [
    ...cb.requests.slice(marks[0]),
    ...h.dynamo.requests.slice(marks[1]),
  ];
  for (const { operation } of requests) {
    operations[operation] = (operations[operation] ?? 0) + 1;
  }
  const retries = cb.listBatches().map((b) => cb.retryCount(String(b.arn)));
  await h.stop();
  return {
    ...account,
    calls: requests.length,
    operations,
    ms,
    retried: retries.filter((n) => n > 0).length,
    retriedBeforeWindow: retries
      .slice(0, failedBeforeWindow)
      .filter((n) => n > 0).length,
  };
}
