import { parseBatchArn } from './arn.js';
import {
  type BatchView,
  type BudgetView,
  type BuildView,
  failedAtOf,
} from './batch.js';
import type { BatchClassifier } from './batch-classifier.js';
import type { BatchEventDetail, BatchEvents } from './batch-events.js';
import type { BudgetStore, RecheckTicket } from './budget-store.js';
import type { CircuitStore } from './circuit-store.js';
import type { Config } from './config.js';
import {
  BATCH_EVENTS,
  type BatchEventType,
  METRIC,
  type Outcome,
} from './contract.js';
import {
  type BatchResult,
  circuitAfter,
  circuitVerdict,
  decideRetry,
  dryRunAttempt,
  followGivesUp,
  isRetryDelayed,
  needsProjectPolicy,
  nextRecheck,
  type Reason,
  type RecheckChain,
  retryableByClass,
  retryDelaySeconds,
  retryMade,
  retryOutcome,
  retryReason,
  type Trigger,
} from './decision.js';
import type { Classification } from './failure-class.js';
import type { HistoryStore } from './history-store.js';
import { logger } from './logger.js';
import { count, countClass, countOutcome, measureSeconds } from './metrics.js';
import type { ProjectPolicies } from './project-policies.js';
import { type ProjectPolicy, stackPolicy } from './project-policy.js';
import type {
  RecheckMessage,
  RecheckQueue,
  RetryRecord,
} from './recheck-queue.js';
import type { RetryRequest, RetryStep } from './retry-step.js';
import { retryToken } from './retry-token.js';
import { recordSkip } from './skip-log.js';

/** What happened to one batch. */
export interface BatchOutcome {
  readonly batchArn: string;
  readonly result: BatchResult;
  readonly reason?: Reason;
  readonly attempt?: number;
  /** The failed groups' classes, when the failure was classified. */
  readonly classifications?: readonly Classification[];
}

/** Collaborators of {@link BatchRetrier}. */
export interface BatchRetrierDeps {
  readonly config: Config;
  readonly budgetStore: BudgetStore;
  readonly retry: RetryStep;
  readonly policies: ProjectPolicies;
  readonly classifier: BatchClassifier;
  /** The re-check queue; without it, only the sweep re-reads batches. */
  readonly queue?: RecheckQueue;
  readonly history: HistoryStore;
  readonly events: BatchEvents;
  readonly circuits: CircuitStore;
  readonly now: () => number;
}

/** What the caller already knows about a batch it hands over. */
export interface HandleContext {
  /** The budget, when read cheaply (the sweep reads them in bulk). */
  readonly budget?: BudgetView;
  /** One of its builds, when read (the event's). */
  readonly known?: BuildView;
  /** The re-check message that asked, continuing its chain. */
  readonly recheck?: RecheckMessage;
  /** The build whose event asked. */
  readonly eventBuildArn?: string;
}

/**
 * The decision path the event and the sweep share for one batch:
 * policy → decide → classify → reserve an attempt → RetryBuildBatch → log
 * and count.
 */
export class BatchRetrier {
  readonly #deps: BatchRetrierDeps;

  constructor(deps: BatchRetrierDeps) {
    this.#deps = deps;
  }

  /**
   * Runs one batch through the decision path, with what the caller
   * already knows about it.
   *
   * @example
   * const outcome = await retrier.handle(batch, 'build-failed');
   */
  async handle(
    batch: BatchView,
    trigger: Trigger,
    { budget, known, recheck, eventBuildArn }: HandleContext = {},
  ): Promise<BatchOutcome> {
    const { config, policies, now } = this.#deps;
    const log = { batchArn: batch.arn, batchStatus: batch.status, trigger };
    const policy = needsProjectPolicy(config, batch, trigger)
      ? await policies.of(batch.projectName)
      : stackPolicy(config);
    const decision = decideRetry(config, {
      batch,
      trigger,
      now: new Date(now()),
      budget,
      policy,
      eventBuildArn,
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
        await this.#watch(batch, trigger, recheck, log);
        return {
          batchArn: batch.arn,
          result: 'watching',
          reason: decision.reason,
        };

      case 'declined':
        logger.debug('Failure not retryable (already reported)', {
          ...log,
          decision: 'skip',
          reason: 'not-retryable',
        });
        return {
          batchArn: batch.arn,
          result: 'not-retryable',
          reason: 'not-retryable',
        };

      case 'exhausted':
        return this.#exhausted(
          batch,
          policy,
          decision.failure,
          decision.retries,
          decision.reported,
        );

      case 'retry': {
        const { classifications, complete } =
          await this.#deps.classifier.classify(batch, policy, known);
        for (const c of classifications) {
          countClass(METRIC.FailureClassified, c.class);
        }
        const { retryable, blocking } = retryableByClass(
          policy,
          classifications,
        );
        if (!retryable) {
          return this.#notRetryable(
            batch,
            decision.failure,
            classifications,
            blocking,
            complete,
          );
        }
        const held = await this.#heldByCircuit(
          batch,
          decision.failure,
          decision.dryRun,
        );
        if (held) return held;
        return decision.dryRun
          ? this.#dryRun(
              batch,
              policy,
              decision.failure,
              classifications,
              budget,
            )
          : this.#retry(batch, policy, decision.failure, classifications);
      }
    }
  }

  /**
   * Watches a batch still running: the sweep's watch list, the children it
   * waits on, and its one re-check chain. A failure starts a backstop
   * chain while other children run (their events say when the last one
   * ended); the last child's end, or a failure with no child left running,
   * starts the settle chain, once per watch. A re-check round's successor
   * was queued before the round read the batch, so a round sends nothing
   * unless its chain changes: a backstop that finds no child running
   * starts the settle chain, and a round that finds the batch ran again
   * since its chain began ends the watch.
   */
  async #watch(
    batch: BatchView,
    trigger: Trigger,
    recheck: RecheckMessage | undefined,
    log: Record<string, unknown>,
  ): Promise<void> {
    const { budgetStore, queue } = this.#deps;
    let start:
      | { chain: RecheckChain; round: number; ticket: RecheckTicket }
      | undefined;
    if (recheck) {
      const next = nextRecheck(recheck, batch);
      if (!next) {
        if (recheck.watch !== undefined) {
          await budgetStore.unwatch(batch.arn, recheck.watch);
        }
        logger.debug('Re-check chain ends: the batch ran again', log);
        return;
      }
      if (next.chain !== recheck.chain) {
        const ticket = await budgetStore.settle(batch.arn);
        if (ticket) start = { ...next, ticket };
      }
    } else {
      const failed = trigger === 'build-failed';
      const running = failed ? batch.runningBuilds : [];
      const { first, ticket } = await budgetStore.watch(
        batch.arn,
        running,
        batch.phaseCount,
      );
      count(METRIC.BatchWatched);
      if (trigger === 'siblings-done' || (failed && running.length === 0)) {
        const settling = await budgetStore.settle(batch.arn);
        if (settling) start = { chain: 'settle', round: 0, ticket: settling };
      } else if (failed && first) {
        start = { chain: 'backstop', round: 0, ticket };
      }
    }
    const delaySeconds =
      queue && start
        ? await queue.recheck(batch.arn, start.chain, start.round, {
            phases: recheck?.phases ?? batch.phaseCount,
            ...start.ticket,
          })
        : undefined;
    const line = {
      ...log,
      decision: 'watch',
      reason: 'batch-not-settled',
      ...(start && delaySeconds !== undefined
        ? { recheck: { chain: start.chain, round: start.round, delaySeconds } }
        : {}),
    };
    // A chain's later rounds are routine; the first watch is worth a line.
    if (recheck) logger.debug('Batch still running; re-checking', line);
    else logger.info('Watching batch until it settles', line);
  }

  /**
   * Holds a retryable batch back while its project's circuit is open; after
   * the cooldown, lets exactly one through (the half-open probe). The batch
   * keeps its budget, so the sweep retries it once the circuit closes.
   */
  async #heldByCircuit(
    batch: BatchView,
    failure: string,
    dryRun: boolean,
  ): Promise<BatchOutcome | undefined> {
    const { config, circuits, now } = this.#deps;
    if (config.circuitBreakerThreshold === 0) return undefined;
    const circuit = await circuits.read(batch.projectName);
    const verdict = circuitVerdict(config, circuit, batch.arn, failure, now());
    if (verdict === 'closed') return undefined;
    const log = { batchArn: batch.arn, projectName: batch.projectName };
    if (verdict === 'probe' && circuit) {
      const took =
        dryRun ||
        (await circuits.takeProbe(
          batch.projectName,
          circuit,
          batch.arn,
          failure,
        ));
      if (took) {
        logger.info('Circuit half-open: one retry goes through', log);
        return undefined;
      }
    }
    recordSkip('Retry held back: circuit open', 'circuit-open', log);
    return { batchArn: batch.arn, result: 'skipped', reason: 'circuit-open' };
  }

  /** An outcome moves the project's circuit; each move published once. */
  async #moveCircuit(
    projectName: string,
    batchArn: string,
    failure: string,
    outcome: Outcome,
  ): Promise<void> {
    const { config, circuits, events, now } = this.#deps;
    if (config.circuitBreakerThreshold === 0) return;
    if (outcome !== 'healed' && outcome !== 'failed-again') return;
    const circuit = await circuits.count(projectName, outcome);
    const next = circuitAfter(config, circuit, outcome, batchArn, failure);
    const at = now();
    const moved =
      next === 'open'
        ? await circuits.open(projectName, circuit, at)
        : next === 'closed' &&
          (await circuits.close(projectName, batchArn, failure));
    if (!moved) return;
    const cooldownMinutes = config.circuitBreakerCooldownMinutes;
    const detail = {
      streak: circuit.streak,
      threshold: config.circuitBreakerThreshold,
      cooldownMinutes,
      ...(next === 'open'
        ? { until: new Date(at + cooldownMinutes * 60_000).toISOString() }
        : {}),
    };
    if (next === 'open') {
      logger.warn('Circuit opened: retries of the project are not helping', {
        projectName,
        batchArn,
        ...detail,
      });
      count(METRIC.CircuitOpened);
    } else {
      logger.info('Circuit closed: a retry healed', { projectName, batchArn });
    }
    await events.publish(
      next === 'open' ? BATCH_EVENTS.circuitOpened : BATCH_EVENTS.circuitClosed,
      { batchArn, projectName, circuit: detail },
    );
  }

  /** A decision not to retry, recorded and published once per failure. */
  async #decided(
    batch: BatchView,
    failure: string,
    decision: 'not-retried' | 'exhausted',
    detail: {
      readonly reason: Reason;
      readonly failedGroups?: readonly Classification[];
      readonly attempt?: number;
      readonly maxRetries?: number;
    },
  ): Promise<void> {
    const { history, events } = this.#deps;
    const failedAt = failedAtOf(failure);
    const failedGroups = detail.failedGroups?.map((c) => ({
      identifier: c.identifier,
      class: c.class,
    }));
    const { reason, attempt, maxRetries } = detail;
    const optional = {
      ...(failedGroups ? { failedGroups } : {}),
      ...(attempt === undefined ? {} : { attempt }),
      ...(maxRetries === undefined ? {} : { maxRetries }),
    };
    const { arn: batchArn, projectName } = batch;
    const mine = await history.record({
      batchArn,
      projectName,
      failure,
      decision,
      reason,
      ...optional,
      ...(failedAt === undefined ? {} : { failedAt }),
    });
    if (!mine) return;
    const published = await events.publish(
      decision === 'exhausted'
        ? BATCH_EVENTS.budgetExhausted
        : BATCH_EVENTS.notRetried,
      {
        batchArn,
        projectName,
        reason,
        ...optional,
        ...(failedAt === undefined
          ? {}
          : { failedAt: new Date(failedAt).toISOString() }),
      },
    );
    if (published) await this.#sent(batchArn, failure);
  }

  /**
   * Marks a history item's event sent. A failure here must not fail the
   * invocation: its redelivery would find the event still owed and publish
   * it a second time once the lease ran out. The item then stays owed,
   * which only a copy of this follow-up arriving after the lease acts on.
   */
  async #sent(batchArn: string, failure: string): Promise<void> {
    try {
      await this.#deps.history.published({ batchArn, failure });
    } catch (error) {
      logger.warn('Could not mark a batch event sent', {
        batchArn,
        error: (error as Error).name,
      });
    }
  }

  async #notRetryable(
    batch: BatchView,
    failure: string,
    classifications: readonly Classification[],
    blocking: readonly Classification[],
    complete: boolean,
  ): Promise<BatchOutcome> {
    const { config, budgetStore } = this.#deps;
    recordSkip('Failure not retryable', 'not-retryable', {
      batchArn: batch.arn,
      failedGroups: classifications.map(evidence),
      notRetryable: [...new Set(blocking.map((c) => c.class))],
    });
    for (const cls of new Set(blocking.map((c) => c.class))) {
      countClass(METRIC.NotRetryable, cls);
    }
    // Remembered so the sweep does not classify this failure again every
    // interval; not when a log the decision wanted could not be read, so
    // the next sweep tries again with the log. A dry run writes nothing.
    if (complete && !config.dryRun) {
      const first = await budgetStore.markDeclined(batch.arn, failure);
      if (first) {
        await this.#decided(batch, failure, 'not-retried', {
          reason: 'not-retryable',
          failedGroups: classifications,
        });
      }
    }
    return {
      batchArn: batch.arn,
      result: 'not-retryable',
      reason: 'not-retryable',
      classifications,
    };
  }

  async #retry(
    batch: BatchView,
    policy: ProjectPolicy,
    failure: string,
    classifications: readonly Classification[],
  ): Promise<BatchOutcome> {
    const { budgetStore, queue, now } = this.#deps;
    const reservation = await budgetStore.reserveAttempt(
      batch.arn,
      failure,
      policy.maxRetries,
    );
    if (reservation.kind === 'exhausted') {
      return this.#exhausted(
        batch,
        policy,
        failure,
        reservation.retries,
        false,
      );
    }
    const { attempt } = reservation;
    const request: RetryRequest = {
      batchArn: batch.arn,
      batchId: batch.id,
      attempt,
      failure,
      retryType: policy.retryType,
      token: retryToken(batch.arn, attempt, failure),
    };
    const log = {
      batchArn: batch.arn,
      attempt,
      maxRetries: policy.maxRetries,
      retryType: policy.retryType,
      token: request.token,
    };
    const at = now();
    if (
      reservation.kind === 'duplicate' &&
      isRetryDelayed(reservation.retryAfter, at)
    ) {
      recordSkip('Retry waits out its delay', 'retry-delayed', log);
      return { batchArn: batch.arn, result: 'retry-delayed', attempt };
    }
    const delaySeconds =
      reservation.kind === 'reserved' ? retryDelaySeconds(policy, attempt) : 0;
    if (delaySeconds > 0 && queue) {
      // Reserved first, then delayed: a crash in between retries at once on
      // the next delivery; a lost message is made up by the sweep after
      // the delay; nothing is retried twice (the token is the same).
      const retryAfter = at + delaySeconds * 1000;
      await budgetStore.delayRetry(batch.arn, failure, attempt, retryAfter);
      await queue.delayRetry(request, delaySeconds);
      logger.info('Retry delayed', {
        ...log,
        decision: 'retry',
        reason: 'retry-delayed',
        delaySeconds,
        failedGroups: classifications.map(evidence),
      });
      return {
        batchArn: batch.arn,
        result: 'retry-delayed',
        attempt,
        classifications,
      };
    }
    return this.retryReserved(request, {
      reason: retryReason(reservation.kind),
      maxRetries: policy.maxRetries,
      classifications,
      ...(reservation.kind === 'reserved'
        ? { watched: reservation.watched }
        : {}),
    });
  }

  /**
   * Makes the RetryBuildBatch call of a reserved attempt, at most once per
   * token, and logs and counts what CodeBuild said; then the batch's watch
   * ends (`watched: false` when it has none). The queue's delayed retries
   * come here directly.
   *
   * @example
   * await retrier.retryReserved(message, { reason: 'delayed-retry' });
   */
  async retryReserved(
    request: RetryRequest,
    {
      reason: retried,
      maxRetries,
      classifications = [],
      watched,
    }: {
      readonly reason: Reason;
      readonly maxRetries?: number;
      readonly classifications?: readonly Classification[];
      readonly watched?: boolean;
    },
  ): Promise<BatchOutcome> {
    const { budgetStore, retry, queue, history, now } = this.#deps;
    const { batchArn, attempt, failure, token } = request;
    const log = {
      batchArn,
      attempt,
      ...(maxRetries === undefined ? {} : { maxRetries }),
      retryType: request.retryType,
      token,
    };
    const record = retryRecord(request, maxRetries, classifications, now());
    // The follow-up is queued right before the call, so a kill between
    // CodeBuild's accepting the retry and this invocation's end still has
    // the retry announced and followed to its outcome.
    const step = await retry(
      request,
      queue && (() => queue.recheck(batchArn, 'follow', 0, { retry: record })),
    );

    if (step.kind === 'in-flight') {
      recordSkip('Retry already in flight', 'in-flight', log);
      return { batchArn, result: 'in-flight', attempt };
    }
    // Decided: the watch, and the re-check chain with it, is over.
    if (watched !== false) await budgetStore.unwatch(batchArn);
    const { response, fresh } = step;
    if (response.kind === 'retried' && !fresh) {
      recordSkip('Failure already retried', 'already-retried', log);
      return { batchArn, result: 'already-retried', attempt };
    }
    if (response.kind === 'retried') {
      logger.info('Retried batch', {
        ...log,
        decision: 'retry',
        reason: retried,
        batchStatusAfter: response.status,
        failedGroups: classifications.map(evidence),
      });
      count(METRIC.RetryIssued);
      await this.#retried(batchArn, record);
      return {
        batchArn,
        result: 'retried',
        attempt,
        classifications,
      };
    }

    // CodeBuild refused: the batch is no longer failed, or is gone. Neither
    // is fixed by retrying the invocation, so give the attempt back and stop
    // (and keep the follow-up from announcing a retry that was not made).
    await history.announce(token, 'refused');
    const released = await budgetStore.releaseAttempt(
      batchArn,
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
      batchArn,
      result: refused ? 'refused' : 'not-found',
      reason,
      attempt,
    };
  }

  /**
   * After a retry CodeBuild accepted (once per token): its latency metric
   * and `Batch Retry Issued`, unless its follow-up announced it first.
   */
  async #retried(batchArn: string, record: RetryRecord): Promise<void> {
    if (record.failedAt !== undefined) {
      measureSeconds(
        METRIC.FailureToRetrySeconds,
        Math.max(0, (record.retriedAt - record.failedAt) / 1000),
      );
    }
    await this.#announce(batchArn, record);
  }

  /**
   * Publishes `Batch Retry Issued` if this caller wins the announcement;
   * when EventBridge does not take it, the claim is given back so the
   * retry's follow-up tries again. True once it is published.
   */
  async #announce(batchArn: string, record: RetryRecord): Promise<boolean> {
    const { history, events } = this.#deps;
    if (!(await history.announce(record.token, 'issued'))) return true;
    const published = await events.publish(
      BATCH_EVENTS.retryIssued,
      eventDetail(batchArn, record),
    );
    if (!published) await history.withdraw(record.token);
    return published;
  }

  /**
   * A follow-up re-check of a retried batch: it announces the retry if the
   * invocation that made it could not (it was killed), and once the batch
   * settled (or is gone), records and publishes its outcome once; a new
   * failure then goes through the decision like any other.
   *
   * @example
   * await retrier.follow(batch, message);
   */
  async follow(
    batch: BatchView | undefined,
    message: RecheckMessage & { readonly retry: RetryRecord },
  ): Promise<BatchOutcome | undefined> {
    const { history, events, queue, now } = this.#deps;
    const { batchArn, retry } = message;
    const log = { batchArn, attempt: retry.attempt, token: retry.token };
    let announced = message.announced === true;
    if (!announced && retryMade(batch, retry.failure)) {
      const announcement = await history.announcement(retry.token);
      if (announcement === 'refused') {
        logger.debug('Follow-up ends: CodeBuild refused the retry', log);
        return undefined;
      }
      // Published by the invocation that made the call, unless it died
      // first (or EventBridge refused it then).
      announced =
        announcement === 'issued' || (await this.#announce(batchArn, retry));
    }
    const outcome = retryOutcome(batch, retry.failure);
    if (outcome === 'pending') {
      if (followGivesUp(batch, retry, now())) {
        logger.info('Follow-up ends: the retry was not made', log);
        return undefined;
      }
      await queue?.recheck(batchArn, 'follow', message.round + 1, {
        retry,
        ...(announced ? { announced } : {}),
      });
      return undefined;
    }
    const outcomeAt = batch?.endTime?.getTime() ?? now();
    const first = await history.record({
      batchArn,
      projectName: retry.projectName,
      failure: retry.failure,
      decision: 'retried',
      ...(retry.failedGroups ? { failedGroups: retry.failedGroups } : {}),
      attempt: retry.attempt,
      ...(retry.maxRetries === undefined
        ? {}
        : { maxRetries: retry.maxRetries }),
      ...(retry.failedAt === undefined ? {} : { failedAt: retry.failedAt }),
      retriedAt: retry.retriedAt,
      outcome,
      outcomeAt,
    });
    if (first) {
      const retryToOutcomeSeconds = seconds(outcomeAt - retry.retriedAt);
      logger.info(`Retry outcome: ${outcome}`, {
        ...log,
        outcome,
        retryToOutcomeSeconds,
      });
      countOutcome(outcome);
      await this.#moveCircuit(
        retry.projectName,
        batchArn,
        retry.failure,
        outcome,
      );
      const type = OUTCOME_EVENTS[outcome];
      const published =
        !type ||
        (await events.publish(type, {
          ...eventDetail(batchArn, retry),
          outcome,
          retryToOutcomeSeconds,
        }));
      if (published) await this.#sent(batchArn, retry.failure);
    }
    if (batch?.status !== 'FAILED') return undefined;
    try {
      return await this.handle(batch, 'recheck');
    } catch (error) {
      // The outcome is recorded and its event out: a redelivery of this
      // follow-up would publish it again. The new failure's own events and
      // the sweep decide it instead.
      logger.warn(
        'New failure of a retried batch left to its events and the sweep',
        {
          batchArn,
          error: (error as Error).name,
        },
      );
      return undefined;
    }
  }

  async #dryRun(
    batch: BatchView,
    policy: ProjectPolicy,
    failure: string,
    classifications: readonly Classification[],
    known?: BudgetView,
  ): Promise<BatchOutcome> {
    const { budgetStore } = this.#deps;
    const budget = known ?? (await budgetStore.read(batch.arn));
    const attempt = dryRunAttempt(policy, failure, budget);
    if (attempt === undefined) {
      return this.#exhausted(
        batch,
        policy,
        failure,
        budget?.retries ?? 0,
        false,
      );
    }
    logger.info('Would retry batch (dry run)', {
      batchArn: batch.arn,
      decision: 'would-retry',
      reason: 'dry-run',
      attempt,
      maxRetries: policy.maxRetries,
      retryType: policy.retryType,
      token: retryToken(batch.arn, attempt, failure),
      failedGroups: classifications.map(evidence),
    });
    count(METRIC.RetryWouldIssue);
    return {
      batchArn: batch.arn,
      result: 'would-retry',
      attempt,
      classifications,
    };
  }

  async #exhausted(
    batch: BatchView,
    policy: ProjectPolicy,
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
      maxRetries: policy.maxRetries,
    };
    // Warn and count once per failure; the sweep sees a broken batch again
    // every interval until it leaves the lookback window. A dry run writes
    // nothing, so it cannot remember and reports every time it sees one.
    const firstReport =
      !alreadyReported &&
      (config.dryRun || (await budgetStore.markExhausted(batch.arn, failure)));
    if (firstReport && !config.dryRun) {
      await this.#decided(batch, failure, 'exhausted', {
        reason: 'budget-exhausted',
        attempt: retries,
        maxRetries: policy.maxRetries,
      });
    }
    if (firstReport) {
      logger.warn(
        `Retry budget exhausted after ${retries} of ${policy.maxRetries} retries`,
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

/** A classification as the decision log reports it: the evidence, no text. */
function evidence(c: Classification) {
  const { logTailWouldHelp: _, ...reported } = c;
  return reported;
}

/** The event each outcome publishes, if any. */
const OUTCOME_EVENTS: Partial<Record<Outcome, BatchEventType>> = {
  healed: BATCH_EVENTS.healed,
  'failed-again': BATCH_EVENTS.failedAgain,
};

/** A retry as its follow-up carries it, decided at `retriedAt`. */
function retryRecord(
  request: RetryRequest,
  maxRetries: number | undefined,
  classifications: readonly Classification[],
  retriedAt: number,
): RetryRecord {
  const failedAt = failedAtOf(request.failure);
  return {
    projectName: parseBatchArn(request.batchArn)?.projectName ?? '',
    failure: request.failure,
    attempt: request.attempt,
    ...(maxRetries === undefined ? {} : { maxRetries }),
    token: request.token,
    ...(failedAt === undefined ? {} : { failedAt }),
    retriedAt,
    failedGroups: classifications.map((c) => ({
      identifier: c.identifier,
      class: c.class,
    })),
  };
}

/** A retry's event detail, from what its follow-up carries. */
function eventDetail(batchArn: string, retry: RetryRecord): BatchEventDetail {
  const { failedAt, retriedAt } = retry;
  return {
    batchArn,
    projectName: retry.projectName,
    attempt: retry.attempt,
    ...(retry.maxRetries === undefined ? {} : { maxRetries: retry.maxRetries }),
    token: retry.token,
    ...(retry.failedGroups
      ? { failedGroups: retry.failedGroups as BatchEventDetail['failedGroups'] }
      : {}),
    ...(failedAt === undefined
      ? {}
      : {
          failedAt: new Date(failedAt).toISOString(),
          failureToRetrySeconds: seconds(retriedAt - failedAt),
        }),
    retriedAt: new Date(retriedAt).toISOString(),
  };
}

function seconds(ms: number): number {
  return Math.max(0, Math.round(ms / 1000));
}
