import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';
import { SqsEmulator } from '../../../../tools/local-aws/sqs/emulator.js';
import {
  SqsEventSource,
  type SqsEventSourceOptions,
} from '../../../../tools/local-aws/sqs/event-source.js';

const T0 = Date.UTC(2026, 10, 20, 9, 41, 0);
let clock = T0;
let sqs: SqsEmulator;
let client: SQSClient;

beforeAll(async () => {
  sqs = await SqsEmulator.start({ now: () => clock });
  client = new SQSClient({
    region: REGION,
    endpoint: sqs.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await sqs.stop();
});

let queues = 0;
/** A queue (visibility 30 s) holding `bodies`, and its event source. */
async function source(
  bodies: string[],
  options: Partial<SqsEventSourceOptions> & { attributes?: object } = {},
) {
  queues += 1;
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `source-${queues}`,
      Attributes: { VisibilityTimeout: '30', ...options.attributes },
    }),
  );
  const url = QueueUrl as string;
  for (let i = 0; i < bodies.length; i += 10) {
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({
          Id: `m${j}`,
          MessageBody,
          MessageAttributes: {
            n: { DataType: 'Number', StringValue: String(i + j) },
          },
        })),
      }),
    );
  }
  const events: SQSEvent[] = [];
  const mapping = new SqsEventSource({
    client,
    queueUrl: url,
    handler: async (event) => {
      events.push(event);
      return undefined;
    },
    ...options,
  });
  return { url, mapping, events, name: `source-${queues}` };
}

const visible = async (QueueUrl: string) => {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
};
const bodiesOf = (event: SQSEvent) => event.Records.map((r) => r.body);

it('invokes with a Lambda SQSEvent and deletes the batch on success', async () => {
  const { url, mapping, events, name } = await source(['a', 'b', 'c'], {
    batchSize: 2,
  });
  const made = await mapping.drain();
  expect(made.map((i) => i.outcome)).toEqual(['ok', 'ok']);
  expect(events.map(bodiesOf)).toEqual([['a', 'b'], ['c']]);
  const [record] = events[0].Records;
  expect(record).toEqual({
    messageId: expect.any(String),
    receiptHandle: expect.any(String),
    body: 'a',
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(clock),
      SenderId: ACCOUNT,
      ApproximateFirstReceiveTimestamp: String(clock),
    },
    messageAttributes: {
      n: {
        dataType: 'Number',
        stringValue: '0',
        stringListValues: [],
        binaryListValues: [],
      },
    },
    md5OfBody: '0cc175b9c0f1b6a831c399e269772661',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
    awsRegion: REGION,
  });
  clock += 60_000;
  expect(await visible(url)).toBe(0);
  expect(await mapping.poll()).toBeUndefined();
});

it('deletes all but the reported batchItemFailures, which reappear after the visibility timeout', async () => {
  const { url, mapping } = await source(['ok-1', 'bad', 'ok-2'], {
    handler: async ({ Records }) => ({
      batchItemFailures: Records.filter((r) => r.body === 'bad').map((r) => ({
        itemIdentifier: r.messageId,
      })),
    }),
  });
  const [invocation] = await mapping.drain();
  expect(invocation.outcome).toBe('partial');
  const bad = invocation.records.find((r) => r.body === 'bad');
  expect(invocation.failed).toEqual([bad?.messageId]);
  expect(invocation.undeleted).toEqual([]);
  clock += 29_999;
  expect(await visible(url)).toBe(0);
  clock += 1;
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  expect(Messages?.map((m) => [m.Body, m.Attributes])).toEqual([
    ['bad', { ApproximateReceiveCount: '2' }],
  ]);
});

it('keeps the whole batch when the handler throws or names an unknown item', async () => {
  let calls = 0;
  const { url, mapping } = await source(['x', 'y'], {
    handler: async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] };
    },
  });
  const [thrown] = await mapping.drain();
  expect(thrown).toMatchObject({ outcome: 'error', error: new Error('boom') });
  expect(thrown.failed).toHaveLength(2);
  clock += 30_000;
  expect(await visible(url)).toBe(2);
  const [unknown] = await mapping.drain();
  expect(unknown.outcome).toBe('partial');
  expect(
    unknown.records.map((r) => r.attributes.ApproximateReceiveCount),
  ).toEqual(['2', '2']);
  clock += 30_000;
  expect(await visible(url)).toBe(2);
});

it('ignores batchItemFailures without ReportBatchItemFailures', async () => {
  const { url, mapping } = await source(['x'], {
    reportBatchItemFailures: false,
    handler: async ({ Records }) => ({
      batchItemFailures: [{ itemIdentifier: Records[0].messageId }],
    }),
  });
  expect((await mapping.drain())[0].outcome).toBe('ok');
  clock += 30_000;
  expect(await visible(url)).toBe(0);
});

it('sends a message failing every time to the DLQ after maxReceiveCount', async () => {
  const dlq = await source([]);
  const { mapping } = await source(['poison', 'fine'], {
    attributes: {
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${dlq.name}`,
        maxReceiveCount: 3,
      }),
    },
    handler: async ({ Records }) => ({
      batchItemFailures: Records.filter((r) => r.body === 'poison').map(
        (r) => ({ itemIdentifier: r.messageId }),
      ),
    }),
  });
  for (let i = 0; i < 4; i++) {
    await mapping.drain();
    clock += 30_000;
  }
  expect(mapping.invocations.map((i) => i.records.map((r) => r.body))).toEqual([
    ['poison', 'fine'],
    ['poison'],
    ['poison'],
  ]);
  await dlq.mapping.drain();
  expect(dlq.events.map(bodiesOf)).toEqual([['poison']]);
  expect(dlq.events[0].Records[0].attributes.ApproximateReceiveCount).toBe('4');
});

it('leaves messages whose deletion failed to reappear, and records why', async () => {
  const { url, mapping } = await source(['x']);
  sqs.failNext('DeleteMessageBatch', 1, 'server-error');
  const [invocation] = await mapping.drain();
  expect(invocation.outcome).toBe('ok');
  expect(invocation.undeleted).toEqual([invocation.records[0].messageId]);
  expect(invocation.deleteError).toMatchObject({ name: 'InternalFailure' });
  clock += 30_000;
  expect(await visible(url)).toBe(1);
});
