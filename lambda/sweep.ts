import type { BatchView } from './batch.js';
import type { BatchOutcome, BatchProcessor } from './batch-processor.js';
import type { BudgetStore } from './budget-store.js';
import type { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { isInScope } from './decision.js';
import { logger } from './logger.js';
import { count, METRIC } from './metrics.js';

/** Batches processed at once: enough to drain, few enough not to throttle. */
const CONCURRENCY = 4;
/** Watches older than the longest batch timeout (36 h) are dropped. */
const MAX_WATCH_MS = 48 * 3_600_000;

/** Collaborators of {@link runSweep}. */
export interface SweepDeps {
  readonly config: Config;
  readonly budget: BudgetStore;
  readonly codebuild: CodeBuildGateway;
  readonly processor: BatchProcessor;
  readonly now: () => number;
  /** Milliseconds left before the invocation must stop starting work. */
  readonly remainingMs: () => number;
}

/** Summary of one sweep. */
export interface SweepSummary {
  readonly kind: 'sweep';
  readonly watched: number;
  readonly candidates: number;
  readonly processed: number;
  /** Left for the next sweep because the invocation ran short of time. */
  readonly deferred: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Stop starting batches when less than this is left of the invocation. */
export const SWEEP_TIME_RESERVE_MS = 20_000;

/**
 * The reconciliation sweep: re-reads watched batches and FAILED batches that
 * settled inside the lookback window, and runs each through the same
 * decision path as events. It is the safety net for lost events, batches
 * that failed before any child build existed, and batches that settled
 * after their last child's event.
 *
 * @example
 * const summary = await runSweep(deps);
 */
export async function runSweep(deps: SweepDeps): Promise<SweepSummary> {
  const { config, budget, codebuild, processor, now } = deps;
  const startedAt = now();
  const windowStart = startedAt - config.lookbackHours * 3_600_000;

  const watched = await budget.listWatched();
  const watchedArns = new Set(watched.map((w) => w.batchArn));
  const stale = watched.filter((w) => w.watchedAt < startedAt - MAX_WATCH_MS);

  const candidates = new Map<string, BatchView>();
  for (const batch of await codebuild.getBatches([...watchedArns])) {
    candidates.set(batch.arn, batch);
  }
  await codebuild.scanFailedBatches(
    config.projectNames,
    (page) => {
      const inWindow = page.filter(
        (b) => b.endTime !== undefined && b.endTime.getTime() >= windowStart,
      );
      for (const batch of inWindow) candidates.set(batch.arn, batch);
      // Newest first: a page with nothing inside the window ends the scan.
      return inWindow.length > 0;
    },
    (projectName) => {
      logger.warn('Project in ProjectNames does not exist', {
        projectName,
        decision: 'skip',
        reason: 'project-not-found',
      });
    },
  );

  // Watched batches CodeBuild no longer knows, or that never settle.
  const gone = [...watchedArns].filter((arn) => !candidates.has(arn));
  for (const arn of [...gone, ...stale.map((w) => w.batchArn)]) {
    await budget.unwatch(arn);
  }

  const batches = [...candidates.values()].filter((b) =>
    isInScope(config, b.projectName),
  );
  const budgets = await budget.readMany(
    batches.filter((b) => b.status === 'FAILED').map((b) => b.arn),
  );
  count(METRIC.sweepCandidates, batches.length);

  const outcomes: Record<string, number> = {};
  let next = 0;
  let processed = 0;
  const worker = async () => {
    while (
      next < batches.length &&
      deps.remainingMs() > SWEEP_TIME_RESERVE_MS
    ) {
      const batch = batches[next++];
      const outcome = await processor.process(
        batch,
        'sweep',
        budgets.get(batch.arn) ?? { retries: 0 },
      );
      processed++;
      outcomes[outcome.outcome] = (outcomes[outcome.outcome] ?? 0) + 1;
      if (watchedArns.has(batch.arn) && settledWithoutRetry(batch, outcome)) {
        await budget.unwatch(batch.arn);
      }
    }
  };
  // allSettled, not all: if one worker fails, the invocation must not end
  // while others are mid-call. Lambda would freeze them with the
  // environment and thaw them minutes later, after CodeBuild forgot their
  // token, and a stale RetryBuildBatch would retry past the budget.
  const settled = await Promise.allSettled(
    Array.from({ length: CONCURRENCY }, worker),
  );
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;

  const summary: SweepSummary = {
    kind: 'sweep',
    watched: watched.length,
    candidates: batches.length,
    processed,
    deferred: batches.length - processed,
    outcomes,
  };
  logger.info('Sweep finished', {
    ...summary,
    lookbackHours: config.lookbackHours,
    durationMs: now() - startedAt,
  });
  return summary;
}

// A settled batch the sweep did not retry needs no more watching; a retry
// (or its reservation) already removed the watch in the same write.
function settledWithoutRetry(batch: BatchView, outcome: BatchOutcome): boolean {
  if (batch.status === 'IN_PROGRESS') return false;
  return !['retried', 'already-retried', 'in-flight'].includes(outcome.outcome);
}
