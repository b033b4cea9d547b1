import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_READ_MAX_ATTEMPTS } from '../../lambda/build-logs.js';
import type { Handler } from '../../lambda/create-handler.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import type { TerminalStatus } from '../../tools/local-aws/codebuild/emulator.js';
import {
  type BuildFailure,
  FAILURES,
} from '../../tools/local-aws/codebuild/failures.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';

// Integration: failures classified end to end. The real handler and SDK
// clients over HTTP against dynalite, the CodeBuild emulator (builds failed
// with the phases and contexts CodeBuild reports) and the CloudWatch Logs
// emulator (the builds' logs). Calls are counted from the servers' logs.

let h: Harness;
let handler: Handler;
let projects = 0;

beforeAll(async () => {
  h = await startHarness();
  handler = h.handler();
});
afterAll(() => h.stop());

/** A secret a build printed to its log: it must never leave the log. */
const LOG_SECRET = 'ghp_logTailSecret0123456789abcdefABCDEF';

function newProject(tags?: Record<string, string>): string {
  projects += 1;
  const name = `classes-${projects}`;
  h.codebuild.createProject(name, tags ? { tags } : {});
  return name;
}

type GroupEnd = readonly [TerminalStatus, BuildFailure?];

/**
 * A batch whose groups end as given, settled; returns the event of the
 * last failed group, as the rule would deliver it.
 */
function settledBatch(project: string, ends: Record<string, GroupEnd>) {
  const groups = Object.keys(ends);
  const batch = h.codebuild.startBatch(project, { groups });
  const builds = h.codebuild.currentBuilds(batch.arn);
  let event: unknown;
  groups.forEach((group, i) => {
    const [status, failure] = ends[group] as GroupEnd;
    const ended = h.codebuild.completeBuild(
      builds[i]?.arn as string,
      status,
      failure,
    );
    if (status !== 'SUCCEEDED') event = ended;
  });
  h.codebuild.settleBatch(batch.arn);
  return { batch, event };
}

/** Invokes the handler; the operations each server received meanwhile. */
async function run(event: unknown, fn: Handler = handler) {
  const marks = [h.codebuild, h.dynamo, h.logs].map((s) => s.requests.length);
  const result = await fn(event, lambdaContext());
  const [codebuild, dynamo, logs] = [h.codebuild, h.dynamo, h.logs].map(
    (s, i) => s.requests.slice(marks[i]).map((r) => r.operation),
  ) as [string[], string[], string[]];
  return { result, codebuild, dynamo, logs };
}

describe('each class, end to end', () => {
  it.each([
    ['script', ['FAILED', FAILURES.testFailure], false],
    ['transient', ['FAILED', FAILURES.outOfMemory], true],
    ['transient', ['FAILED', FAILURES.networkInLog], true],
    ['infrastructure', ['FAILED', FAILURES.pullRateLimit], true],
    ['infrastructure', ['FAULT'], true],
    ['configuration', ['FAILED', FAILURES.missingImage], false],
    ['configuration', ['FAILED', FAILURES.brokenBuildspec], false],
    ['configuration', ['FAILED', FAILURES.noArtifacts], false],
    ['source', ['FAILED', FAILURES.sourceUnavailable], true],
    ['timeout', ['TIMED_OUT'], true],
  ] as const)('%s (%#): retried %s', async (cls, end, retried) => {
    const project = newProject();
    const { batch, event } = settledBatch(project, {
      unit: ['SUCCEEDED'],
      e2e: end as GroupEnd,
    });

    const { result } = await run(event);

    expect(result).toMatchObject({
      kind: 'batch',
      result: retried ? 'retried' : 'not-retryable',
      classifications: [
        expect.objectContaining({ identifier: 'e2e', class: cls }),
      ],
    });
    expect(h.codebuild.retryCount(batch.arn)).toBe(retried ? 1 : 0);
  });

  it('reports the evidence: phase, status code, exit code, signature', async () => {
    const project = newProject();
    const { event } = settledBatch(project, {
      oom: ['FAILED', FAILURES.outOfMemory],
    });
    const { logs } = await whileCapturing(() => run(event));
    const line = logs.records().find((r) => r.message === 'Retried batch');
    expect(line?.failedGroups).toEqual([
      {
        identifier: 'oom',
        class: 'transient',
        phase: 'BUILD',
        statusCode: 'COMMAND_EXECUTION_ERROR',
        exitCode: 137,
      },
    ]);
  });

  it('does not retry a batch with one genuine failure among retryable ones', async () => {
    const project = newProject();
    const { batch, event } = settledBatch(project, {
      lint: ['FAILED', FAILURES.outOfMemory],
      unit: ['FAILED', FAILURES.testFailure],
    });
    const { value: outcome, logs } = await whileCapturing(() => run(event));

    expect(outcome.result).toMatchObject({ result: 'not-retryable' });
    expect(h.codebuild.retryCount(batch.arn)).toBe(0);
    const line = logs
      .records()
      .find((r) => r.message === 'Failure not retryable');
    expect(line).toMatchObject({
      level: 'INFO',
      decision: 'skip',
      reason: 'not-retryable',
      notRetryable: ['script'],
    });
    // Counted per class, in its own EMF blob.
    const metric = logs
      .records()
      .find((r) => r.NotRetryable !== undefined && r.Class === 'script');
    expect(metric).toBeDefined();
  });

  it('ignores a failed group that ignores failure, and a batch that failed before any build', async () => {
    const project = newProject();
    const batch = h.codebuild.startBatch(project, {
      groups: ['unit', 'canary'],
      ignoreFailure: ['canary'],
    });
    const [unit, canary] = h.codebuild.currentBuilds(batch.arn);
    h.codebuild.completeBuild(
      canary?.arn as string,
      'FAILED',
      FAILURES.testFailure,
    );
    const event = h.codebuild.completeBuild(
      unit?.arn as string,
      'FAILED',
      FAILURES.pullRateLimit,
    );
    h.codebuild.settleBatch(batch.arn);

    const { result } = await run(event);

    expect(result).toMatchObject({
      result: 'retried',
      classifications: [{ identifier: 'unit', class: 'infrastructure' }],
    });

    const broken = h.codebuild.failBatchBeforeBuilds(project);
    await run({ kind: 'sweep' });
    expect(h.codebuild.retryCount(broken.arn)).toBe(0);
  });
});

describe('remote calls and log reads', () => {
  it('reuses the event build when it is the only failure, and reads no log for a failure decided by its exit code', async () => {
    const project = newProject();
    const { event } = settledBatch(project, {
      unit: ['SUCCEEDED'],
      e2e: ['FAILED', FAILURES.outOfMemory],
    });

    const { codebuild, logs } = await run(event);

    expect(codebuild.filter((op) => op === 'BatchGetBuilds')).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it('reads builds of several failed groups in one call', async () => {
    const project = newProject();
    const { event } = settledBatch(project, {
      unit: ['FAILED', FAILURES.outOfMemory],
      e2e: ['FAILED', FAILURES.pullRateLimit],
      lint: ['TIMED_OUT'],
    });

    const { result, codebuild, logs } = await run(event);

    expect(result).toMatchObject({ result: 'retried' });
    // The event's build, then every failed group's in one call.
    expect(codebuild.filter((op) => op === 'BatchGetBuilds')).toHaveLength(2);
    expect(logs).toEqual([]);
  });

  it('reads the log tail only when it decides, and never logs a line of it', async () => {
    const project = newProject();
    const secretLog: BuildFailure = {
      ...FAILURES.networkInLog,
      log: [...(FAILURES.networkInLog.log ?? []), `token=${LOG_SECRET}`],
    };
    const { batch, event } = settledBatch(project, {
      unit: ['FAILED', secretLog],
    });
    const { value: outcome, logs } = await whileCapturing(() => run(event));

    expect(outcome.logs).toEqual(['GetLogEvents']);
    expect(outcome.result).toMatchObject({
      result: 'retried',
      classifications: [
        { identifier: 'unit', class: 'transient', signature: 'dns' },
      ],
    });
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(logs.text()).not.toContain(LOG_SECRET);
    expect(logs.text()).not.toContain('registry.npmjs.org');
    expect(JSON.stringify(outcome.result)).not.toContain(LOG_SECRET);
    const items = JSON.stringify(await h.dynamo.scan());
    expect(items).not.toContain(LOG_SECRET);
    expect(items).not.toContain('registry.npmjs.org');
  });

  it('never reads logs with LogTailLines=0, or when another group already decides', async () => {
    const quiet = h.handler({ logTailLines: 0 });
    const first = settledBatch(newProject(), {
      unit: ['FAILED', FAILURES.networkInLog],
    });
    const off = await run(first.event, quiet);
    expect(off.logs).toEqual([]);
    expect(off.result).toMatchObject({ result: 'not-retryable' });

    const second = settledBatch(newProject(), {
      unit: ['FAILED', FAILURES.networkInLog],
      cfg: ['FAILED', FAILURES.brokenBuildspec],
    });
    const decided = await run(second.event);
    expect(decided.logs).toEqual([]);
    expect(decided.result).toMatchObject({ result: 'not-retryable' });
  });

  it('decides from the message when the log read is throttled or the stream is gone, and tries the log again later', async () => {
    const project = newProject();
    const { batch, event } = settledBatch(project, {
      unit: ['FAILED', FAILURES.networkInLog],
    });
    // Every attempt of one read is throttled.
    h.logs.failNext('GetLogEvents', LOG_READ_MAX_ATTEMPTS, 'throttle');

    const throttled = await run(event);

    expect(throttled.result).toMatchObject({ result: 'not-retryable' });
    expect(throttled.logs).toHaveLength(LOG_READ_MAX_ATTEMPTS); // backed off
    expect(h.codebuild.retryCount(batch.arn)).toBe(0);

    // Not remembered as declined: the sweep reads the log and retries.
    h.logs.resetLog();
    await run({ kind: 'sweep' });
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);

    const gone = settledBatch(newProject(), {
      unit: ['FAILED', FAILURES.networkInLog],
    });
    const build = h.codebuild.getBuild(
      h.codebuild.getBatch(gone.batch.arn).buildGroups?.[0]?.currentBuildSummary
        ?.arn as string,
    );
    h.logs.deleteStream(
      build.logs?.groupName as string,
      build.logs?.streamName as string,
    );
    const missing = await run(gone.event);
    expect(missing.result).toMatchObject({ result: 'not-retryable' });
    expect(missing.logs).toEqual(['GetLogEvents']);
  });

  it('classifies a declined failure once, however often the sweep sees it', async () => {
    const project = newProject();
    const { batch, event } = settledBatch(project, {
      unit: ['FAILED', FAILURES.testFailure],
    });
    await run(event);
    await run({ kind: 'sweep' });
    await run({ kind: 'sweep' });

    expect(h.codebuild.retryCount(batch.arn)).toBe(0);
    // The sweeps see other tests' batches too; this batch's build and log
    // were read by the event's invocation only.
    const build = h.codebuild.getBuild(
      h.codebuild.getBatch(batch.arn).buildGroups?.[0]?.currentBuildSummary
        ?.arn as string,
    );
    const mentions = (
      requests: { operation: string; input: unknown }[],
      op: string,
      text: string,
    ) =>
      requests.filter(
        (r) => r.operation === op && JSON.stringify(r.input).includes(text),
      );
    expect(
      mentions(h.codebuild.requests, 'BatchGetBuilds', build.arn),
    ).toHaveLength(1);
    expect(
      mentions(
        h.logs.requests,
        'GetLogEvents',
        build.logs?.streamName as string,
      ),
    ).toHaveLength(1);
  });
});
