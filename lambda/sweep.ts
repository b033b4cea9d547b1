import type { BatchView } from './batch.js';
import type { BatchRetrier } from './batch-retrier.js';
import type { BudgetStore } from './budget-store.js';
import type { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { METRIC } from './contract.js';
import {
  type BatchResult,
  isInScope,
  NEW_SCAN,
  type ScanState,
  scanPage,
  watchDone,
  watchLapsed,
} from './decision.js';
import { SweepIncompleteError } from './errors.js';
import { logger } from './logger.js';
import { count } from './metrics.js';

/** Batches processed at once: enough to drain, few enough not to throttle. */
const CONCURRENCY = 4;

/** Collaborators of {@link runSweep}. */
export interface SweepDeps {
  readonly config: Config;
  readonly budgetStore: BudgetStore;
  readonly codebuild: CodeBuildGateway;
  readonly retrier: BatchRetrier;
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
  readonly results: Readonly<Partial<Record<BatchResult, number>>>;
}

/** Stop starting batches when less than this is left of the invocation. */
export const SWEEP_TIME_RESERVE_MS = 20_000;

/** The parts of a sweep that can fail on their own, named in its logs. */
type SweepStep = 'watched-read' | 'project-scan' | 'unwatch' | 'batch';

/**
 * The reconciliation sweep: re-reads watched batches and FAILED batches that
 * settled inside the lookback window, and runs each through the same
 * decision path as events. It is the safety net for lost events, batches
 * that failed before any child build existed, and batches that settled
 * after their last child's event.
 *
 * A read or batch that fails (throttling past the SDK's retries) is logged
 * and counted, and the sweep goes on with the rest: under sustained
 * throttling every sweep still makes progress instead of failing at its
 * first error. If anything failed, the sweep throws
 * {@link SweepIncompleteError} once all else is done, so Lambda runs it
 * again and the error alarm sees it.
 *
 * @example
 * const summary = await runSweep(deps);
 */
export async function runSweep(deps: SweepDeps): Promise<SweepSummary> {
  const { config, budgetStore, codebuild, retrier, now } = deps;
  const startedAt = now();
  const failed: Partial<Record<SweepStep, number>> = {};
  const failure = (step: SweepStep, error: unknown, at?: object) => {
    failed[step] = (failed[step] ?? 0) + 1;
    count(METRIC.SweepFailures);
    logger.warn('Sweep step failed; the sweep goes on', {
      step,
      ...at,
      error,
    });
  };

  const watched = await budgetStore.listWatched();
  const watchedArns = new Set(watched.map((w) => w.batchArn));
  // Undefined when the read failed: then no watch can be judged lapsed.
  const watchedBatches = await codebuild
    .getBatches([...watchedArns])
    .then((read) => new Map(read.map((b) => [b.arn, b])))
    .catch((error: unknown) => {
      failure('watched-read', error, { watched: watchedArns.size });
      return undefined;
    });

  const candidates = new Map(watchedBatches);
  await codebuild.scanFailedBatches(
    config.projectNames,
    (projectName) => {
      let state: ScanState = NEW_SCAN;
      return (page) => {
        const scan = scanPage(config, page, new Date(startedAt), state);
        state = scan.state;
        for (const batch of scan.candidates) candidates.set(batch.arn, batch);
        const outOfTime = deps.remainingMs() <= SWEEP_TIME_RESERVE_MS;
        if (scan.truncated || (scan.keepGoing && outOfTime)) {
          // Older failures are left for the next sweep; say so, since an
          // account listing failures out of time order could miss some.
          logger.warn('Sweep scan cut short; the next sweep reads again', {
            projectName,
            pages: state.pages,
            newestFirst: state.newestFirst,
            cause: scan.truncated ? 'page-cap' : 'time',
          });
          count(METRIC.SweepScanTruncated);
          return false;
        }
        return scan.keepGoing;
      };
    },
    ({ projectName, missing, error }) => {
      // A configured project that does not exist (yet) is no failure.
      if (!missing) return failure('project-scan', error, { projectName });
      logger.warn('Project in ProjectNames does not exist', {
        projectName,
        decision: 'skip',
        reason: 'project-not-found',
      });
    },
  );

  const lapsed = watched.filter(
    (w) =>
      watchedBatches &&
      watchLapsed(w.watchedAt, watchedBatches.get(w.batchArn), startedAt),
  );
  for (const w of lapsed) {
    await budgetStore
      .unwatch(w.batchArn)
      .catch((error: unknown) =>
        failure('unwatch', error, { batchArn: w.batchArn }),
      );
  }

  const batches = [...candidates.values()].filter((b) =>
    isInScope(config, b.projectName),
  );
  const budgets = await budgetStore.readMany(
    batches.filter((b) => b.status === 'FAILED').map((b) => b.arn),
  );
  count(METRIC.SweepCandidates, batches.length);

  const results: Partial<Record<BatchResult, number>> = {};
  let next = 0;
  let processed = 0;
  const sweepOne = async (batch: BatchView) => {
    const { result } = await retrier.handle(batch, 'sweep', {
      budget: budgets.get(batch.arn) ?? { retries: 0 },
    });
    results[result] = (results[result] ?? 0) + 1;
    if (watchedArns.has(batch.arn) && watchDone(batch, result)) {
      await budgetStore.unwatch(batch.arn);
    }
  };
  // One batch failing does not stop its worker: each call has ended (or
  // failed) before the next starts, so the invocation never ends with a
  // call in flight. Lambda would freeze such a call with the environment
  // and thaw it minutes later, after CodeBuild forgot its token, and a
  // stale RetryBuildBatch would retry past the budget.
  const worker = async () => {
    while (
      next < batches.length &&
      deps.remainingMs() > SWEEP_TIME_RESERVE_MS
    ) {
      const batch = batches[next++];
      await sweepOne(batch).catch((error: unknown) =>
        failure('batch', error, { batchArn: batch.arn }),
      );
      processed++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  const summary: SweepSummary = {
    kind: 'sweep',
    watched: watched.length,
    candidates: batches.length,
    processed,
    deferred: batches.length - processed,
    results,
  };
  logger.info('Sweep finished', {
    ...summary,
    failed,
    lookbackHours: config.lookbackHours,
    durationMs: now() - startedAt,
  });
  if (Object.keys(failed).length > 0) throw new SweepIncompleteError(failed);
  return summary;
}
