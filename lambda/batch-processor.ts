import type { BatchView } from './batch.js';
import type { BudgetStore } from './budget-store.js';
import type { Config } from './config.js';
import type { BudgetView, Trigger } from './decision.js';
import { decideRetry } from './decision.js';
import { logger, logSkip } from './logger.js';
import { count, countSkip, METRIC } from './metrics.js';
import type { RetryStep } from './retry-step.js';
import { retryToken } from './retry-token.js';

/** What happened to one batch. */
export interface BatchOutcome {
  readonly batchArn: string;
  readonly outcome:
    | 'retried'
    | 'would-retry'
    | 'already-retried'
    | 'in-flight'
    | 'watching'
    | 'skipped'
    | 'exhausted'
    | 'rejected'
    | 'not-found';
  readonly reason?: string;
  readonly attempt?: number;
}

/** Collaborators of {@link BatchProcessor}. */
export interface BatchProcessorDeps {
  readonly config: Config;
  readonly budget: BudgetStore;
  readonly retry: RetryStep;
  readonly now: () => number;
}

/**
 * The shared decision path of the event and the sweep:
 * decide → reserve budget → RetryBuildBatch → record and log.
 */
export class BatchProcessor {
  readonly #deps: BatchProcessorDeps;

  constructor(deps: BatchProcessorDeps) {
    this.#deps = deps;
  }

  /**
   * Runs one batch through the decision path. `budget` is passed when the
   * caller already read it (the sweep reads budgets in bulk).
   */
  async process(
    batch: BatchView,
    trigger: Trigger,
    budget?: BudgetView,
  ): Promise<BatchOutcome> {
    const { config, budget: store, now } = this.#deps;
    const log = { batchArn: batch.arn, batchStatus: batch.status, trigger };
    const decision = decideRetry(config, {
      batch,
      trigger,
      now: new Date(now()),
      budget,
    });

    switch (decision.action) {
      case 'skip':
        logSkip('Skipped batch', {
          ...log,
          decision: 'skip',
          reason: decision.reason,
        });
        countSkip(decision.reason);
        return {
          batchArn: batch.arn,
          outcome: 'skipped',
          reason: decision.reason,
        };

      case 'watch':
        await store.watch(batch.arn);
        logger.info('Watching batch until it settles', {
          ...log,
          decision: 'watch',
          reason: decision.reason,
        });
        count(METRIC.watched);
        return {
          batchArn: batch.arn,
          outcome: 'watching',
          reason: decision.reason,
        };

      case 'exhausted':
        return this.#exhausted(
          batch,
          decision.failure,
          decision.retries,
          decision.reported,
        );

      case 'retry':
        return decision.dryRun
          ? this.#dryRun(batch, decision.failure, budget)
          : this.#retry(batch, decision.failure);
    }
  }

  async #retry(batch: BatchView, failure: string): Promise<BatchOutcome> {
    const { config, budget: store, retry } = this.#deps;
    const reservation = await store.reserveAttempt(
      batch.arn,
      failure,
      config.maxRetries,
    );
    if (reservation.kind === 'exhausted') {
      return this.#exhausted(batch, failure, reservation.retries, false);
    }
    const { attempt } = reservation;
    const token = retryToken(batch.arn, attempt, failure);
    const log = {
      batchArn: batch.arn,
      decision: 'retry',
      attempt,
      maxRetries: config.maxRetries,
      retryType: config.retryType,
      token,
    };
    const step = await retry({
      batchArn: batch.arn,
      batchId: batch.id,
      attempt,
      failure,
      retryType: config.retryType,
      token,
    });

    if (step.kind === 'in-flight') {
      logger.info('Retry already in flight', { ...log, reason: 'in-flight' });
      countSkip('in-flight');
      return { batchArn: batch.arn, outcome: 'in-flight', attempt };
    }
    const { result, fresh } = step;
    if (result.kind === 'retried' && !fresh) {
      logger.info('Failure already retried', {
        ...log,
        reason: 'already-retried',
      });
      countSkip('already-retried');
      return { batchArn: batch.arn, outcome: 'already-retried', attempt };
    }
    if (result.kind === 'retried') {
      logger.info('Retried batch', {
        ...log,
        reason:
          reservation.kind === 'duplicate' ? 'resumed-attempt' : 'batch-failed',
        batchStatusAfter: result.status,
      });
      count(METRIC.retried);
      return { batchArn: batch.arn, outcome: 'retried', attempt };
    }

    // CodeBuild refused: the batch is no longer failed, or is gone. Neither
    // is fixed by retrying the invocation, so give the attempt back and stop.
    const released = await store.releaseAttempt(batch.arn, failure, attempt);
    const reason =
      result.kind === 'rejected' ? 'retry-rejected' : 'batch-not-found';
    logger.warn('RetryBuildBatch refused; attempt released', {
      ...log,
      reason,
      released,
      error:
        result.kind === 'rejected'
          ? result.message
          : 'ResourceNotFoundException',
    });
    count(METRIC.notRetryable);
    return {
      batchArn: batch.arn,
      outcome: result.kind === 'rejected' ? 'rejected' : 'not-found',
      reason,
      attempt,
    };
  }

  async #dryRun(
    batch: BatchView,
    failure: string,
    known?: BudgetView,
  ): Promise<BatchOutcome> {
    const { config, budget: store } = this.#deps;
    const budget = known ?? (await store.read(batch.arn));
    const retries = budget?.retries ?? 0;
    const attempt = budget?.lastFailure === failure ? retries : retries + 1;
    if (attempt > config.maxRetries) {
      return this.#exhausted(batch, failure, retries, false);
    }
    logger.info('Would retry batch (dry run)', {
      batchArn: batch.arn,
      decision: 'would-retry',
      reason: 'dry-run',
      attempt,
      maxRetries: config.maxRetries,
      retryType: config.retryType,
      token: retryToken(batch.arn, attempt, failure),
    });
    count(METRIC.wouldRetry);
    return { batchArn: batch.arn, outcome: 'would-retry', attempt };
  }

  async #exhausted(
    batch: BatchView,
    failure: string,
    retries: number,
    alreadyReported: boolean,
  ): Promise<BatchOutcome> {
    const { config, budget: store } = this.#deps;
    const log = {
      batchArn: batch.arn,
      decision: 'skip',
      reason: 'budget-exhausted',
      retries,
      maxRetries: config.maxRetries,
    };
    // Warn and count once per failure; the sweep sees a broken batch again
    // every interval until it leaves the lookback window.
    const firstReport =
      !alreadyReported &&
      !config.dryRun &&
      (await store.markExhausted(batch.arn, failure));
    if (firstReport || (config.dryRun && !alreadyReported)) {
      logger.warn(
        `Retry budget exhausted after ${retries} of ${config.maxRetries} retries`,
        log,
      );
      count(METRIC.budgetExhausted);
    } else {
      logger.debug('Retry budget exhausted (already reported)', log);
    }
    return {
      batchArn: batch.arn,
      outcome: 'exhausted',
      reason: 'budget-exhausted',
      attempt: retries,
    };
  }
}
