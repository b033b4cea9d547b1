import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CapturedLogs,
  captureLogs,
} from '../../tools/local-aws/capture-logs.js';
import type { BuildStateChangeEvent } from '../../tools/local-aws/codebuild/emulator.js';
import {
  type BuildFailure,
  FAILURES,
} from '../../tools/local-aws/codebuild/failures.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';

// Integration: what one event costs in remote calls, per kind of event. The
// real handler and SDK clients over HTTP; the calls are counted from the
// request logs of the CodeBuild, CloudWatch Logs and DynamoDB servers, so
// every request the function sent counts, retries and Idempotency's own
// records included.

const PROJECT = 'remote-calls';

let h: Harness;
type Handler = ReturnType<Harness['handler']>;

let handler: Handler;
let logs: CapturedLogs;

beforeAll(async () => {
  h = await startHarness();
  h.codebuild.createProject(PROJECT);
  handler = h.handler();
  logs = captureLogs();
});
afterAll(async () => {
  logs.restore();
  await h.stop();
});

/** Invokes `fn` with `event`; the operations the servers received meanwhile, sorted. */
async function callsOf(event: unknown, fn: Handler = handler) {
  const logs: { readonly requests: readonly { operation: string }[] }[] = [
    h.codebuild,
    h.logs,
    h.dynamo,
    h.events,
    h.sqs,
  ];
  const marks = logs.map((s) => s.requests.length);
  const result = await fn(event, lambdaContext());
  const operations = logs
    .flatMap((s, i) => s.requests.slice(marks[i]).map((r) => r.operation))
    .sort();
  return { result, operations };
}

/** The failure event of a two-group batch that has settled FAILED. */
function failedBatch(failure?: BuildFailure): {
  arn: string;
  event: BuildStateChangeEvent;
} {
  const batch = h.codebuild.startBatch(PROJECT, { groups: ['unit', 'e2e'] });
  const [unit, e2e] = h.codebuild.currentBuilds(batch.arn);
  h.codebuild.completeBuild(unit.arn, 'SUCCEEDED');
  const event = h.codebuild.completeBuild(e2e.arn, 'FAILED', failure);
  h.codebuild.settleBatch(batch.arn);
  return { arn: batch.arn, event };
}

describe('remote calls per event', () => {
  it('costs one DynamoDB read and no CodeBuild call for a healthy child', async () => {
    const batch = h.codebuild.startBatch(PROJECT, { groups: ['unit', 'e2e'] });
    const [unit] = h.codebuild.currentBuilds(batch.arn);
    const event = h.codebuild.completeBuild(unit.arn, 'SUCCEEDED');

    const { result, operations } = await callsOf(event);

    expect(result).toEqual({ kind: 'ignored', reason: 'batch-not-watched' });
    expect(operations).toEqual(['GetItem']);
  });

  it('costs no CodeBuild call for any healthy sibling of a watched batch; the last one starts the settle chain', async () => {
    const batch = h.codebuild.startBatch(PROJECT, {
      groups: ['unit', 'e2e', 'lint'],
    });
    const [unit, e2e, lint] = h.codebuild.currentBuilds(batch.arn);
    const failure = h.codebuild.completeBuild(unit.arn, 'FAILED');
    expect((await callsOf(failure)).result).toMatchObject({
      result: 'watching',
    });

    const first = await callsOf(
      h.codebuild.completeBuild(e2e.arn, 'SUCCEEDED'),
    );
    expect(first.result).toEqual({
      kind: 'ignored',
      reason: 'siblings-running',
    });
    expect(first.operations).toEqual(['GetItem', 'UpdateItem']);

    h.codebuild.completeBuild(lint.arn, 'SUCCEEDED');
    const lastEvent = h.codebuild.events.at(-1);
    h.codebuild.settleBatch(batch.arn);
    const last = await callsOf(lastEvent);
    expect(last.result).toMatchObject({ result: 'watching' });
    // The child's pointer, the watch's last pending child, the settle
    // chain's start, and its first round seconds later.
    expect([...last.operations].sort()).toEqual([
      'GetItem',
      'SendMessage',
      'UpdateItem',
      'UpdateItem',
    ]);
  });

  it('costs 1 for a standalone build', async () => {
    const build = h.codebuild.startBuild(PROJECT);
    const event = h.codebuild.completeBuild(build.arn, 'FAILED');

    const { result, operations } = await callsOf(event);

    expect(result).toEqual({ kind: 'ignored', reason: 'standalone-build' });
    expect(operations).toEqual(['BatchGetBuilds']);
  });

  it('costs nothing for a project out of scope', async () => {
    const { event } = failedBatch();
    const scoped = h.handler({ projectNames: [`not-${PROJECT}`] });

    const { result, operations } = await callsOf(event, scoped);

    expect(result).toEqual({ kind: 'ignored', reason: 'out-of-scope' });
    expect(operations).toEqual([]);
  });

  it('costs at most 10 for a retried batch, and at most 3 for its duplicate', async () => {
    const { arn, event } = failedBatch();

    const retried = await callsOf(event);

    expect(retried.result).toMatchObject({ kind: 'batch', result: 'retried' });
    expect(h.codebuild.retryCount(arn)).toBe(1);
    // At most one more when the project's tags are due (every five minutes),
    // and three that account for the retry: the follow-up re-check that
    // will record its outcome (queued before the call), the announcement's
    // marker and Batch Retry Issued.
    expect(retried.operations.length).toBeLessThanOrEqual(10);
    expect(retried.operations).toEqual(
      expect.arrayContaining(['PutEvents', 'SendMessage']),
    );
    expect(retried.operations).toEqual(
      expect.arrayContaining([
        'BatchGetBuildBatches',
        'BatchGetBuilds',
        'RetryBuildBatch',
        'UpdateItem',
      ]),
    );
    expect(retried.operations).not.toContain('GetLogEvents');
    expect(retried.operations.filter((op) => op === 'RetryBuildBatch')).toEqual(
      ['RetryBuildBatch'],
    );

    const duplicate = await callsOf(event);

    expect(h.codebuild.retryCount(arn)).toBe(1);
    expect(duplicate.operations.length).toBeLessThanOrEqual(3);
    expect(duplicate.operations).toEqual(
      expect.arrayContaining(['BatchGetBuildBatches', 'BatchGetBuilds']),
    );
    expect(duplicate.operations).not.toContain('RetryBuildBatch');
  });

  it('costs at most 11 for a batch retried on its log tail, tags already read', async () => {
    const { arn, event } = failedBatch(FAILURES.networkInLog);

    const retried = await callsOf(event);

    expect(retried.result).toMatchObject({ kind: 'batch', result: 'retried' });
    expect(h.codebuild.retryCount(arn)).toBe(1);
    expect(retried.operations.length).toBeLessThanOrEqual(11);
    expect(retried.operations.filter((op) => op === 'GetLogEvents')).toEqual([
      'GetLogEvents',
    ]);
    expect(retried.operations).not.toContain('BatchGetProjects');
  });

  it('costs at most 8 for a genuine test failure, log read and its record included', async () => {
    const { arn, event } = failedBatch(FAILURES.testFailure);

    const declined = await callsOf(event);

    expect(declined.result).toMatchObject({ result: 'not-retryable' });
    expect(h.codebuild.retryCount(arn)).toBe(0);
    // BatchGetBuilds, BatchGetBuildBatches, GetLogEvents, UpdateItem (the
    // failure remembered as declined), its history item, Batch Not Retried
    // and the item's event marked sent (UpdateItem), and no retry (one
    // more, BatchGetProjects, when the project's tags are due).
    expect(declined.operations).toEqual([
      'BatchGetBuildBatches',
      'BatchGetBuilds',
      'GetLogEvents',
      'PutEvents',
      'PutItem',
      'UpdateItem',
      'UpdateItem',
    ]);
  });
});
