import type { BatchView, BudgetView, BuildLookup } from './batch.js';
import { failureKey } from './batch.js';
import type { Config } from './config.js';
import {
  FAILURE_BUILD_STATUSES,
  type Outcome,
  RECHECK,
  type TerminalBuildStatus,
} from './contract.js';
import type { Classification } from './failure-class.js';
import { type ProjectPolicy, stackPolicy } from './project-policy.js';

// Every retry rule of the service, as pure functions of plain data. The
// handler, the sweep and the retrier ask these; they do not decide.

/** What asked us to look at the batch. */
export type Trigger =
  /** A child build of the batch failed. */
  | 'build-failed'
  /** A child build of the batch ended any other way. */
  | 'build-ended'
  /** The last child still running when a sibling failed has ended. */
  | 'siblings-done'
  /** A re-check message from the queue. */
  | 'recheck'
  /** The scheduled sweep. */
  | 'sweep';

/** Why nothing is retried: the `Reason` dimension of the `Skipped` metric. */
export type SkipReason =
  | 'out-of-scope'
  | 'standalone-build'
  | 'build-not-found'
  | 'batch-not-found'
  | 'batch-in-progress'
  | 'batch-succeeded'
  | 'batch-stopped'
  | 'batch-fault'
  | 'batch-timed-out'
  | 'batch-status-unknown'
  | 'before-lookback'
  | 'retries-disabled'
  /** A healthy build of a batch nothing is waiting on. */
  | 'batch-not-watched'
  /** The event's build failed before a retry replaced it: old news. */
  | 'build-superseded'
  /** A child of a watched batch ended; others still run. */
  | 'siblings-running'
  /** The failure's retry waits out RetryDelaySeconds on the queue. */
  | 'retry-delayed'
  /** The project opted out with its `enabled` tag. */
  | 'project-disabled'
  /** The project's circuit is open: its retries have not been helping. */
  | 'circuit-open'
  /** A failed group's class is not in the policy's RetryOn. */
  | 'not-retryable'
  /** Another invocation is making this very RetryBuildBatch call. */
  | 'in-flight'
  /** An earlier delivery of this failure already retried it. */
  | 'already-retried';

/**
 * The `reason` of every decision log line: one word per cause, each with one
 * meaning.
 */
export type Reason =
  | SkipReason
  /** No budget left for this failure. */
  | 'budget-exhausted'
  /** A child failed while the batch still runs: watched until it settles. */
  | 'batch-not-settled'
  /** A new failure of the batch: a new attempt. */
  | 'batch-failed'
  /** The attempt was reserved by an invocation that died before retrying. */
  | 'resumed-attempt'
  /** The queue delivered a retry that waited out RetryDelaySeconds. */
  | 'delayed-retry'
  /** DryRun: would retry. */
  | 'dry-run'
  /** CodeBuild refused RetryBuildBatch (the batch is no longer failed). */
  | 'retry-refused'
  /** A project named in ProjectNames does not exist. */
  | 'project-not-found'
  /** The input is not an event the function acts on. */
  | 'invalid-event';

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
  /** This failure was already found not retryable and reported. */
  | { readonly action: 'declined'; readonly failure: string }
  | { readonly action: 'skip'; readonly reason: SkipReason };

/** What the service did with one batch. */
export type BatchResult =
  | 'retried'
  | 'would-retry'
  | 'already-retried'
  | 'in-flight'
  | 'watching'
  | 'skipped'
  | 'exhausted'
  | 'refused'
  | 'not-found'
  | 'not-retryable'
  | 'retry-delayed';

/** Inputs of {@link decideRetry} besides the configuration. */
export interface DecisionInput {
  readonly batch: BatchView;
  readonly trigger: Trigger;
  readonly now: Date;
  /** The build whose event asked, if an event did. */
  readonly eventBuildArn?: string;
  /** The project's policy (see {@link needsProjectPolicy}); the stack's if absent. */
  readonly policy?: ProjectPolicy;
  /** Known only where it was read cheaply (the sweep reads budgets in bulk). */
  readonly budget?: BudgetView;
}

/**
 * Watches older than the longest batch timeout (36 h) are dropped: such a
 * batch is stuck or gone, and the lookback scan still finds it if it fails.
 */
export const MAX_WATCH_MS = 48 * 3_600_000;

/**
 * Skips that are the normal state of an account (every succeeded batch,
 * every standalone build, every project out of scope): logged at DEBUG and
 * counted, so an account with thousands of builds a day does not pay log
 * ingestion for lines nobody reads. Everything else is logged at INFO.
 */
const ROUTINE_SKIPS: ReadonlySet<Reason> = new Set<Reason>([
  'out-of-scope',
  'standalone-build',
  'batch-in-progress',
  'batch-succeeded',
  'batch-not-watched',
  'siblings-running',
  'build-superseded',
]);

/** Triggers after which a batch still running is watched until it settles. */
const WATCHING_TRIGGERS: ReadonlySet<Trigger> = new Set<Trigger>([
  'build-failed',
  'siblings-done',
  'recheck',
]);

/**
 * A delayed retry whose message has not arrived this long after it was
 * due is taken as lost: the sweep or a redelivery then makes it.
 */
export const DELAYED_RETRY_GRACE_MS = 2 * 60_000;

const SETTLED_SKIPS: Readonly<Record<string, SkipReason>> = {
  SUCCEEDED: 'batch-succeeded',
  STOPPED: 'batch-stopped',
  FAULT: 'batch-fault',
  TIMED_OUT: 'batch-timed-out',
};

const FAILURES: ReadonlySet<string> = new Set(FAILURE_BUILD_STATUSES);

/**
 * True when a skip `reason` is routine (logged at DEBUG, see
 * {@link ROUTINE_SKIPS}).
 *
 * @example
 * isRoutineSkip('batch-succeeded'); // true
 */
export function isRoutineSkip(reason: Reason): boolean {
  return ROUTINE_SKIPS.has(reason);
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

/**
 * The trigger a child build's terminal status makes: a failure says the
 * batch is about to fail; any other end may be the batch's last event.
 *
 * @example
 * triggerOf('FAULT'); // 'build-failed'
 */
export function triggerOf(buildStatus: TerminalBuildStatus): Trigger {
  return FAILURES.has(buildStatus) ? 'build-failed' : 'build-ended';
}

/**
 * Why a looked-up build that is not a batch's child leads nowhere.
 *
 * @example
 * buildSkipReason({ kind: 'standalone' }); // 'standalone-build'
 */
export function buildSkipReason(
  lookup: Exclude<BuildLookup, { kind: 'batch-child' }>,
): SkipReason {
  return lookup.kind === 'standalone' ? 'standalone-build' : 'build-not-found';
}

/**
 * True when the batch settled inside the lookback window. A batch without
 * an end time has not settled.
 *
 * @example
 * isInLookback(config, batch, new Date());
 */
export function isInLookback(
  config: Config,
  batch: BatchView,
  now: Date,
): boolean {
  const windowStart = now.getTime() - config.lookbackHours * 3_600_000;
  return batch.endTime !== undefined && batch.endTime.getTime() >= windowStart;
}

/**
 * True when the decision depends on the project's own policy (its tags), so
 * reading them is worth a call: the batch failed, or a child failed while it
 * runs (an opted-out project is not watched). Routine events (successes,
 * batches in progress, re-checks of a batch watched already) never read
 * tags.
 *
 * @example
 * needsProjectPolicy(config, batch, 'build-ended'); // false while IN_PROGRESS
 */
export function needsProjectPolicy(
  config: Config,
  batch: BatchView,
  trigger: Trigger,
): boolean {
  if (!isInScope(config, batch.projectName)) return false;
  return (
    batch.status === 'FAILED' ||
    (batch.status === 'IN_PROGRESS' &&
      WATCHING_TRIGGERS.has(trigger) &&
      trigger !== 'recheck')
  );
}

/**
 * True while a reserved attempt's delayed retry is still expected from the
 * queue (`retryAfter` plus {@link DELAYED_RETRY_GRACE_MS}).
 *
 * @example
 * isRetryDelayed(Date.now() + 60_000, Date.now()); // true
 */
export function isRetryDelayed(
  retryAfter: number | undefined,
  now: number,
): boolean {
  return retryAfter !== undefined && now < retryAfter + DELAYED_RETRY_GRACE_MS;
}

/**
 * Seconds before attempt `attempt` is made: the policy's RetryDelaySeconds
 * doubled per attempt after the first, at most SQS's 900 s.
 *
 * @example
 * retryDelaySeconds({ ...policy, retryDelaySeconds: 60 }, 3); // 240
 */
export function retryDelaySeconds(
  policy: ProjectPolicy,
  attempt: number,
): number {
  if (policy.retryDelaySeconds === 0) return 0;
  return Math.min(
    RECHECK.maxDelaySeconds,
    policy.retryDelaySeconds * 2 ** Math.max(0, attempt - 1),
  );
}

/** How a batch still running is re-read from the queue. */
export type RecheckChain =
  /** Children still run: a slow backstop for their lost events. */
  | 'backstop'
  /** The last child ended: quick re-reads until the batch settles. */
  | 'settle'
  /** A retried batch, followed until its outcome is known. */
  | 'follow';

/**
 * The next re-check of a chain that found its batch still running, or
 * undefined when the chain should end: the batch settled and ran again
 * since the chain began, so the run it watched is over and the new run
 * has its own events. Between two runs a batch's phases grow by at least
 * two (the run's end, the next one's start); a run winding down may add
 * one, which must not end the chain. A backstop chain that finds no child
 * running any more (the last one's event was lost) turns into a settle
 * chain.
 *
 * @example
 * nextRecheck({ chain: 'settle', round: 0, phases: 3 }, batch); // { chain: 'settle', round: 1 }
 */
export function nextRecheck(
  message: {
    readonly chain: RecheckChain;
    readonly round: number;
    readonly phases?: number;
  },
  batch: BatchView,
): { readonly chain: RecheckChain; readonly round: number } | undefined {
  if (message.phases !== undefined && batch.phaseCount >= message.phases + 2) {
    return undefined;
  }
  if (message.chain === 'backstop' && batch.runningBuilds.length === 0) {
    return { chain: 'settle', round: 1 };
  }
  return { chain: message.chain, round: message.round + 1 };
}

/**
 * Whether a watched batch's child ending this way starts the settle
 * chain: the last child the watch waited on ended, or a child was STOPPED
 * (a fast-fail batch stops its other children as it fails, so it settles
 * soon even if the last STOPPED event is lost).
 *
 * @example
 * startsSettleChain('STOPPED', 'more'); // true
 */
export function startsSettleChain(
  buildStatus: TerminalBuildStatus,
  ended: 'last' | 'more',
): boolean {
  return ended === 'last' || buildStatus === 'STOPPED';
}

/**
 * The delay of re-check `round` (0-based) of a chain (see `RECHECK`).
 *
 * @example
 * recheckDelaySeconds('settle', 0); // 10
 */
export function recheckDelaySeconds(
  chain: RecheckChain,
  round: number,
): number {
  if (chain === 'follow') return RECHECK.followSeconds;
  if (chain === 'backstop') return RECHECK.backstopSeconds;
  const steps = RECHECK.settleSeconds;
  return steps[Math.min(round, steps.length - 1)] as number;
}

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
  {
    batch,
    trigger,
    now,
    budget,
    eventBuildArn,
    policy = stackPolicy(config),
  }: DecisionInput,
): RetryDecision {
  if (!isInScope(config, batch.projectName)) {
    return { action: 'skip', reason: 'out-of-scope' };
  }
  if (!policy.enabled) return { action: 'skip', reason: 'project-disabled' };
  if (batch.status === 'IN_PROGRESS') {
    // A late copy of a failure the batch was already retried for: the
    // retried run has its own builds and events.
    if (eventBuildArn && !batch.currentBuilds.includes(eventBuildArn)) {
      return { action: 'skip', reason: 'build-superseded' };
    }
    return WATCHING_TRIGGERS.has(trigger)
      ? { action: 'watch', reason: 'batch-not-settled' }
      : { action: 'skip', reason: 'batch-in-progress' };
  }
  if (batch.status !== 'FAILED') {
    return {
      action: 'skip',
      reason: SETTLED_SKIPS[batch.status] ?? 'batch-status-unknown',
    };
  }
  if (!isInLookback(config, batch, now)) {
    return { action: 'skip', reason: 'before-lookback' };
  }
  if (policy.maxRetries === 0) {
    return { action: 'skip', reason: 'retries-disabled' };
  }
  const failure = failureKey(batch);
  if (budget?.declinedFailure === failure) {
    return { action: 'declined', failure };
  }
  if (
    budget?.lastFailure === failure &&
    isRetryDelayed(budget.retryAfter, now.getTime())
  ) {
    return { action: 'skip', reason: 'retry-delayed' };
  }
  if (budget && !hasBudgetFor(policy.maxRetries, failure, budget)) {
    return {
      action: 'exhausted',
      failure,
      retries: budget.retries,
      reported: budget.exhaustedFailure === failure,
    };
  }
  return { action: 'retry', failure, dryRun: config.dryRun };
}

/**
 * The attempt a dry run reports for `failure`: the one it would reserve, or
 * the reserved one when this failure already holds it. Undefined when no
 * budget is left.
 *
 * @example
 * dryRunAttempt(policy, failure, { retries: 1 }); // 2 with MaxRetries 2
 */
export function dryRunAttempt(
  policy: ProjectPolicy,
  failure: string,
  budget: BudgetView = { retries: 0 },
): number | undefined {
  if (!hasBudgetFor(policy.maxRetries, failure, budget)) return undefined;
  return budget.lastFailure === failure ? budget.retries : budget.retries + 1;
}

/**
 * Whether a classified failure may be retried: only when **every** failed
 * group's class is in the policy's RetryOn, since a batch with one genuine
 * failure fails again whatever else went wrong. `blocking` lists the
 * groups that are not retryable.
 *
 * @example
 * retryableByClass(policy, [{ identifier: 'unit', class: 'script' }]);
 * // { retryable: false, blocking: [...] }
 */
export function retryableByClass(
  policy: ProjectPolicy,
  classifications: readonly Classification[],
): { readonly retryable: boolean; readonly blocking: Classification[] } {
  const blocking = classifications.filter(
    (c) => !policy.retryOn.includes(c.class),
  );
  return { retryable: blocking.length === 0, blocking };
}

/**
 * The failed groups whose build log is worth reading: a failed command
 * that only its log tail could make `transient`, when that would change
 * the batch's decision (`script` is not retried, `transient` is, and every
 * other group is already retryable). Reading logs is throttled hard, so a
 * decision already made without them never reads one.
 *
 * @example
 * logTailsWorthReading(config, policy, classifications); // ['e2e']
 */
export function logTailsWorthReading(
  config: Config,
  policy: ProjectPolicy,
  classifications: readonly Classification[],
): string[] {
  const { retryOn } = policy;
  if (config.logTailLines === 0) return [];
  if (retryOn.includes('script') || !retryOn.includes('transient')) return [];
  const undecided = classifications.filter((c) => c.logTailWouldHelp);
  const others = classifications.filter((c) => !c.logTailWouldHelp);
  if (!retryableByClass(policy, others).retryable) return [];
  return undecided.map((c) => c.identifier);
}

/**
 * What a retried batch did, as far as it can be told now: `pending` while
 * the run the retry started goes on, else its outcome. A batch's phases
 * grow by one when a run starts and one when it settles, so more phases
 * than the retried failure had plus two mean the run settled and a later
 * retry started another: the retry did not help.
 *
 * @example
 * retryOutcome(batch, failure); // 'healed' once the run SUCCEEDED
 */
export function retryOutcome(
  batch: BatchView | undefined,
  retriedFailure: string,
): Outcome | 'pending' {
  if (!batch) return 'gone';
  const before = Number(/\/p(\d+)$/.exec(retriedFailure)?.[1] ?? Number.NaN);
  const settledAt = before + 2;
  if (batch.phaseCount > settledAt) return 'failed-again';
  if (batch.status === 'IN_PROGRESS' || failureKey(batch) === retriedFailure) {
    return 'pending';
  }
  switch (batch.status) {
    case 'SUCCEEDED':
      return 'healed';
    case 'STOPPED':
      return 'stopped';
    default:
      return 'failed-again';
  }
}

/**
 * Whether a retried batch shows the retry: it runs again, or failed anew.
 * A follow-up is queued before its RetryBuildBatch call, so it must not
 * announce a retry that a kill or a refusal left unmade.
 *
 * @example
 * retryMade(batch, failure); // true once the retried run started
 */
export function retryMade(
  batch: BatchView | undefined,
  retriedFailure: string,
): boolean {
  return (
    batch !== undefined &&
    (batch.status === 'IN_PROGRESS' || failureKey(batch) !== retriedFailure)
  );
}

/**
 * Whether a follow-up whose retry does not show yet should end: the
 * failure is still there `RECHECK.followUnchangedSeconds` after the retry
 * was decided, so the call was never made or was refused (a later call
 * with the same token queues its own follow-up).
 *
 * @example
 * followGivesUp(batch, retry, Date.now()); // true after 15 minutes unchanged
 */
export function followGivesUp(
  batch: BatchView | undefined,
  retry: { readonly failure: string; readonly retriedAt: number },
  now: number,
): boolean {
  return (
    batch !== undefined &&
    !retryMade(batch, retry.failure) &&
    now - retry.retriedAt > RECHECK.followUnchangedSeconds * 1000
  );
}

/** A project's circuit, as stored. */
export interface CircuitView {
  readonly state: 'closed' | 'open' | 'half-open';
  /** Retries in a row whose outcome was failed-again. */
  readonly streak: number;
  /** When it last opened (epoch ms). */
  readonly openedAt?: number;
  /** The batch let through after the cooldown, while half-open. */
  readonly probeBatch?: string;
  /** The failure of `probeBatch` the probe retries. */
  readonly probeFailure?: string;
}

/** Whether `batchArn`'s `failure` is the half-open circuit's probe. */
function isProbe(
  circuit: CircuitView,
  batchArn: string,
  failure: string,
): boolean {
  return (
    circuit.state === 'half-open' &&
    circuit.probeBatch === batchArn &&
    circuit.probeFailure === failure
  );
}

/**
 * Whether a project's circuit lets `batchArn` be retried now: `closed`
 * (yes), `open` (no: retries have not been helping), or `probe` (the
 * cooldown is over: this batch may be the one retry let through, if it
 * wins the conditional write that takes the probe).
 *
 * @example
 * circuitVerdict(config, circuit, batch.arn, failure, Date.now()); // 'open'
 */
export function circuitVerdict(
  config: Config,
  circuit: CircuitView | undefined,
  batchArn: string,
  failure: string,
  now: number,
): 'closed' | 'open' | 'probe' {
  if (config.circuitBreakerThreshold === 0 || !circuit) return 'closed';
  switch (circuit.state) {
    case 'closed':
      return 'closed';
    case 'half-open': {
      // The probe's own redelivery goes on; every other failure waits (a
      // new failure of the probe's batch too: the probe's outcome, which
      // re-opens the circuit, may not be recorded yet), unless the probe
      // never came to an outcome (it was not retried after all).
      if (isProbe(circuit, batchArn, failure)) return 'closed';
      const stale = 2 * config.circuitBreakerCooldownMinutes * 60_000;
      return now >= (circuit.openedAt ?? 0) + stale ? 'probe' : 'open';
    }
    case 'open': {
      const cooldownMs = config.circuitBreakerCooldownMinutes * 60_000;
      return now >= (circuit.openedAt ?? 0) + cooldownMs ? 'probe' : 'open';
    }
  }
}

/**
 * What an outcome does to the circuit: `healed` closes it (and resets the
 * streak), `failed-again` of the probe re-opens it, and the threshold-th
 * failed-again in a row opens it.
 *
 * @example
 * circuitAfter(config, { state: 'closed', streak: 4 }, 'failed-again', arn, failure); // 'open'
 */
export function circuitAfter(
  config: Config,
  circuit: CircuitView,
  outcome: Outcome,
  batchArn: string,
  failure: string,
): 'open' | 'closed' | 'unchanged' {
  if (config.circuitBreakerThreshold === 0) return 'unchanged';
  const probe = isProbe(circuit, batchArn, failure);
  if (outcome === 'healed') {
    return circuit.state === 'closed'
      ? 'unchanged'
      : probe
        ? 'closed'
        : 'unchanged';
  }
  if (outcome !== 'failed-again') return 'unchanged';
  if (probe) return 'open';
  return circuit.state === 'closed' &&
    circuit.streak >= config.circuitBreakerThreshold
    ? 'open'
    : 'unchanged';
}

/**
 * The reason a retry is made: a freshly reserved attempt, or one a dead
 * invocation reserved for this very failure.
 */
export function retryReason(
  reservation: 'reserved' | 'duplicate',
): 'batch-failed' | 'resumed-attempt' {
  return reservation === 'duplicate' ? 'resumed-attempt' : 'batch-failed';
}

/**
 * Pages of FAILED batches one sweep reads per scope (the account, or one
 * project) when the listing is not newest first and so cannot be cut short
 * by time: 50 pages of 100 is 5,000 failed batches.
 */
export const MAX_SCAN_PAGES = 50;

/** What a sweep's scan of one scope has seen so far. */
export interface ScanState {
  /** Pages read. */
  readonly pages: number;
  /** Every batch so far started no later than the one before it. */
  readonly newestFirst: boolean;
  /** Start of the last batch seen, epoch ms. */
  readonly lastStart?: number;
}

/** The state of a scan before its first page. */
export const NEW_SCAN: ScanState = { pages: 0, newestFirst: true };

/**
 * The sweep's scan of FAILED batches: the batches of a page inside the
 * window are candidates. ListBuildBatches documents its order as "by
 * identifier" (`<project>:<uuid>`), not by time, so the scan checks the
 * order it gets: while every batch started no later than the one before,
 * a page with nothing inside the window ends the scan; once the order is
 * broken, the scan reads on to the end of the list or
 * {@link MAX_SCAN_PAGES}, and says when that cap `truncated` it.
 *
 * @example
 * let state = NEW_SCAN;
 * const scan = scanPage(config, page, new Date(), state);
 * state = scan.state;
 */
export function scanPage(
  config: Config,
  page: readonly BatchView[],
  now: Date,
  previous: ScanState = NEW_SCAN,
): {
  readonly candidates: BatchView[];
  readonly keepGoing: boolean;
  readonly truncated: boolean;
  readonly state: ScanState;
} {
  const candidates = page.filter((b) => isInLookback(config, b, now));
  let { newestFirst, lastStart } = previous;
  for (const batch of page) {
    const start = batch.startTime?.getTime();
    if (start === undefined || (lastStart !== undefined && start > lastStart)) {
      newestFirst = false;
    }
    lastStart = start ?? lastStart;
  }
  const state = { pages: previous.pages + 1, newestFirst, lastStart };
  const wantMore = candidates.length > 0 || !newestFirst;
  const capped = state.pages >= MAX_SCAN_PAGES;
  return {
    candidates,
    keepGoing: wantMore && !capped,
    truncated: wantMore && capped,
    state,
  };
}

/**
 * True when a watch ends before its batch is processed: CodeBuild no longer
 * knows the batch, or it has been watched longer than {@link MAX_WATCH_MS}.
 */
export function watchLapsed(
  watchedAt: number,
  batch: BatchView | undefined,
  now: number,
): boolean {
  return batch === undefined || watchedAt < now - MAX_WATCH_MS;
}

/**
 * True when a watched batch needs no more watching after the sweep
 * processed it: it settled and was not retried. A retry ends the watch
 * itself once it is made; one in flight elsewhere keeps it.
 */
export function watchDone(batch: BatchView, result: BatchResult): boolean {
  if (batch.status === 'IN_PROGRESS') return false;
  return !['retried', 'already-retried', 'in-flight'].includes(result);
}

// The same failure with a reserved attempt goes on, so that a crash between
// reserving and RetryBuildBatch is finished with the same token.
function hasBudgetFor(
  maxRetries: number,
  failure: string,
  budget: BudgetView,
): boolean {
  return budget.lastFailure === failure || budget.retries < maxRetries;
}
