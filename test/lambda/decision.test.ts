import { describe, expect, it } from 'vitest';
import { type BatchView, failureKey } from '../../lambda/batch.js';
import { type Config, loadConfig } from '../../lambda/config.js';
import {
  FAILURE_CLASSES,
  type FailureClass,
  RECHECK,
} from '../../lambda/contract.js';
import {
  buildSkipReason,
  circuitAfter,
  circuitVerdict,
  DELAYED_RETRY_GRACE_MS,
  decideRetry,
  dryRunAttempt,
  followGivesUp,
  isInLookback,
  isInScope,
  isRetryDelayed,
  isRoutineSkip,
  logTailsWorthReading,
  MAX_SCAN_PAGES,
  MAX_WATCH_MS,
  needsProjectPolicy,
  nextRecheck,
  recheckDelaySeconds,
  retryableByClass,
  retryDelaySeconds,
  retryMade,
  retryOutcome,
  retryReason,
  scanPage,
  triggerOf,
  watchDone,
  watchLapsed,
} from '../../lambda/decision.js';
import type { Classification } from '../../lambda/failure-class.js';
import { stackPolicy } from '../../lambda/project-policy.js';

const now = new Date('2026-11-20T12:00:00Z');
// The defaults, with the values these tests rely on spelled out.
const config: Config = {
  ...loadConfig({ TABLE_NAME: 't' }),
  maxRetries: 2,
  lookbackHours: 24,
  circuitBreakerThreshold: 5,
  circuitBreakerCooldownMinutes: 60,
};
const failed: BatchView = {
  arn: 'arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:1',
  id: 'web:1',
  projectName: 'web',
  status: 'FAILED',
  endTime: new Date('2026-11-20T11:00:00Z'),
  phaseCount: 5,
  failedGroups: [],
  phases: [],
  runningBuilds: [],
  currentBuilds: [],
};

describe('decideRetry', () => {
  it('retries a failed batch inside the window', () => {
    expect(
      decideRetry(config, { batch: failed, trigger: 'sweep', now }),
    ).toEqual({ action: 'retry', failure: failureKey(failed), dryRun: false });
  });

  it('says dry run when configured', () => {
    const decision = decideRetry(
      { ...config, dryRun: true },
      { batch: failed, trigger: 'build-failed', now },
    );
    expect(decision).toMatchObject({ action: 'retry', dryRun: true });
  });

  it('skips projects out of scope before anything else', () => {
    const scoped = { ...config, projectNames: ['api'] };
    expect(
      decideRetry(scoped, { batch: failed, trigger: 'build-failed', now }),
    ).toEqual({ action: 'skip', reason: 'out-of-scope' });
  });

  it('watches a running batch after a child failed, skips it otherwise', () => {
    const running = { ...failed, status: 'IN_PROGRESS', endTime: undefined };
    expect(
      decideRetry(config, { batch: running, trigger: 'build-failed', now }),
    ).toEqual({ action: 'watch', reason: 'batch-not-settled' });
    expect(
      decideRetry(config, { batch: running, trigger: 'build-ended', now }),
    ).toEqual({ action: 'skip', reason: 'batch-in-progress' });
    expect(
      decideRetry(config, { batch: running, trigger: 'sweep', now }),
    ).toEqual({ action: 'skip', reason: 'batch-in-progress' });
  });

  it.each([
    ['SUCCEEDED', 'batch-succeeded'],
    ['STOPPED', 'batch-stopped'],
    ['FAULT', 'batch-fault'],
    ['TIMED_OUT', 'batch-timed-out'],
    ['SOMETHING_NEW', 'batch-status-unknown'],
  ])('never retries a %s batch', (status, reason) => {
    expect(
      decideRetry(config, {
        batch: { ...failed, status },
        trigger: 'build-failed',
        now,
      }),
    ).toEqual({ action: 'skip', reason });
  });

  it('never touches a batch that ended before the lookback window', () => {
    const old = { ...failed, endTime: new Date('2026-11-19T11:59:59Z') };
    expect(decideRetry(config, { batch: old, trigger: 'sweep', now })).toEqual({
      action: 'skip',
      reason: 'before-lookback',
    });
    const edge = { ...failed, endTime: new Date('2026-11-19T12:00:00Z') };
    expect(
      decideRetry(config, { batch: edge, trigger: 'sweep', now }).action,
    ).toBe('retry');
  });

  it('observes without retrying when MaxRetries is 0', () => {
    expect(
      decideRetry(
        { ...config, maxRetries: 0 },
        { batch: failed, trigger: 'build-failed', now },
      ),
    ).toEqual({ action: 'skip', reason: 'retries-disabled' });
  });

  it('reports exhaustion when the known budget is spent on earlier failures', () => {
    const decision = decideRetry(config, {
      batch: failed,
      trigger: 'sweep',
      now,
      budget: { retries: 2, lastFailure: 'older' },
    });
    expect(decision).toEqual({
      action: 'exhausted',
      failure: failureKey(failed),
      retries: 2,
      reported: false,
    });
    const again = decideRetry(config, {
      batch: failed,
      trigger: 'sweep',
      now,
      budget: {
        retries: 2,
        lastFailure: 'older',
        exhaustedFailure: failureKey(failed),
      },
    });
    expect(again).toMatchObject({ action: 'exhausted', reported: true });
  });

  it('resumes the attempt already reserved for this very failure', () => {
    const decision = decideRetry(config, {
      batch: failed,
      trigger: 'sweep',
      now,
      budget: { retries: 2, lastFailure: failureKey(failed) },
    });
    expect(decision.action).toBe('retry');
  });
});

describe('isInScope', () => {
  it('treats an empty list as every project', () => {
    expect(isInScope(config, 'anything')).toBe(true);
    expect(isInScope({ ...config, projectNames: ['a1'] }, 'a1')).toBe(true);
    expect(isInScope({ ...config, projectNames: ['a1'] }, 'a2')).toBe(false);
  });
});

describe('isRoutineSkip', () => {
  it('marks the normal state of an account as routine', () => {
    for (const reason of [
      'out-of-scope',
      'standalone-build',
      'batch-in-progress',
      'batch-succeeded',
    ] as const) {
      expect(isRoutineSkip(reason)).toBe(true);
    }
  });

  it('keeps what an operator should see at INFO', () => {
    for (const reason of [
      'batch-fault',
      'batch-timed-out',
      'batch-stopped',
      'batch-status-unknown',
      'before-lookback',
      'retries-disabled',
      'build-not-found',
      'batch-not-found',
      'budget-exhausted',
      'in-flight',
      'already-retried',
    ] as const) {
      expect(isRoutineSkip(reason)).toBe(false);
    }
  });

  it('agrees with the decision for a succeeded batch and a FAULT batch', () => {
    const skip = (status: string) =>
      decideRetry(config, {
        batch: { ...failed, status },
        trigger: 'build-ended',
        now,
      });
    expect(skip('SUCCEEDED')).toEqual({
      action: 'skip',
      reason: 'batch-succeeded',
    });
    expect(skip('FAULT')).toEqual({ action: 'skip', reason: 'batch-fault' });
  });
});

describe('triggerOf and buildSkipReason', () => {
  it('treats FAILED, FAULT and TIMED_OUT children as failures', () => {
    expect(triggerOf('FAILED')).toBe('build-failed');
    expect(triggerOf('FAULT')).toBe('build-failed');
    expect(triggerOf('TIMED_OUT')).toBe('build-failed');
    expect(triggerOf('SUCCEEDED')).toBe('build-ended');
    expect(triggerOf('STOPPED')).toBe('build-ended');
  });

  it('names why a build leads to no batch', () => {
    expect(buildSkipReason({ kind: 'standalone' })).toBe('standalone-build');
    expect(buildSkipReason({ kind: 'not-found' })).toBe('build-not-found');
  });
});

describe('the lookback window', () => {
  it('includes its start and excludes unsettled batches', () => {
    const start = new Date(now.getTime() - 24 * 3_600_000);
    expect(isInLookback(config, { ...failed, endTime: start }, now)).toBe(true);
    const before = new Date(start.getTime() - 1);
    expect(isInLookback(config, { ...failed, endTime: before }, now)).toBe(
      false,
    );
    expect(isInLookback(config, { ...failed, endTime: undefined }, now)).toBe(
      false,
    );
  });

  const at = (iso: string, endTime = failed.endTime) => ({
    ...failed,
    startTime: new Date(iso),
    endTime,
  });
  const stale = new Date('2026-11-01T00:00:00Z');

  it('ends a newest-first scan at the first page with nothing inside the window', () => {
    const recent = at('2026-11-20T10:00:00Z');
    const old = at('2026-10-31T23:00:00Z', stale);
    const first = scanPage(config, [recent, old], now);
    expect(first).toMatchObject({
      candidates: [recent],
      keepGoing: true,
      truncated: false,
      state: { pages: 1, newestFirst: true },
    });
    const second = scanPage(config, [old], now, first.state);
    expect(second).toMatchObject({ candidates: [], keepGoing: false });
  });

  it('reads on past empty pages once the listing is not newest first', () => {
    // Sorted by identifier, say: an old batch before a newer one.
    const old = at('2026-10-31T23:00:00Z', stale);
    const newer = at('2026-11-01T01:00:00Z', stale);
    const scan = scanPage(config, [old, newer], now);
    expect(scan).toMatchObject({
      candidates: [],
      keepGoing: true,
      state: { newestFirst: false },
    });
    // The order across pages counts too.
    const page1 = scanPage(config, [old], now);
    expect(page1.keepGoing).toBe(false);
    const later = scanPage(config, [newer], now, {
      pages: 1,
      newestFirst: true,
      lastStart: old.startTime.getTime(),
    });
    expect(later).toMatchObject({
      keepGoing: true,
      state: { newestFirst: false },
    });
  });

  it('stops at the page cap and says it was truncated', () => {
    const old = at('2026-10-31T23:00:00Z', stale);
    const unordered = { pages: MAX_SCAN_PAGES - 1, newestFirst: false };
    expect(scanPage(config, [old], now, unordered)).toMatchObject({
      keepGoing: false,
      truncated: true,
      state: { pages: MAX_SCAN_PAGES },
    });
    // A scan that would stop anyway is not truncated.
    const ordered = { pages: MAX_SCAN_PAGES - 1, newestFirst: true };
    expect(scanPage(config, [old], now, ordered)).toMatchObject({
      keepGoing: false,
      truncated: false,
    });
  });
});

describe('dryRunAttempt and retryReason', () => {
  const failure = failureKey(failed);
  const policy = stackPolicy(config);

  it('reports the attempt a real run would reserve, or the one held', () => {
    expect(dryRunAttempt(policy, failure)).toBe(1);
    expect(dryRunAttempt(policy, failure, { retries: 1 })).toBe(2);
    expect(
      dryRunAttempt(policy, failure, { retries: 2, lastFailure: failure }),
    ).toBe(2);
    expect(dryRunAttempt(policy, failure, { retries: 2 })).toBeUndefined();
  });

  it('says a duplicate reservation resumes an attempt', () => {
    expect(retryReason('reserved')).toBe('batch-failed');
    expect(retryReason('duplicate')).toBe('resumed-attempt');
  });
});

describe('when to stop watching', () => {
  const t = now.getTime();

  it('drops a watch when the batch is gone or watched too long', () => {
    expect(watchLapsed(t, undefined, t)).toBe(true);
    expect(watchLapsed(t - MAX_WATCH_MS - 1, failed, t)).toBe(true);
    expect(watchLapsed(t - MAX_WATCH_MS, failed, t)).toBe(false);
  });

  it('ends a watch once the batch settled without a retry', () => {
    const running = { ...failed, status: 'IN_PROGRESS' };
    expect(watchDone(running, 'skipped')).toBe(false);
    expect(watchDone(failed, 'skipped')).toBe(true);
    expect(watchDone(failed, 'exhausted')).toBe(true);
    expect(watchDone(failed, 'retried')).toBe(false);
    expect(watchDone(failed, 'in-flight')).toBe(false);
  });
});

describe('project policy in the decision', () => {
  const policy = stackPolicy(config);

  it('reads project tags only when the decision depends on them', () => {
    const running = { ...failed, status: 'IN_PROGRESS', endTime: undefined };
    expect(needsProjectPolicy(config, failed, 'sweep')).toBe(true);
    expect(needsProjectPolicy(config, running, 'build-failed')).toBe(true);
    expect(needsProjectPolicy(config, running, 'build-ended')).toBe(false);
    expect(needsProjectPolicy(config, running, 'recheck')).toBe(false);
    expect(needsProjectPolicy(config, failed, 'recheck')).toBe(true);
    const succeeded = { ...failed, status: 'SUCCEEDED' };
    expect(needsProjectPolicy(config, succeeded, 'build-ended')).toBe(false);
    const scoped = { ...config, projectNames: ['api'] };
    expect(needsProjectPolicy(scoped, failed, 'sweep')).toBe(false);
  });

  it('skips a project that opted out, even while its batch runs', () => {
    const disabled = { ...policy, enabled: false };
    const running = { ...failed, status: 'IN_PROGRESS', endTime: undefined };
    for (const batch of [failed, running]) {
      expect(
        decideRetry(config, {
          batch,
          trigger: 'build-failed',
          now,
          policy: disabled,
        }),
      ).toEqual({ action: 'skip', reason: 'project-disabled' });
    }
  });

  it("uses the project's MaxRetries for the budget", () => {
    const budget = { retries: 2, lastFailure: 'older' };
    const input = { batch: failed, trigger: 'sweep' as const, now, budget };
    expect(decideRetry(config, input).action).toBe('exhausted');
    expect(
      decideRetry(config, { ...input, policy: { ...policy, maxRetries: 5 } })
        .action,
    ).toBe('retry');
    expect(
      decideRetry(config, { ...input, policy: { ...policy, maxRetries: 0 } }),
    ).toEqual({ action: 'skip', reason: 'retries-disabled' });
  });

  it('does not classify a failure already found not retryable', () => {
    const failure = failureKey(failed);
    expect(
      decideRetry(config, {
        batch: failed,
        trigger: 'sweep',
        now,
        budget: { retries: 0, declinedFailure: failure },
      }),
    ).toEqual({ action: 'declined', failure });
    // A new failure of the same batch is classified afresh.
    expect(
      decideRetry(config, {
        batch: failed,
        trigger: 'sweep',
        now,
        budget: { retries: 0, declinedFailure: 'older' },
      }).action,
    ).toBe('retry');
  });
});

describe('retryableByClass', () => {
  const policy = stackPolicy(config);
  const group = (identifier: string, cls: FailureClass): Classification => ({
    identifier,
    class: cls,
  });

  it('retries only when every failed group is retryable', () => {
    expect(
      retryableByClass(policy, [
        group('unit', 'transient'),
        group('lint', 'infrastructure'),
      ]),
    ).toEqual({ retryable: true, blocking: [] });
    const verdict = retryableByClass(policy, [
      group('unit', 'transient'),
      group('e2e', 'script'),
    ]);
    expect(verdict.retryable).toBe(false);
    expect(verdict.blocking.map((c) => c.identifier)).toEqual(['e2e']);
  });

  it('retries every failure with all seven classes', () => {
    const all = { ...policy, retryOn: [...FAILURE_CLASSES] };
    for (const cls of FAILURE_CLASSES) {
      expect(retryableByClass(all, [group('g', cls)]).retryable).toBe(true);
    }
  });
});

describe('logTailsWorthReading', () => {
  const policy = stackPolicy(config);
  const undecided: Classification = {
    identifier: 'unit',
    class: 'script',
    logTailWouldHelp: true,
  };

  it('reads a log only when it can change the decision', () => {
    expect(logTailsWorthReading(config, policy, [undecided])).toEqual(['unit']);
    // Another group already fails the batch for good.
    const broken: Classification = {
      identifier: 'cfg',
      class: 'configuration',
    };
    expect(logTailsWorthReading(config, policy, [undecided, broken])).toEqual(
      [],
    );
    // script is retried anyway, or transient is not.
    const retryAll = { ...policy, retryOn: [...FAILURE_CLASSES] };
    expect(logTailsWorthReading(config, retryAll, [undecided])).toEqual([]);
    const noTransient = { ...policy, retryOn: ['infrastructure' as const] };
    expect(logTailsWorthReading(config, noTransient, [undecided])).toEqual([]);
    // LogTailLines=0 never reads.
    expect(
      logTailsWorthReading({ ...config, logTailLines: 0 }, policy, [undecided]),
    ).toEqual([]);
    // A failure decided without the log is not read.
    expect(
      logTailsWorthReading(config, policy, [
        { identifier: 'u', class: 'script' },
      ]),
    ).toEqual([]);
  });
});

describe('re-check and retry delays', () => {
  const policy = stackPolicy(config);

  it('re-reads a settling batch quickly, a running one slowly', () => {
    expect(
      [0, 1, 2, 3, 4, 5, 6, 7, 20].map((round) =>
        recheckDelaySeconds('settle', round),
      ),
    ).toEqual([10, 20, 20, 20, 20, 20, 20, 20, 20]);
    expect(recheckDelaySeconds('backstop', 0)).toBe(90);
    expect(recheckDelaySeconds('backstop', 9)).toBe(90);
    expect(recheckDelaySeconds('follow', 0)).toBe(90);
    expect(recheckDelaySeconds('follow', 9)).toBe(90);
  });

  it('doubles RetryDelaySeconds per attempt, at most 900 s', () => {
    const delayed = { ...policy, retryDelaySeconds: 60 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(delayed, n))).toEqual([
      60, 120, 240, 480, 900,
    ]);
    expect(retryDelaySeconds(policy, 3)).toBe(0);
  });

  it('leaves a delayed retry to the queue until its grace has passed', () => {
    const due = now.getTime() + 60_000;
    expect(isRetryDelayed(undefined, now.getTime())).toBe(false);
    expect(isRetryDelayed(due, now.getTime())).toBe(true);
    expect(isRetryDelayed(due, due + DELAYED_RETRY_GRACE_MS - 1)).toBe(true);
    expect(isRetryDelayed(due, due + DELAYED_RETRY_GRACE_MS)).toBe(false);
    const failure = failureKey(failed);
    const input = { batch: failed, trigger: 'sweep' as const, now };
    expect(
      decideRetry(config, {
        ...input,
        budget: { retries: 1, lastFailure: failure, retryAfter: due },
      }),
    ).toEqual({ action: 'skip', reason: 'retry-delayed' });
    expect(
      decideRetry(config, {
        ...input,
        budget: {
          retries: 1,
          lastFailure: failure,
          retryAfter: now.getTime() - DELAYED_RETRY_GRACE_MS,
        },
      }).action,
    ).toBe('retry');
  });

  it('watches a running batch after a failure, its last sibling or a re-check; skips superseded builds', () => {
    const running = {
      ...failed,
      status: 'IN_PROGRESS',
      endTime: undefined,
      currentBuilds: ['b2'],
    };
    for (const trigger of [
      'build-failed',
      'siblings-done',
      'recheck',
    ] as const) {
      expect(decideRetry(config, { batch: running, trigger, now }).action).toBe(
        'watch',
      );
    }
    expect(
      decideRetry(config, {
        batch: running,
        trigger: 'build-failed',
        now,
        eventBuildArn: 'b1',
      }),
    ).toEqual({ action: 'skip', reason: 'build-superseded' });
  });
});

describe('retryOutcome', () => {
  // The failure retried: the batch had 4 phases when it settled FAILED.
  const retried = failureKey({ ...failed, phaseCount: 4 });
  const run = (status: string, phaseCount: number, endTime?: Date) => ({
    ...failed,
    status,
    phaseCount,
    endTime,
  });

  it('waits while the retried run goes on, or before CodeBuild restarted it', () => {
    expect(retryOutcome(run('IN_PROGRESS', 5), retried)).toBe('pending');
    expect(retryOutcome({ ...failed, phaseCount: 4 }, retried)).toBe('pending');
  });

  it('tells how the retried run settled', () => {
    const later = new Date('2026-11-20T11:30:00Z');
    expect(retryOutcome(run('SUCCEEDED', 6, later), retried)).toBe('healed');
    expect(retryOutcome(run('FAILED', 6, later), retried)).toBe('failed-again');
    expect(retryOutcome(run('STOPPED', 6, later), retried)).toBe('stopped');
    expect(retryOutcome(undefined, retried)).toBe('gone');
  });

  it('tells whether the retry was made at all, and when to stop waiting for it', () => {
    const unchanged = { ...failed, phaseCount: 4 };
    expect(retryMade(unchanged, retried)).toBe(false);
    expect(retryMade(run('IN_PROGRESS', 5), retried)).toBe(true);
    expect(retryMade(run('FAILED', 6, new Date()), retried)).toBe(true);
    expect(retryMade(undefined, retried)).toBe(false);
    const decided = { failure: retried, retriedAt: 0 };
    const limit = RECHECK.followUnchangedSeconds * 1000;
    expect(followGivesUp(unchanged, decided, limit)).toBe(false);
    expect(followGivesUp(unchanged, decided, limit + 1)).toBe(true);
    expect(followGivesUp(run('IN_PROGRESS', 5), decided, limit + 1)).toBe(
      false,
    );
  });

  it('knows the retry did not help once a later run started', () => {
    expect(retryOutcome(run('IN_PROGRESS', 7), retried)).toBe('failed-again');
    const later = new Date('2026-11-20T11:50:00Z');
    expect(retryOutcome(run('SUCCEEDED', 8, later), retried)).toBe(
      'failed-again',
    );
  });
});

describe('the circuit breaker rules', () => {
  const arn = failed.arn;
  const t = now.getTime();
  const cooldown = config.circuitBreakerCooldownMinutes * 60_000;

  it('holds retries back while open, then offers one probe', () => {
    const f = 'f1';
    expect(circuitVerdict(config, undefined, arn, f, t)).toBe('closed');
    expect(
      circuitVerdict(config, { state: 'closed', streak: 9 }, arn, f, t),
    ).toBe('closed');
    const open = { state: 'open' as const, streak: 5, openedAt: t };
    expect(circuitVerdict(config, open, arn, f, t + cooldown - 1)).toBe('open');
    expect(circuitVerdict(config, open, arn, f, t + cooldown)).toBe('probe');
    const half = {
      ...open,
      state: 'half-open' as const,
      probeBatch: 'other',
      probeFailure: f,
    };
    expect(circuitVerdict(config, half, arn, f, t + cooldown)).toBe('open');
    const mine = { ...half, probeBatch: arn };
    // The probe's own redelivery goes on …
    expect(circuitVerdict(config, mine, arn, f, t)).toBe('closed');
    // … but a new failure of the probe's batch waits for the probe's outcome.
    expect(circuitVerdict(config, mine, arn, 'f2', t + cooldown)).toBe('open');
    // A probe that never came to an outcome is replaced after a while.
    expect(circuitVerdict(config, half, arn, f, t + 2 * cooldown)).toBe(
      'probe',
    );
    const off = { ...config, circuitBreakerThreshold: 0 };
    expect(circuitVerdict(off, open, arn, f, t)).toBe('closed');
  });

  it('opens at the threshold, closes on a healed probe, re-opens on a failed one', () => {
    const f = 'f1';
    const closed = (streak: number) => ({ state: 'closed' as const, streak });
    expect(circuitAfter(config, closed(4), 'failed-again', arn, f)).toBe(
      'unchanged',
    );
    expect(circuitAfter(config, closed(5), 'failed-again', arn, f)).toBe(
      'open',
    );
    expect(circuitAfter(config, closed(0), 'healed', arn, f)).toBe('unchanged');
    const probe = {
      state: 'half-open' as const,
      streak: 5,
      probeBatch: arn,
      probeFailure: f,
    };
    expect(circuitAfter(config, probe, 'healed', arn, f)).toBe('closed');
    expect(circuitAfter(config, probe, 'failed-again', arn, f)).toBe('open');
    expect(circuitAfter(config, probe, 'stopped', arn, f)).toBe('unchanged');
    // Another failure's outcome of the same batch is not the probe's.
    expect(circuitAfter(config, probe, 'healed', arn, 'f0')).toBe('unchanged');
    expect(
      circuitAfter(
        { ...config, circuitBreakerThreshold: 0 },
        closed(9),
        'failed-again',
        arn,
        f,
      ),
    ).toBe('unchanged');
  });
});

describe('nextRecheck', () => {
  const running = {
    ...failed,
    status: 'IN_PROGRESS',
    endTime: undefined,
    phaseCount: 3,
    runningBuilds: ['b1'],
  };

  it('goes on while the run it watches goes on, a phase added as it winds down included', () => {
    expect(
      nextRecheck({ chain: 'settle', round: 2, phases: 3 }, running),
    ).toEqual({ chain: 'settle', round: 3 });
    expect(
      nextRecheck(
        { chain: 'settle', round: 2, phases: 3 },
        { ...running, phaseCount: 4 },
      ),
    ).toEqual({ chain: 'settle', round: 3 });
    expect(nextRecheck({ chain: 'backstop', round: 0 }, running)).toEqual({
      chain: 'backstop',
      round: 1,
    });
  });

  it('turns a backstop into a settle chain once no child runs', () => {
    expect(
      nextRecheck(
        { chain: 'backstop', round: 4, phases: 3 },
        { ...running, runningBuilds: [] },
      ),
    ).toEqual({ chain: 'settle', round: 1 });
  });

  it('ends when the batch settled and ran again since the chain began', () => {
    expect(
      nextRecheck(
        { chain: 'settle', round: 1, phases: 3 },
        {
          ...running,
          phaseCount: 5,
        },
      ),
    ).toBeUndefined();
  });
});
