import { readFileSync } from 'node:fs';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_EVENTS, EVENT_SOURCE, RECHECK } from '../../lambda/contract.js';
import type { Handler } from '../../lambda/create-handler.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import { FAILURES } from '../../tools/local-aws/codebuild/failures.js';
import { CREDENTIALS, REGION } from '../../tools/local-aws/environment.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';
import {
  endRerun as endRetriedRun,
  settledFailure,
} from '../support/batches.js';
import { createSecretProject, FIXTURE_SECRET } from '../support/fixtures.js';

// Integration: outcomes and batch-level events end to end. The real handler
// publishes through the real EventBridge client to the PutEvents emulator,
// whose rules match like EventBridge's; re-checks go through the SQS
// emulator and Lambda's event source mapping.

const schema = JSON.parse(
  readFileSync(
    new URL('../../docs/events.schema.json', import.meta.url),
    'utf8',
  ),
);

let h: Harness;
let handler: Handler;
let follow: ReturnType<Harness['recheckSource']>;

beforeAll(async () => {
  h = await startHarness();
  handler = h.handler({}, { now: h.clock.now });
  follow = h.recheckSource(handler);
  // A rule per detail-type, as a user would write one.
  for (const type of Object.values(BATCH_EVENTS)) {
    h.events.addRule(type, {
      pattern: { source: [EVENT_SOURCE], 'detail-type': [type] },
    });
  }
});
afterAll(() => h.stop());

/** The events a rule on `type` received for `batchArn`. */
const received = (type: string, batchArn: string) =>
  h.events
    .delivered(type)
    .filter((e) => (e.detail as { batchArn?: string }).batchArn === batchArn);

/** A one-group batch settled FAILED with `failure`; its event. */
const failed = (project: string, failure = FAILURES.outOfMemory) =>
  settledFailure(h.codebuild, project, failure);

/** Ends the retried run of `batchArn` with `status`; its event. */
const endRerun = (batchArn: string, status: 'SUCCEEDED' | 'FAILED') =>
  endRetriedRun(h.codebuild, batchArn, status);

/** Lets the follow-up re-checks (every `RECHECK.followSeconds`) run. */
async function afterFollowUp() {
  h.clock.shift(RECHECK.followSeconds * 1000);
  return follow.drain();
}

/** A failed batch, retried by the function on its failure event. */
async function retried() {
  const { batch, event } = failed(createSecretProject(h.codebuild));
  await handler(event, lambdaContext());
  return batch;
}

function expectSchema(event: { detail: unknown }) {
  const detail = event.detail as Record<string, unknown>;
  const props = schema.$defs.detail.properties;
  for (const key of Object.keys(detail)) expect(props, key).toHaveProperty(key);
  for (const key of schema.$defs.detail.required)
    expect(detail).toHaveProperty(key);
}

describe('a retry and its outcome', () => {
  it('publishes Batch Retry Issued once, then Batch Healed once, and records the outcome', async () => {
    const project = createSecretProject(h.codebuild);
    const { batch, event } = failed(project);

    await handler(event, lambdaContext());
    await handler(event, lambdaContext()); // a duplicate
    const [issued, ...more] = received(BATCH_EVENTS.retryIssued, batch.arn);
    expect(more).toEqual([]);
    expect(issued).toMatchObject({
      source: EVENT_SOURCE,
      'detail-type': BATCH_EVENTS.retryIssued,
      resources: [batch.arn],
      detail: {
        batchArn: batch.arn,
        projectName: project,
        attempt: 1,
        maxRetries: 2,
        token: expect.stringMatching(/^cbr-1-/),
        failedGroups: [{ identifier: 'unit', class: 'transient' }],
        consoleUrl: expect.stringContaining(
          `/codesuite/codebuild/111122223333/projects/${project}/batch/`,
        ),
      },
    });
    expectSchema(issued as { detail: unknown });
    expect(JSON.stringify(h.events.events)).not.toContain(FIXTURE_SECRET);

    endRerun(batch.arn, 'SUCCEEDED');
    await afterFollowUp();
    await afterFollowUp(); // nothing more to publish

    const healed = received(BATCH_EVENTS.healed, batch.arn);
    expect(healed).toHaveLength(1);
    expect(healed[0]?.detail).toMatchObject({
      outcome: 'healed',
      attempt: 1,
      retryToOutcomeSeconds: expect.any(Number),
    });
    expectSchema(healed[0] as { detail: unknown });
    const history = (await h.dynamo.scan()).filter((i) =>
      String(i.id).startsWith(`history#${batch.arn}#`),
    );
    expect(history).toEqual([
      expect.objectContaining({
        decision: 'retried',
        outcome: 'healed',
        projectName: project,
        attempt: 1,
        failedGroups: [{ identifier: 'unit', class: 'transient' }],
        expiration: expect.any(Number),
      }),
    ]);
  });

  it('publishes Batch Failed Again once, and decides the new failure', async () => {
    const batch = await retried();

    const again = endRerun(batch.arn, 'FAILED');
    await handler(again, lambdaContext()); // the new failure: attempt 2
    await afterFollowUp();

    expect(received(BATCH_EVENTS.failedAgain, batch.arn)).toEqual([
      expect.objectContaining({
        detail: expect.objectContaining({
          outcome: 'failed-again',
          attempt: 1,
        }),
      }),
    ]);
    expect(h.codebuild.retryCount(batch.arn)).toBe(2);
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toHaveLength(2);
  });
});

describe('a follow-up that cannot decide the new failure', () => {
  it('still succeeds, so its Batch Failed Again is not published twice', async () => {
    const batch = await retried();
    endRerun(batch.arn, 'FAILED');
    // Classifying the new failure fails for good (every SDK attempt).
    h.codebuild.failNext('BatchGetBuilds', 5, 'throttle');
    const invocations = await afterFollowUp();
    expect(invocations.map((i) => i.outcome)).not.toContain('partial');
    h.clock.shift(180_000); // past any visibility timeout and lease
    await follow.drain();
    expect(received(BATCH_EVENTS.failedAgain, batch.arn)).toHaveLength(1);
  });
});

describe('decisions not to retry', () => {
  it('publishes Batch Not Retried once, however often the failure is seen', async () => {
    const { batch, event } = failed(
      createSecretProject(h.codebuild),
      FAILURES.testFailure,
    );
    await handler(event, lambdaContext());
    await handler(event, lambdaContext());
    await handler({ kind: 'sweep' }, lambdaContext());

    const [notRetried, ...more] = received(BATCH_EVENTS.notRetried, batch.arn);
    expect(more).toEqual([]);
    expect(notRetried?.detail).toMatchObject({
      reason: 'not-retryable',
      failedGroups: [{ identifier: 'unit', class: 'script' }],
    });
    expectSchema(notRetried as { detail: unknown });
  });

  it('publishes Batch Retry Budget Exhausted once', async () => {
    const once = h.handler({ maxRetries: 1 }, { now: h.clock.now });
    const { batch, event } = failed(createSecretProject(h.codebuild));
    await once(event, lambdaContext());
    const again = endRerun(batch.arn, 'FAILED');
    await once(again, lambdaContext());
    await once(again, lambdaContext());

    const [exhausted, ...more] = received(
      BATCH_EVENTS.budgetExhausted,
      batch.arn,
    );
    expect(more).toEqual([]);
    expect(exhausted?.detail).toMatchObject({
      reason: 'budget-exhausted',
      attempt: 1,
      maxRetries: 1,
    });
    expectSchema(exhausted as { detail: unknown });
  });
});

describe('when EventBridge fails', () => {
  it('retries the call, then logs and counts the failure, and the retry still happens', async () => {
    const { batch, event } = failed(createSecretProject(h.codebuild));
    h.events.failNext('PutEvents', 5, 'throttle');

    const { value: result, logs } = await whileCapturing(() =>
      handler(event, lambdaContext()),
    );

    expect(result).toMatchObject({ result: 'retried' });
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toEqual([]);
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Could not publish a batch event',
        detailType: BATCH_EVENTS.retryIssued,
      }),
    );
    expect(logs.text()).toContain('"EventPublishFailed"');

    // The claim was given back, so the follow-up publishes it, once.
    await afterFollowUp();
    await afterFollowUp();
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toHaveLength(1);
  });
});

describe('an outcome whose event did not go out', () => {
  it('is published by the next follow-up to find it once its writer cannot be publishing any more, once', async () => {
    const batch = await retried();
    endRerun(batch.arn, 'SUCCEEDED');
    // The follow-up records the outcome, but its PutEvents fails for good
    // (as if the invocation had died before it).
    h.events.failNext('PutEvents', 5, 'throttle');
    await afterFollowUp();
    expect(received(BATCH_EVENTS.healed, batch.arn)).toEqual([]);
    const followUp = h.sqs.requests
      .filter(
        (r) =>
          r.operation === 'SendMessage' &&
          JSON.stringify(r.input).includes(batch.arn) &&
          JSON.stringify(r.input).includes('follow'),
      )
      .at(-1)?.input as { QueueUrl: string; MessageBody: string };

    // A copy of the follow-up within the function's timeout publishes nothing…
    const sqs = new SQSClient({
      endpoint: h.sqs.endpoint,
      region: REGION,
      credentials: CREDENTIALS,
    });
    await sqs.send(new SendMessageCommand(followUp));
    await afterFollowUp();
    expect(received(BATCH_EVENTS.healed, batch.arn)).toEqual([]);
    // …one after it (a redelivery after a kill) publishes the event, once.
    h.clock.shift(120_000);
    await sqs.send(new SendMessageCommand(followUp));
    await sqs.send(new SendMessageCommand(followUp));
    await afterFollowUp();
    expect(received(BATCH_EVENTS.healed, batch.arn)).toHaveLength(1);
    const [item] = (await h.dynamo.scan()).filter((i) =>
      String(i.id).startsWith(`history#${batch.arn}#`),
    );
    expect(item).toMatchObject({ outcome: 'healed' });
    expect(item).not.toHaveProperty('eventOwed');
  });
});

describe('a kill right after CodeBuild accepted the retry', () => {
  it('leaves the follow-up to announce the retry once and record its outcome', async () => {
    const { batch, event } = failed(createSecretProject(h.codebuild));
    // CodeBuild acts on every attempt of the call, but its answers are
    // lost: the invocation fails after the retry was made.
    h.codebuild.failNext('RetryBuildBatch', 5, {
      type: 'InternalFailure',
      status: 500,
      afterActing: true,
    });
    await expect(handler(event, lambdaContext())).rejects.toThrow();
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toEqual([]);

    // Lambda's retry of the event finds the batch running again.
    await handler(event, lambdaContext());
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toEqual([]);
    await afterFollowUp();
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toHaveLength(1);

    endRerun(batch.arn, 'SUCCEEDED');
    await afterFollowUp();
    await afterFollowUp();
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toHaveLength(1);
    expect(received(BATCH_EVENTS.healed, batch.arn)).toHaveLength(1);
    expect(h.codebuild.retryCount(batch.arn)).toBe(1);
  });

  it('announces nothing when the call never reached CodeBuild', async () => {
    const { batch, event } = failed(createSecretProject(h.codebuild));
    h.codebuild.failNext('RetryBuildBatch', 5, 'server-error');
    await expect(handler(event, lambdaContext())).rejects.toThrow();
    await afterFollowUp();
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toEqual([]);

    // Lambda's retry makes the call; one announcement, one outcome.
    await expect(handler(event, lambdaContext())).resolves.toMatchObject({
      result: 'retried',
    });
    endRerun(batch.arn, 'SUCCEEDED');
    for (let i = 0; i < 3; i++) await afterFollowUp();
    expect(received(BATCH_EVENTS.retryIssued, batch.arn)).toHaveLength(1);
    expect(received(BATCH_EVENTS.healed, batch.arn)).toHaveLength(1);
  });
});
