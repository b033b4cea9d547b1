import {
  afterAll,
  afterEach,
  beforeAll,
  describe,
  expect,
  it,
  vi,
} from 'vitest';
import { RECHECK, SDK_MAX_ATTEMPTS } from '../../lambda/contract.js';
import type { Handler } from '../../lambda/create-handler.js';
import { SweepIncompleteError } from '../../lambda/errors.js';
import { logger } from '../../lambda/logger.js';
import {
  type CapturedLogs,
  captureLogs,
} from '../../tools/local-aws/capture-logs.js';
import type { CodeBuildEmulator } from '../../tools/local-aws/codebuild/emulator.js';
import { FAILURES } from '../../tools/local-aws/codebuild/failures.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';
import {
  createSecretProject,
  eventFixture,
  FIXTURE_SECRET,
} from '../support/fixtures.js';

// Integration: the real handler, the real SDK clients over HTTP, dynalite and
// the wire-level CodeBuild emulator on 127.0.0.1. Nothing is mocked.

const SECRET = FIXTURE_SECRET;
const sample = eventFixture('build-state-failed.json');

let h: Harness;
let cb: CodeBuildEmulator;
let logs: CapturedLogs;

beforeAll(async () => {
  h = await startHarness();
  cb = h.codebuild;
});
afterAll(() => h.stop());
afterEach(() => {
  vi.restoreAllMocks();
  logs?.restore();
  cb.setFaults({});
});

/** A fresh project per test keeps request counts and budgets apart. */
const newProject = () => createSecretProject(cb);

type BuildEvent = Record<string, unknown>;

/** Runs a two-group batch whose `integration` group fails. */
function failingBatch(project: string, settle = true) {
  const batch = cb.startBatch(project, { groups: ['unit', 'integration'] });
  const [unit, integration] = childArns(batch.arn);
  cb.completeBuild(unit, 'SUCCEEDED');
  const success = lastEvent();
  cb.completeBuild(integration, 'FAILED');
  const failure = lastEvent();
  if (settle) cb.settleBatch(batch.arn);
  return { batch, failure, success };
}

function childArns(batchArn: string): string[] {
  const batch = cb.getBatch(batchArn);
  return (batch.buildGroups ?? []).map(
    (group) => group.currentBuildSummary?.arn as string,
  );
}

/** Fails whatever the last retry restarted, then settles the batch. */
function failAgain(batchArn: string): BuildEvent {
  const running = (cb.getBatch(batchArn).buildGroups ?? []).filter(
    (g) => g.currentBuildSummary?.buildStatus === 'IN_PROGRESS',
  );
  for (const group of running) {
    cb.completeBuild(group.currentBuildSummary?.arn as string, 'FAILED');
  }
  cb.settleBatch(batchArn);
  return lastEvent();
}

function succeedAll(batchArn: string): void {
  for (const group of cb.getBatch(batchArn).buildGroups ?? []) {
    if (group.currentBuildSummary?.buildStatus === 'IN_PROGRESS') {
      cb.completeBuild(group.currentBuildSummary.arn as string, 'SUCCEEDED');
    }
  }
  cb.settleBatch(batchArn);
}

function lastEvent(): BuildEvent {
  return cb.events[cb.events.length - 1] as unknown as BuildEvent;
}

function retryCalls(batchId: string) {
  return cb.requests.filter(
    (r) =>
      r.operation === 'RetryBuildBatch' &&
      (r.input as { id?: string }).id === batchId,
  );
}

async function budgetOf(batchArn: string) {
  const items = await h.dynamo.scan();
  return items.find((item) => item.id === `batch#${batchArn}`);
}

const invoke = (handler: Handler, event: unknown, timeoutMs?: number) =>
  handler(event, lambdaContext(timeoutMs));
const sweep = (handler: Handler) => invoke(handler, { kind: 'sweep' });

describe('retrying failed batches', () => {
  it('heals a flaky batch with one retry', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);

    const result = await invoke(handler, failure);

    expect(result).toMatchObject({
      kind: 'batch',
      result: 'retried',
      attempt: 1,
    });
    expect(cb.retryCount(batch.arn)).toBe(1);
    const [call] = retryCalls(batch.id);
    expect(call.input).toMatchObject({
      id: batch.id,
      retryType: 'RETRY_FAILED_BUILDS',
    });
    succeedAll(batch.arn);
    expect(cb.getBatch(batch.arn).buildBatchStatus).toBe('SUCCEEDED');
    // Nothing waits on the healed batch: its healthy builds cost no call.
    expect(await invoke(handler, lastEvent())).toEqual({
      kind: 'ignored',
      reason: 'batch-not-watched',
    });
    expect(cb.retryCount(batch.arn)).toBe(1);
  });

  it('gives a broken batch exactly MaxRetries retries, each with a new token', async () => {
    const project = newProject();
    const handler = h.handler({ maxRetries: 3 });
    const { batch, failure } = failingBatch(project);

    let event: BuildEvent = failure;
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(await invoke(handler, event)).toMatchObject({
        result: 'retried',
        attempt,
      });
      event = failAgain(batch.arn);
    }
    logs = captureLogs();
    expect(await invoke(handler, event)).toMatchObject({
      result: 'exhausted',
      reason: 'budget-exhausted',
    });
    expect(await sweep(handler)).toMatchObject({ kind: 'sweep' });
    logs.restore();

    expect(cb.retryCount(batch.arn)).toBe(3);
    const tokens = retryCalls(batch.id).map(
      (r) => (r.input as { idempotencyToken: string }).idempotencyToken,
    );
    expect(new Set(tokens).size).toBe(3);
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 3 });
    // Warned once, with the count, although the sweep saw it again.
    const warnings = logs
      .records()
      .filter((r) => r.level === 'WARN' && r.reason === 'budget-exhausted');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ retries: 3, maxRetries: 3 });
    expect(String(warnings[0].message)).toContain('3 of 3');
    expect(metricTotal(logs, 'BudgetExhausted')).toBe(1);
  });

  it('retries once for the same failure delivered again, later and by the sweep', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure, success } = failingBatch(project);

    await invoke(handler, failure);
    await invoke(handler, failure);
    await invoke(handler, success);
    await sweep(handler);

    expect(retryCalls(batch.id)).toHaveLength(1);
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 1 });
  });

  it('turns 10 concurrent deliveries of one event into one call', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);

    const results = await Promise.all(
      Array.from({ length: 10 }, () => invoke(handler, failure)),
    );

    expect(retryCalls(batch.id)).toHaveLength(1);
    expect(cb.retryCount(batch.arn)).toBe(1);
    expect(
      results.filter((r) => 'result' in r && r.result === 'retried'),
    ).toHaveLength(1);
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 1 });
  });

  it('retries a batch that settles after its failed child, through a sibling event and its settle chain', async () => {
    const project = newProject();
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const batch = cb.startBatch(project, { groups: ['unit', 'integration'] });
    const [unit, integration] = childArns(batch.arn);
    cb.completeBuild(integration, 'FAILED');
    const failure = lastEvent();

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'watching',
      reason: 'batch-not-settled',
    });
    expect(retryCalls(batch.id)).toHaveLength(0);

    cb.completeBuild(unit, 'SUCCEEDED');
    cb.settleBatch(batch.arn);
    expect(await invoke(handler, lastEvent())).toMatchObject({
      result: 'watching',
    });
    expect(cb.retryCount(batch.arn)).toBe(0);
    h.clock.shift(RECHECK.settleSeconds[0] * 1000);
    await source.drain();
    expect(cb.retryCount(batch.arn)).toBe(1);
  });

  it('retries a watched batch on the next sweep when no event follows', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project, false);

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'watching',
    });
    cb.settleBatch(batch.arn);
    const summary = await sweep(handler);

    expect(summary).toMatchObject({ kind: 'sweep' });
    expect(cb.retryCount(batch.arn)).toBe(1);
    expect((await budgetOf(batch.arn))?.watchShard).toBeUndefined();
  });

  it('retries, on the sweep, a batch whose events were all lost', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch } = failingBatch(project);
    // A batch buildspec the source provider could not serve: not broken.
    const { statusCode, message } = FAILURES.sourceUnavailable;
    const beforeChildren = cb.failBatchBeforeBuilds(project, {
      statusCode,
      message,
    });

    await sweep(handler);

    expect(cb.retryCount(batch.arn)).toBe(1);
    expect(cb.retryCount(beforeChildren.arn)).toBe(1);
  });

  it('sweeps the other projects when one cannot be listed, then fails so the sweep runs again', async () => {
    const [listed, throttled] = [newProject(), newProject()];
    const handler = h.handler({ projectNames: [throttled, listed] });
    const behind = failingBatch(throttled).batch;
    const reached = failingBatch(listed).batch;
    // The first project's listing is throttled past every SDK attempt.
    cb.failNext('ListBuildBatchesForProject', SDK_MAX_ATTEMPTS, 'throttle');
    logs = captureLogs();

    await expect(sweep(handler)).rejects.toThrow(SweepIncompleteError);

    expect(cb.retryCount(reached.arn)).toBe(1);
    expect(cb.retryCount(behind.arn)).toBe(0);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Sweep step failed; the sweep goes on',
        step: 'project-scan',
        projectName: throttled,
      }),
    );
    expect(metricTotal(logs, 'SweepFailures')).toBe(1);
    await sweep(handler);
    expect(cb.retryCount(behind.arn)).toBe(1);
    expect(cb.retryCount(reached.arn)).toBe(1);
  });

  it('never touches a batch that ended before the lookback window', async () => {
    const project = newProject();
    const handler = h.handler({ lookbackHours: 1 });
    h.clock.shift(-2 * 3_600_000);
    const { batch, failure } = failingBatch(project);
    h.clock.shift(2 * 3_600_000);

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'skipped',
      reason: 'before-lookback',
    });
    await sweep(handler);

    expect(retryCalls(batch.id)).toHaveLength(0);
    expect(await budgetOf(batch.arn)).toBeUndefined();
  });
});

describe('failures along the way', () => {
  it('finishes a reserved attempt after the process died mid-call, with the same token', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);

    // The first invocation reserves, then its RetryBuildBatch hangs past the
    // Lambda deadline: the runtime would kill it there, leaving the
    // reservation and an in-progress idempotency record behind.
    cb.setFaults({ latencyMs: 3_000, operations: ['RetryBuildBatch'] });
    const abandoned = invoke(handler, failure, 300).catch(() => undefined);
    await waitFor(
      () =>
        cb.arrivals.some(
          (r) =>
            r.operation === 'RetryBuildBatch' &&
            (r.input as { id?: string }).id === batch.id,
        ) || undefined,
    );
    expect(retryCalls(batch.id)).toHaveLength(0);
    cb.setFaults({});
    await sleep(400);

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'retried',
      attempt: 1,
    });
    await abandoned;

    // Both calls reached CodeBuild; the shared token made the late one a
    // replay, so the batch was retried once and one attempt was consumed.
    expect(retryCalls(batch.id)).toHaveLength(2);
    expect(cb.retryCount(batch.arn)).toBe(1);
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 1 });
    const tokens = new Set(
      retryCalls(batch.id).map(
        (r) => (r.input as { idempotencyToken: string }).idempotencyToken,
      ),
    );
    expect(tokens.size).toBe(1);
  });

  it('rides out throttling and 5xx with SDK retries', async () => {
    // The SDK's backoff is random * base delay; a small draw keeps the real
    // retry strategy but makes its waits short.
    vi.spyOn(Math, 'random').mockReturnValue(0.01);
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);
    cb.failNext('BatchGetBuilds', 2, 'throttle');
    cb.failNext('RetryBuildBatch', 1, 'server-error');

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'retried',
    });
    expect(cb.retryCount(batch.arn)).toBe(1);
    expect(
      cb.requests.filter((r) => r.errorType === 'ThrottlingException').length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('fails the invocation when CodeBuild keeps throttling, and the redelivery retries', async () => {
    // The SDK's backoff is random * base delay; a small draw keeps the real
    // retry strategy but makes its waits short.
    vi.spyOn(Math, 'random').mockReturnValue(0.01);
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);
    cb.setFaults({ throttleRate: 1, operations: ['RetryBuildBatch'] });

    await expect(invoke(handler, failure)).rejects.toThrow(/Rate exceeded/);
    expect(cb.retryCount(batch.arn)).toBe(0);

    cb.setFaults({});
    expect(await invoke(handler, failure)).toMatchObject({
      result: 'retried',
      attempt: 1,
    });
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 1 });
  });

  it('fails the invocation while DynamoDB is down, and the redelivery retries', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);
    await h.dynamo.interrupt();
    try {
      await expect(invoke(handler, failure)).rejects.toThrow();
    } finally {
      await h.dynamo.resume();
    }
    expect(cb.retryCount(batch.arn)).toBe(0);
    expect(await invoke(handler, failure)).toMatchObject({
      result: 'retried',
    });
    expect(cb.retryCount(batch.arn)).toBe(1);
  });

  it('gives the attempt back when CodeBuild says the batch is no longer failed', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);
    cb.failNext('RetryBuildBatch', 1, {
      type: 'InvalidInputException',
      status: 400,
      message: 'Only failed batch builds can be retried',
    });

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'refused',
      reason: 'retry-refused',
    });
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 0 });
  });

  it('logs and skips a batch CodeBuild no longer knows', async () => {
    const project = newProject();
    const handler = h.handler();
    const { batch, failure } = failingBatch(project);
    cb.failNext('RetryBuildBatch', 1, {
      type: 'ResourceNotFoundException',
      status: 400,
      message: 'Batch not found',
    });

    logs = captureLogs();
    expect(await invoke(handler, failure)).toMatchObject({
      result: 'not-found',
      reason: 'batch-not-found',
    });
    logs.restore();
    expect(await budgetOf(batch.arn)).toMatchObject({ retries: 0 });
    expect(logs.records().some((r) => r.reason === 'batch-not-found')).toBe(
      true,
    );
  });
});

describe('what is never retried', () => {
  it('ignores a standalone build', async () => {
    const project = newProject();
    const handler = h.handler();
    const build = cb.startBuild(project);
    cb.completeBuild(build.arn, 'FAILED');

    const event = lastEvent();
    logs = captureLogs();
    expect(await invoke(handler, event)).toEqual({
      kind: 'ignored',
      reason: 'standalone-build',
    });
    logs.restore();
    // Routine: counted under its reason, no line at the default INFO level.
    expect(logs.records().filter((r) => r.level !== undefined)).toEqual([]);
    expect(
      logs
        .records()
        .filter((r) => r._aws !== undefined && r.Reason === 'standalone-build')
        .map((r) => r.Skipped),
    ).toEqual([1]);

    // At DEBUG the same event is logged with its decision and reason.
    logger.setLogLevel('DEBUG');
    try {
      logs = captureLogs();
      await invoke(handler, event);
    } finally {
      logs.restore();
      logger.setLogLevel('INFO');
    }
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'DEBUG',
        decision: 'skip',
        reason: 'standalone-build',
      }),
    );
  });

  it('ignores a project out of scope without any API call', async () => {
    const project = newProject();
    const handler = h.handler({ projectNames: ['some-other-project'] });
    const { batch, failure } = failingBatch(project);
    cb.resetLog();

    expect(await invoke(handler, failure)).toEqual({
      kind: 'ignored',
      reason: 'out-of-scope',
    });
    expect(cb.requests).toHaveLength(0);
    expect(await h.dynamo.scan()).not.toContainEqual(
      expect.objectContaining({ batchArn: batch.arn }),
    );

    // The sweep lists only the configured project (which does not exist);
    // it may re-read batches other tests left watched, never retry them.
    await sweep(handler);
    const listed = cb.requests.filter(
      (r) => r.operation === 'ListBuildBatchesForProject',
    );
    expect(listed.map((r) => r.input)).toEqual([
      expect.objectContaining({ projectName: 'some-other-project' }),
    ]);
    expect(
      cb.requests.filter(
        (r) =>
          !['ListBuildBatchesForProject', 'BatchGetBuildBatches'].includes(
            r.operation,
          ),
      ),
    ).toEqual([]);
    expect(cb.retryCount(batch.arn)).toBe(0);
  });

  it('observes without retrying when MaxRetries is 0', async () => {
    const project = newProject();
    const handler = h.handler({ maxRetries: 0 });
    const { batch, failure } = failingBatch(project);

    expect(await invoke(handler, failure)).toMatchObject({
      result: 'skipped',
      reason: 'retries-disabled',
    });
    await sweep(handler);
    expect(cb.retryCount(batch.arn)).toBe(0);
  });

  it('logs "would retry" in dry run and never calls RetryBuildBatch', async () => {
    const project = newProject();
    const handler = h.handler({ dryRun: true });
    const { batch, failure } = failingBatch(project);

    logs = captureLogs();
    expect(await invoke(handler, failure)).toMatchObject({
      result: 'would-retry',
      attempt: 1,
    });
    logs.restore();
    expect(retryCalls(batch.id)).toHaveLength(0);
    const line = logs.records().find((r) => r.decision === 'would-retry');
    expect(line).toMatchObject({
      level: 'INFO',
      batchArn: batch.arn,
      reason: 'dry-run',
      attempt: 1,
    });
    expect(await budgetOf(batch.arn)).toBeUndefined();
  });

  it('rejects malformed events with a logged reason, a metric and no call', async () => {
    const handler = h.handler();
    cb.resetLog();
    const detail = sample.detail as Record<string, unknown>;
    const malformed = [
      null,
      { ...sample, source: 'aws.ec2' },
      { ...sample, detail: { ...detail, 'build-id': SECRET } },
      { ...sample, detail: { ...detail, 'build-status': 42 } },
      { ...sample, detail: undefined },
      { ...sample, padding: 'x'.repeat(300_000) },
    ];

    logs = captureLogs();
    for (const event of malformed) {
      expect(await invoke(handler, event)).toMatchObject({ kind: 'rejected' });
    }
    logs.restore();

    expect(cb.requests).toHaveLength(0);
    const rejections = logs.records().filter((r) => r.decision === 'reject');
    expect(rejections).toHaveLength(malformed.length);
    for (const line of rejections) {
      expect(line.reason).toBe('invalid-event');
      expect(line.problem).toEqual(expect.any(String));
    }
    expect(metricTotal(logs, 'InvalidEvent')).toBe(malformed.length);
    expect(logs.text()).not.toContain(SECRET);
  });
});

describe('logs', () => {
  it('never contain an environment variable value from an event', async () => {
    const project = newProject();
    const handler = h.handler({ maxRetries: 1 });
    // The most verbose level, so that every line the function can write is
    // checked.
    const { batch, failure } = failingBatch(project);
    const withSample = {
      ...failure,
      detail: {
        ...(failure.detail as object),
        'additional-information': (sample.detail as Record<string, unknown>)[
          'additional-information'
        ],
      },
    };
    logger.setLogLevel('DEBUG');
    logs = captureLogs();
    try {
      await invoke(handler, withSample);
      await invoke(handler, failAgain(batch.arn));
      await invoke(handler, sample);
      await sweep(handler);
    } finally {
      logs.restore();
      logger.setLogLevel('INFO');
    }

    expect(JSON.stringify(failure)).toContain(SECRET);
    expect(logs.text().length).toBeGreaterThan(0);
    expect(logs.text()).not.toContain(SECRET);
    expect(logs.records().some((r) => r.level === 'DEBUG')).toBe(true);
    // Every decision line names the event, the batch, the decision and why.
    const decisions = logs.records().filter((r) => r.decision);
    expect(decisions.length).toBeGreaterThan(2);
    for (const line of decisions.filter((r) => r.batchArn)) {
      expect(line).toMatchObject({
        eventId: expect.any(String),
        reason: expect.any(String),
      });
    }
  });
});

function metricTotal(captured: CapturedLogs, name: string): number {
  return captured
    .records()
    .filter((r) => r._aws !== undefined && typeof r[name] === 'number')
    .reduce((sum, r) => sum + (r[name] as number), 0);
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs = 5_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(10);
  }
  throw new Error('condition not met in time');
}

describe('the sweep, whatever order CodeBuild lists batches in', () => {
  // ListBuildBatches is documented as sorted by identifier (`<project>:
  // <uuid>`), not by time. Old failures in a project whose name sorts
  // first fill the first pages; a recent failure sorts after them.
  it.each(['start-time', 'identifier'] as const)(
    'finds a recent failure behind pages of old ones, listed by %s',
    async (order) => {
      const handler = h.handler();
      const old = `zz-old-${order}`;
      const recent = `aa-recent-${order}`;
      cb.createProject(old);
      cb.createProject(recent);
      h.clock.shift(-30 * 3_600_000);
      for (let i = 0; i < 120; i++) {
        h.clock.shift(1_000);
        failingBatch(old);
      }
      h.clock.shift(30 * 3_600_000 - 120_000);
      const { batch } = failingBatch(recent);
      cb.listBatchesBy(order);
      try {
        await sweep(handler);
      } finally {
        cb.listBatchesBy('start-time');
      }

      expect(cb.retryCount(batch.arn)).toBe(1);
    },
  );
});
