import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  type ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';
import { SqsEmulator } from '../../../../tools/local-aws/sqs/emulator.js';

// Every assertion goes through the real @aws-sdk/client-sqs over HTTP
// (JSON 1.0), which checks the MD5 of every body sent and received.

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
/** A fresh queue with `attributes`; its URL. */
async function newQueue(attributes: Record<string, string> = {}) {
  queues += 1;
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `q-${queues}`,
      Attributes: attributes,
    }),
  );
  return QueueUrl as string;
}

const send = (QueueUrl: string, MessageBody: string, DelaySeconds?: number) =>
  client.send(new SendMessageCommand({ QueueUrl, MessageBody, DelaySeconds }));
const receive = async (
  QueueUrl: string,
  input: Partial<ReceiveMessageCommandInput> = {},
) => {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
      ...input,
    }),
  );
  return Messages;
};
async function counts(QueueUrl: string) {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(Attributes?.ApproximateNumberOfMessagesDelayed),
  };
}

describe('queues', () => {
  it('creates queues with URLs and ARNs, found again by name', async () => {
    const url = await newQueue({ VisibilityTimeout: '60' });
    const name = url.split('/').pop();
    expect(url).toBe(`${sqs.endpoint}/${ACCOUNT}/${name}`);
    const found = await client.send(
      new GetQueueUrlCommand({ QueueName: name }),
    );
    expect(found.QueueUrl).toBe(url);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['QueueArn', 'VisibilityTimeout'],
      }),
    );
    expect(Attributes).toEqual({
      QueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
      VisibilityTimeout: '60',
    });
  });

  it('answers QueueDoesNotExist with the query code the SDK reads', async () => {
    const error = await client
      .send(new GetQueueUrlCommand({ QueueName: 'missing' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueDoesNotExist);
    expect(error).toMatchObject({
      Code: 'AWS.SimpleQueueService.NonExistentQueue',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(send(`${sqs.endpoint}/${ACCOUNT}/nope`, 'x')).rejects.toThrow(
      QueueDoesNotExist,
    );
  });

  it('rejects invalid attributes and parameters', async () => {
    await expect(newQueue({ VisibilityTimeout: '-1' })).rejects.toMatchObject({
      name: 'InvalidAttributeValue',
    });
    const url = await newQueue();
    await expect(send(url, 'x', 901)).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(
      receive(url, { MaxNumberOfMessages: 11 }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('messages', () => {
  it('sends, receives with attributes and real MD5s, and deletes', async () => {
    const url = await newQueue();
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: '{"batch":"b-1"}',
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'retry' },
        },
      }),
    );
    const md5 = createHash('md5').update('{"batch":"b-1"}').digest('hex');
    expect(sent.MD5OfMessageBody).toBe(md5);
    clock += 1000;
    const [message, ...rest] = await receive(url, {
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 20,
    });
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      MessageId: sent.MessageId,
      Body: '{"batch":"b-1"}',
      MD5OfBody: sent.MD5OfMessageBody,
      Attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(clock - 1000),
        ApproximateFirstReceiveTimestamp: String(clock),
        SenderId: ACCOUNT,
      },
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'retry' } },
    });
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    await client.send(
      new DeleteMessageCommand({
        QueueUrl: url,
        ReceiptHandle: message.ReceiptHandle,
      }),
    );
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await expect(
      client.send(
        new DeleteMessageCommand({
          QueueUrl: url,
          ReceiptHandle: message.ReceiptHandle,
        }),
      ),
    ).rejects.toThrow(ReceiptHandleIsInvalid);
  });

  it('keeps a message invisible until its delay passes on the clock', async () => {
    const url = await newQueue({ DelaySeconds: '5', VisibilityTimeout: '120' });
    await send(url, 'queue delay');
    await send(url, 'own delay', 60);
    await send(url, 'no delay', 0);
    expect(await counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 2 });
    expect((await receive(url)).map((m) => m.Body)).toEqual(['no delay']);
    clock += 5000;
    expect((await receive(url)).map((m) => m.Body)).toEqual(['queue delay']);
    clock += 54_999;
    expect(await receive(url)).toEqual([]);
    clock += 1;
    expect((await receive(url)).map((m) => m.Body)).toEqual(['own delay']);
  });

  it('delivers again after the visibility timeout, counting receives', async () => {
    const url = await newQueue({ VisibilityTimeout: '30' });
    await send(url, 'again');
    const first = await receive(url);
    const firstAt = clock;
    clock += 29_999;
    expect(await receive(url)).toEqual([]);
    clock += 1;
    const [second] = await receive(url, { VisibilityTimeout: 10 });
    expect(second.Attributes).toMatchObject({
      ApproximateReceiveCount: '2',
      ApproximateFirstReceiveTimestamp: String(firstAt),
    });
    // The first handle is stale once the message is received again.
    await expect(
      client.send(
        new DeleteMessageCommand({
          QueueUrl: url,
          ReceiptHandle: first[0].ReceiptHandle,
        }),
      ),
    ).rejects.toThrow(ReceiptHandleIsInvalid);
    clock += 10_000;
    const [third] = await receive(url);
    expect(third.Attributes?.ApproximateReceiveCount).toBe('3');
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: third.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect(await counts(url)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
  });

  it('moves a message to the DLQ once received maxReceiveCount times', async () => {
    const dlq = await newQueue();
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: dlq,
        AttributeNames: ['QueueArn'],
      }),
    );
    const url = await newQueue({
      VisibilityTimeout: '10',
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: Attributes?.QueueArn,
        maxReceiveCount: 2,
      }),
    });
    const { MessageId } = await send(url, 'poison');
    for (const count of ['1', '2']) {
      const [m] = await receive(url);
      expect(m.Attributes?.ApproximateReceiveCount).toBe(count);
      clock += 10_000;
    }
    expect(await receive(url)).toEqual([]);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const [dead] = await receive(dlq);
    expect(dead).toMatchObject({ MessageId, Body: 'poison' });
  });

  it('drops messages older than the retention period', async () => {
    const url = await newQueue({ MessageRetentionPeriod: '60' });
    await send(url, 'old');
    clock += 60_000;
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('sends and deletes in batches, with per-entry results', async () => {
    const url = await newQueue();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'first' },
          { Id: 'b', MessageBody: 'bad', DelaySeconds: 1000 },
          { Id: 'c', MessageBody: 'third' },
        ],
      }),
    );
    expect(sent.Successful?.map((s) => s.Id)).toEqual(['a', 'c']);
    expect(sent.Failed).toEqual([
      expect.objectContaining({
        Id: 'b',
        SenderFault: true,
        Code: 'InvalidParameterValue',
      }),
    ]);
    const messages = await receive(url);
    expect(messages.map((m) => m.Body)).toEqual(['first', 'third']);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...messages.map((m, i) => ({
            Id: `m${i}`,
            ReceiptHandle: m.ReceiptHandle,
          })),
          { Id: 'stale', ReceiptHandle: 'bm9wZQ==' },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'm0' }, { Id: 'm1' }]);
    expect(deleted.Failed?.[0]).toMatchObject({
      Id: 'stale',
      Code: 'ReceiptHandleIsInvalid',
    });
    const eleven = Array.from({ length: 11 }, (_, i) => ({
      Id: `e${i}`,
      MessageBody: 'x',
    }));
    await expect(
      client.send(
        new SendMessageBatchCommand({ QueueUrl: url, Entries: eleven }),
      ),
    ).rejects.toThrow(TooManyEntriesInBatchRequest);
    await send(url, 'purged');
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('injects faults and logs requests', async () => {
    const url = await newQueue();
    sqs.resetLog();
    sqs.failNext('SendMessage', 1, 'throttle');
    await expect(send(url, 'x')).rejects.toMatchObject({
      name: 'ThrottlingException',
    });
    await send(url, 'x');
    expect(sqs.requests.map((r) => [r.operation, r.errorType])).toEqual([
      ['SendMessage', 'ThrottlingException'],
      ['SendMessage', undefined],
    ]);
  });
});
