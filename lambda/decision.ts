import type { BatchView } from './batch.js';
import { failureKey } from './batch.js';
import type { Config } from './config.js';

/** What asked us to look at the batch. */
export type Trigger =
  /** A child build of the batch failed. */
  | 'build-failed'
  /** A child build of the batch ended any other way. */
  | 'build-ended'
  /** The scheduled sweep. */
  | 'sweep';

/** What the budget store already knows about the batch, when it was read. */
export interface BudgetView {
  /** Retry attempts reserved so far. */
  readonly retries: number;
  /** The failure the latest attempt was reserved for. */
  readonly lastFailure?: string;
  /** The failure for which exhaustion was already reported. */
  readonly exhaustedFailure?: string;
}

export type SkipReason =
  | 'out-of-scope'
  | 'batch-in-progress'
  | 'batch-succeeded'
  | 'batch-stopped'
  | 'batch-fault'
  | 'batch-timed-out'
  | 'batch-status-unknown'
  | 'before-lookback'
  | 'retries-disabled';

/**
 * Skips that are the normal state of an account (every succeeded batch,
 * every standalone build, every project out of scope): they are logged at
 * DEBUG and counted in the `Skipped` metric, so an account with thousands
 * of builds a day does not pay log ingestion for lines nobody reads.
 * Everything else (a FAULT or TIMED_OUT batch, one before the lookback, a
 * build CodeBuild no longer knows, observe mode) is logged at INFO.
 */
const ROUTINE_SKIPS: ReadonlySet<string> = new Set([
  'out-of-scope',
  'standalone-build',
  'batch-in-progress',
  'batch-succeeded',
]);

/** True when a skip `reason` is routine (see {@link ROUTINE_SKIPS}). */
export function isRoutineSkip(reason: string): boolean {
  return ROUTINE_SKIPS.has(reason);
}

/** The outcome of {@link decideRetry}. */
export type RetryDecision =
  | {
      readonly action: 'retry';
      readonly failure: string;
      readonly dryRun: boolean;
    }
  | { readonly action: 'watch'; readonly reason: 'batch-not-settled' }
  | {
      readonly action: 'exhausted';
      readonly failure: string;
      readonly retries: number;
      /** Exhaustion of this failure was already logged and counted. */
      readonly reported: boolean;
    }
  | { readonly action: 'skip'; readonly reason: SkipReason };

/** Inputs of {@link decideRetry} besides the configuration. */
export interface DecisionInput {
  readonly batch: BatchView;
  readonly trigger: Trigger;
  readonly now: Date;
  /** Known only where it was read cheaply (the sweep reads budgets in bulk). */
  readonly budget?: BudgetView;
}

const SETTLED_SKIPS: Readonly<Record<string, SkipReason>> = {
  SUCCEEDED: 'batch-succeeded',
  STOPPED: 'batch-stopped',
  FAULT: 'batch-fault',
  TIMED_OUT: 'batch-timed-out',
};

/**
 * Decides, from plain data, whether a batch should be retried now.
 *
 * Only FAILED batches are retried (RetryBuildBatch accepts nothing else), only
 * in scope, only if they settled inside the lookback window, and only while
 * budget is left. A batch still running after a child failed is watched so
 * the sweep re-reads it once it settles. The budget check here is advisory:
 * the conditional write in the budget store is what enforces it.
 *
 * @example
 * const decision = decideRetry(config, { batch, trigger: 'sweep', now: new Date() });
 * if (decision.action === 'retry') await reserveAttempt(...);
 */
export function decideRetry(
  config: Config,
  { batch, trigger, now, budget }: DecisionInput,
): RetryDecision {
  if (!isInScope(config, batch.projectName)) {
    return { action: 'skip', reason: 'out-of-scope' };
  }
  if (batch.status === 'IN_PROGRESS') {
    return trigger === 'build-failed'
      ? { action: 'watch', reason: 'batch-not-settled' }
      : { action: 'skip', reason: 'batch-in-progress' };
  }
  if (batch.status !== 'FAILED') {
    return {
      action: 'skip',
      reason: SETTLED_SKIPS[batch.status] ?? 'batch-status-unknown',
    };
  }
  const windowStart = now.getTime() - config.lookbackHours * 3_600_000;
  if (!batch.endTime || batch.endTime.getTime() < windowStart) {
    return { action: 'skip', reason: 'before-lookback' };
  }
  if (config.maxRetries === 0) {
    return { action: 'skip', reason: 'retries-disabled' };
  }
  const failure = failureKey(batch);
  if (budget) {
    // The same failure with a reserved attempt goes on, so that a crash
    // between reserving and RetryBuildBatch is finished with the same token.
    const sameFailure = budget.lastFailure === failure;
    if (!sameFailure && budget.retries >= config.maxRetries) {
      return {
        action: 'exhausted',
        failure,
        retries: budget.retries,
        reported: budget.exhaustedFailure === failure,
      };
    }
  }
  return { action: 'retry', failure, dryRun: config.dryRun };
}

/**
 * True when the project is one the service looks after.
 *
 * @example
 * isInScope({ ...config, projectNames: [] }, 'any'); // true
 */
export function isInScope(config: Config, projectName: string): boolean {
  return (
    config.projectNames.length === 0 ||
    config.projectNames.includes(projectName)
  );
}
