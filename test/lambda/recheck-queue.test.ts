import {
  PurgeQueueCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECHECK } from '../../lambda/contract.js';
import { DELAYED_RETRY_GRACE_MS } from '../../lambda/decision.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import { CREDENTIALS, REGION } from '../../tools/local-aws/environment.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';

// Integration: the re-check queue end to end. The real handler sends
// through the real SQS client to the SQS emulator; Lambda's event source
// mapping (tools/local-aws/sqs/event-source.ts) hands the messages back to
// the handler; CodeBuild and DynamoDB are the emulators as everywhere.
// Queue and CodeBuild share a clock the tests move; so do functions built
// with `now: h.clock.now`.

/** The settle chain's first delays, in ms. */
const SETTLE_MS = RECHECK.settleSeconds.map((s) => s * 1000);

let h: Harness;
let sqs: SQSClient;
let projects = 0;

beforeAll(async () => {
  h = await startHarness();
  sqs = new SQSClient({
    endpoint: h.sqs.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
});
afterAll(() => h.stop());

function newProject(): string {
  projects += 1;
  const name = `recheck-${projects}`;
  h.codebuild.createProject(name);
  return name;
}

/** Ends a child build with `status`; its event. */
const end = (
  build: { readonly arn?: string } | undefined,
  status: Parameters<typeof h.codebuild.completeBuild>[1],
) => h.codebuild.completeBuild(build?.arn as string, status);

/** A batch whose first group failed; it settles when the test says. */
function failedChild(project: string, groups = ['unit']) {
  const batch = h.codebuild.startBatch(project, { groups });
  const builds = h.codebuild.currentBuilds(batch.arn);
  const event = end(builds[0], 'FAILED');
  return { batch, event, siblings: builds.slice(1) };
}

/**
 * A handler with the queue's event source, and a two-group batch whose
 * first group failed while `sibling` still runs; the handler saw the failure.
 */
async function failedBesideRunningSibling() {
  const handler = h.handler({}, { now: h.clock.now });
  const source = h.recheckSource(handler);
  const { batch, event, siblings } = failedChild(newProject(), ['unit', 'e2e']);
  await handler(event, lambdaContext());
  return { handler, source, batch, event, sibling: siblings[0] };
}

/** The BatchGetBuildBatches calls so far that named `batchId`. */
const readsOf = (batchId: string) =>
  h.codebuild.requests.filter(
    (r) =>
      r.operation === 'BatchGetBuildBatches' &&
      JSON.stringify(r.input).includes(batchId),
  ).length;

/** The batch's budget item (`batch#<arn>`). */
const budgetOf = async (batchArn: string) =>
  (await h.dynamo.scan()).find((i) => i.id === `batch#${batchArn}`);

const retries = (batchId: string) =>
  h.codebuild.requests.filter(
    (r) =>
      r.operation === 'RetryBuildBatch' &&
      (r.input as { id?: string }).id === batchId,
  );

describe('re-checks of a batch that settles after its failed child', () => {
  it('retries it from the queue, seconds after it settles, without a sweep', async () => {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const { batch, event } = failedChild(newProject());

    expect(await handler(event, lambdaContext())).toMatchObject({
      result: 'watching',
    });
    // Nothing is due before the first delay.
    expect(await source.drain()).toEqual([]);

    h.clock.shift(SETTLE_MS[0]);
    const mark = h.codebuild.requests.length;
    await source.drain();
    // Still running: one CodeBuild call, and the next re-check queued.
    expect(h.codebuild.requests.slice(mark).map((r) => r.operation)).toEqual([
      'BatchGetBuildBatches',
    ]);
    expect(retries(batch.id)).toHaveLength(0);

    h.codebuild.settleBatch(batch.arn);
    h.clock.shift(SETTLE_MS[1]);
    await source.drain();

    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(retries(batch.id)).toHaveLength(1);
  });

  it('reads the batches of rounds that come due together with one call', async () => {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const [first, second] = [
      failedChild(newProject()),
      failedChild(newProject()),
    ];
    await handler(first.event, lambdaContext());
    await handler(second.event, lambdaContext());

    h.clock.shift(SETTLE_MS[0]);
    const mark = h.codebuild.requests.length;
    await source.drain();

    const reads = h.codebuild.requests
      .slice(mark)
      .filter((r) => r.operation === 'BatchGetBuildBatches');
    expect(reads).toHaveLength(1);
    expect((reads[0]?.input as { ids?: string[] })?.ids?.sort()).toEqual(
      [first.batch.id, second.batch.id].sort(),
    );
  });

  it('waits on the running siblings, and the last one to end starts quick re-checks', async () => {
    const { handler, source, batch, sibling } =
      await failedBesideRunningSibling();

    // The backstop re-check is minutes away; the sibling's end comes first.
    const ended = end(sibling, 'SUCCEEDED');
    expect(await handler(ended, lambdaContext())).toMatchObject({
      result: 'watching',
    });
    h.codebuild.settleBatch(batch.arn);
    h.clock.shift(SETTLE_MS[0]);
    await source.drain();

    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
  });

  it('retries once when a re-check message is delivered twice', async () => {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const { batch, event } = failedChild(newProject());
    await handler(event, lambdaContext());
    h.codebuild.settleBatch(batch.arn);
    // A copy of the queued message, as SQS's at-least-once delivery may give.
    const sent = h.sqs.requests.filter(
      (r) =>
        r.operation === 'SendMessage' &&
        JSON.stringify(r.input).includes(batch.arn),
    );
    const body = (sent.at(-1)?.input as { MessageBody: string } | undefined)
      ?.MessageBody;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: h.recheckQueueUrl,
        MessageBody: body,
      }),
    );

    h.clock.shift(SETTLE_MS[0]);
    await source.drain();

    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(retries(batch.id)).toHaveLength(1);
  });

  it('drops a message it did not send, with the reason and without failing the others', async () => {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: h.recheckQueueUrl,
        MessageBody:
          '{"kind":"recheck","batchArn":"not an arn","token":"s3cret"}',
      }),
    );

    const { value: invocations, logs } = await whileCapturing(() =>
      source.drain(),
    );

    expect(invocations.map((i) => i.outcome)).toEqual(['ok']);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        reason: 'invalid-event',
        problem: expect.stringContaining('batchArn'),
      }),
    );
    expect(logs.text()).not.toContain('s3cret');
  });

  /**
   * A watched batch that settled, whose first settle round fails with
   * `fault` (every SDK attempt) and goes back to the queue; then the next
   * round, queued before the first one read the batch, runs (due before
   * the harness queue's 30-s visibility timeout).
   */
  async function firstRoundFails(
    operation: string,
    fault: 'throttle' | 'server-error',
  ) {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const { batch, event } = failedChild(newProject());
    await handler(event, lambdaContext());
    h.codebuild.settleBatch(batch.arn);
    h.clock.shift(SETTLE_MS[0]);
    h.codebuild.failNext(operation, 5, fault);

    const [failed] = await source.drain();
    expect(failed?.outcome).toBe('partial');
    expect(h.codebuild.retryCount(batch.arn)).toBe(0);

    h.clock.shift(SETTLE_MS[1]);
    await source.drain();
    return { batch, source };
  }

  it('hands a failed record back to the queue; the next round, queued before the read, retries first', async () => {
    const { batch, source } = await firstRoundFails(
      'BatchGetBuildBatches',
      'throttle',
    );
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);

    // The failed record comes back superseded: no read, no second retry.
    const mark = h.codebuild.requests.length;
    h.clock.shift(30_000);
    await source.drain();
    expect(
      h.codebuild.requests
        .slice(mark)
        .filter((r) => JSON.stringify(r.input).includes(batch.id)),
    ).toEqual([]);
    expect(retries(batch.id)).toHaveLength(1);
  });

  it('makes the retry from the next round when the round that reserved the attempt fails before the call', async () => {
    const { batch } = await firstRoundFails('RetryBuildBatch', 'server-error');
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    const budget = await budgetOf(batch.arn);
    // One attempt, and the watch ended with the retry.
    expect(budget).toMatchObject({ retries: 1 });
    expect(budget?.watchShard).toBeUndefined();
  });

  it("ends the chain once the batch runs again, even when the retry's invocation died before ending the watch", async () => {
    const { handler, source, batch, sibling } =
      await failedBesideRunningSibling();
    const ended = end(sibling, 'SUCCEEDED');
    await handler(ended, lambdaContext()); // the settle chain starts
    h.codebuild.settleBatch(batch.arn);
    // CodeBuild retries the batch, but the answer is lost: the round fails
    // after the retry was made, before it could end the watch.
    h.codebuild.failNext('RetryBuildBatch', 5, {
      type: 'InternalFailure',
      status: 500,
      afterActing: true,
    });
    h.clock.shift(SETTLE_MS[0]);
    await source.drain();
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);

    const reads = () => readsOf(batch.id);
    h.clock.shift(SETTLE_MS[1]);
    await source.drain(); // the next round sees the batch running again
    const afterEnd = reads();
    for (let i = 0; i < 4; i++) {
      h.clock.shift(30_000);
      await source.drain();
    }
    // Only the retry's follow-up reads the batch now (every 90 s).
    expect(reads() - afterEnd).toBeLessThanOrEqual(2);
    const budget = await budgetOf(batch.arn);
    expect(budget?.watchShard).toBeUndefined();
  });

  it('keeps one chain per batch: a copied round and a backstop overtaken by the settle chain read nothing', async () => {
    const { handler, source, batch, event, sibling } =
      await failedBesideRunningSibling(); // a backstop round, 90 s out
    await handler(event, lambdaContext()); // a duplicate event: no second chain
    const ended = end(sibling, 'SUCCEEDED');
    await handler(ended, lambdaContext()); // the settle chain starts
    await handler(ended, lambdaContext()); // a copy: the chain already settles
    const reads = () => readsOf(batch.id);
    const before = reads();

    h.clock.shift(SETTLE_MS[0]);
    await source.drain();
    expect(reads() - before).toBe(1); // still running
    h.codebuild.settleBatch(batch.arn, { status: 'STOPPED' }); // a user stopped it
    h.clock.shift(SETTLE_MS[1]);
    await source.drain();
    expect(reads() - before).toBe(2); // settled: the watch ends
    h.clock.shift(120_000); // past every queued round, the backstop's too
    await source.drain();
    h.clock.shift(120_000);
    await source.drain();
    expect(reads() - before).toBe(2);
    expect(h.codebuild.retryCount(batch.arn)).toBe(0);
  });

  it('starts the settle chain when a fast-failing batch stops a sibling', async () => {
    const handler = h.handler({}, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const { batch, event, siblings } = failedChild(newProject(), [
      'unit',
      'e2e',
      'lint',
    ]);
    await handler(event, lambdaContext());
    // Fast-fail stops the others; the second STOPPED event is lost.
    const stopped = end(siblings[0], 'STOPPED');
    end(siblings[1], 'STOPPED');
    expect(await handler(stopped, lambdaContext())).toMatchObject({
      result: 'watching',
    });
    h.codebuild.settleBatch(batch.arn);
    h.clock.shift(SETTLE_MS[0]);
    await source.drain();

    // Retried from the settle chain, long before the 90-s backstop.
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
  });
});

describe('RetryDelaySeconds', () => {
  it('waits the delay, survives a crash during it, and counts one attempt', async () => {
    const delayed = { retryDelaySeconds: 60 };
    const handler = h.handler(delayed, { now: h.clock.now });
    const { batch, event } = failedChild(newProject());
    h.codebuild.settleBatch(batch.arn);

    expect(await handler(event, lambdaContext())).toMatchObject({
      result: 'retry-delayed',
      attempt: 1,
    });
    expect(retries(batch.id)).toHaveLength(0);
    // Duplicates and the sweep during the delay leave it to the queue.
    expect(await handler(event, lambdaContext())).toMatchObject({
      result: 'retry-delayed',
    });
    await handler({ kind: 'sweep' }, lambdaContext());
    expect(retries(batch.id)).toHaveLength(0);

    // The environment that reserved it is gone: a fresh one consumes the
    // message once the delay has passed.
    const fresh = h.handler(delayed, { now: h.clock.now });
    const source = h.recheckSource(fresh);
    h.clock.shift(59_000);
    await source.drain();
    expect(retries(batch.id)).toHaveLength(0);
    h.clock.shift(1_000);
    await source.drain();

    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(await budgetOf(batch.arn)).toMatchObject({
      retries: 1,
    });
  });

  it('doubles the delay per attempt, and the sweep makes up a lost message', async () => {
    const delayed = { retryDelaySeconds: 60 };
    const handler = h.handler(delayed, { now: h.clock.now });
    const source = h.recheckSource(handler);
    const { batch, event } = failedChild(newProject());
    h.codebuild.settleBatch(batch.arn);
    await handler(event, lambdaContext());
    h.clock.shift(60_000);
    await source.drain();
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);

    // The retried run fails again: attempt 2 waits 120 s.
    const [rerun] = h.codebuild
      .currentBuilds(batch.arn)
      .filter((b) => b.buildStatus === 'IN_PROGRESS');
    const again = end(rerun, 'FAILED');
    h.codebuild.settleBatch(batch.arn);
    const { value: result, logs } = await whileCapturing(() =>
      handler(again, lambdaContext()),
    );
    expect(result).toMatchObject({ result: 'retry-delayed', attempt: 2 });
    expect(logs.records()).toContainEqual(
      expect.objectContaining({ message: 'Retry delayed', delaySeconds: 120 }),
    );

    // The message is lost; once the delay and its grace have passed, the
    // sweep makes the reserved attempt with the same token.
    await sqs.send(new PurgeQueueCommand({ QueueUrl: h.recheckQueueUrl }));
    h.clock.shift(60_000);
    await handler({ kind: 'sweep' }, lambdaContext());
    expect(h.codebuild.retryCount(batch.arn)).toBe(1); // still waiting
    h.clock.shift(60_000 + DELAYED_RETRY_GRACE_MS);
    await handler({ kind: 'sweep' }, lambdaContext());

    expect(h.codebuild.retryCount(batch.arn)).toBe(2);
  });
});
