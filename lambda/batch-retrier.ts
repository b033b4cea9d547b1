import type { BatchView, BudgetView } from './batch.js';
import type { BudgetStore } from './budget-store.js';
import type { Config } from './config.js';
import { METRIC } from './contract.js';
import {
  type BatchResult,
  decideRetry,
  dryRunAttempt,
  type Reason,
  retryReason,
  type Trigger,
} from './decision.js';
import { logger } from './logger.js';
import { count } from './metrics.js';
import type { RetryStep } from './retry-step.js';
import { retryToken } from './retry-token.js';
import { recordSkip } from './skip-log.js';

/** What happened to one batch. */
export interface BatchOutcome {
  readonly batchArn: string;
  readonly result: BatchResult;
  readonly reason?: Reason;
  readonly attempt?: number;
}

/** Collaborators of {@link BatchRetrier}. */
export interface BatchRetrierDeps {
  readonly config: Config;
  readonly budgetStore: BudgetStore;
  readonly retry: RetryStep;
  readonly now: () => number;
}

/**
 * The decision path the event and the sweep share for one batch:
 * decide → reserve an attempt → RetryBuildBatch → log and count.
 */
export class BatchRetrier {
  readonly #deps: BatchRetrierDeps;

  constructor(deps: BatchRetrierDeps) {
    this.#deps = deps;
  }

  /**
   * Runs one batch through the decision path. `budget` is passed when the
   * caller already read it (the sweep reads budgets in bulk).
   *
   * @example
   * const outcome = await retrier.handle(batch, 'build-failed');
   */
  async handle(
    batch: BatchView,
    trigger: Trigger,
    budget?: BudgetView,
  ): Promise<BatchOutcome> {
    const { config, budgetStore, now } = this.#deps;
    const log = { batchArn: batch.arn, batchStatus: batch.status, trigger };
    const decision = decideRetry(config, {
      batch,
      trigger,
      now: new Date(now()),
      budget,
    });

    switch (decision.action) {
      case 'skip':
        recordSkip('Skipped batch', decision.reason, log);
        return {
          batchArn: batch.arn,
          result: 'skipped',
          reason: decision.reason,
        };

      case 'watch':
        await budgetStore.watch(batch.arn);
        logger.info('Watching batch until it settles', {
          ...log,
          decision: 'watch',
          reason: decision.reason,
        });
        count(METRIC.BatchWatched);
        return {
          batchArn: batch.arn,
          result: 'watching',
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
    const { config, budgetStore, retry } = this.#deps;
    const reservation = await budgetStore.reserveAttempt(
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
      recordSkip('Retry already in flight', 'in-flight', log);
      return { batchArn: batch.arn, result: 'in-flight', attempt };
    }
    const { response, fresh } = step;
    if (response.kind === 'retried' && !fresh) {
      recordSkip('Failure already retried', 'already-retried', log);
      return { batchArn: batch.arn, result: 'already-retried', attempt };
    }
    if (response.kind === 'retried') {
      logger.info('Retried batch', {
        ...log,
        decision: 'retry',
        reason: retryReason(reservation.kind),
        batchStatusAfter: response.status,
      });
      count(METRIC.RetryIssued);
      return { batchArn: batch.arn, result: 'retried', attempt };
    }

    // CodeBuild refused: the batch is no longer failed, or is gone. Neither
    // is fixed by retrying the invocation, so give the attempt back and stop.
    const released = await budgetStore.releaseAttempt(
      batch.arn,
      failure,
      attempt,
    );
    const refused = response.kind === 'refused';
    const reason = refused ? 'retry-refused' : 'batch-not-found';
    logger.warn('RetryBuildBatch refused; attempt released', {
      ...log,
      decision: 'skip',
      reason,
      released,
      error: refused ? response.message : 'ResourceNotFoundException',
    });
    count(METRIC.RetryRefused);
    return {
      batchArn: batch.arn,
      result: refused ? 'refused' : 'not-found',
      reason,
      attempt,
    };
  }

  async #dryRun(
    batch: BatchView,
    failure: string,
    known?: BudgetView,
  ): Promise<BatchOutcome> {
    const { config, budgetStore } = this.#deps;
    const budget = known ?? (await budgetStore.read(batch.arn));
    const attempt = dryRunAttempt(config, failure, budget);
    if (attempt === undefined) {
      return this.#exhausted(batch, failure, budget?.retries ?? 0, false);
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
    count(METRIC.RetryWouldIssue);
    return { batchArn: batch.arn, result: 'would-retry', attempt };
  }

  async #exhausted(
    batch: BatchView,
    failure: string,
    retries: number,
    alreadyReported: boolean,
  ): Promise<BatchOutcome> {
    const { config, budgetStore } = this.#deps;
    const log = {
      batchArn: batch.arn,
      decision: 'skip',
      reason: 'budget-exhausted',
      retries,
      maxRetries: config.maxRetries,
    };
    // Warn and count once per failure; the sweep sees a broken batch again
    // every interval until it leaves the lookback window. A dry run writes
    // nothing, so it cannot remember and reports every time it sees one.
    const firstReport =
      !alreadyReported &&
      (config.dryRun || (await budgetStore.markExhausted(batch.arn, failure)));
    if (firstReport) {
      logger.warn(
        `Retry budget exhausted after ${retries} of ${config.maxRetries} retries`,
        log,
      );
      count(METRIC.BudgetExhausted);
    } else {
      logger.debug('Retry budget exhausted (already reported)', log);
    }
    return {
      batchArn: batch.arn,
      result: 'exhausted',
      reason: 'budget-exhausted',
      attempt: retries,
    };
  }
}
