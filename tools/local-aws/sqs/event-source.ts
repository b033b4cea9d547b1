import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { REGION } from '../environment.js';

/** What one {@link SqsEventSource.poll} did. */
export interface Invocation {
  readonly records: SQSRecord[];
  /** `ok`: all deleted; `partial`: batchItemFailures kept; `error`: threw. */
  readonly outcome: 'ok' | 'partial' | 'error';
  /** The messageIds left on the queue, to reappear. */
  readonly failed: string[];
  readonly error?: unknown;
  /** Messages whose deletion failed (they reappear too), and why. */
  readonly undeleted: string[];
  readonly deleteError?: unknown;
}

export interface SqsEventSourceOptions {
  /** A client of the queue's endpoint (the emulator's). */
  readonly client: SQSClient;
  /** `<endpoint>/<account>/<name>`; the ARN is made from its last parts. */
  readonly queueUrl: string;
  readonly handler: (event: SQSEvent) => Promise<unknown>;
  /** Messages per invocation, 1–10; default 10. */
  readonly batchSize?: number;
  /** FunctionResponseTypes ReportBatchItemFailures; default true. */
  readonly reportBatchItemFailures?: boolean;
}

/**
 * Lambda's SQS event source mapping, driven by the caller (no timers):
 * each {@link poll} receives up to `batchSize` visible messages, invokes the
 * handler with them, and deletes them unless it threw; with
 * ReportBatchItemFailures, the messages it names in `batchItemFailures` are
 * kept, and an unknown or empty identifier keeps them all, as Lambda does.
 * Kept messages reappear after the queue's visibility timeout.
 */
export class SqsEventSource {
  /** Every invocation so far, in order. */
  readonly invocations: Invocation[] = [];
  readonly #options: SqsEventSourceOptions;
  readonly #arn: string;

  constructor(options: SqsEventSourceOptions) {
    const size = options.batchSize ?? 10;
    if (!(Number.isInteger(size) && size >= 1 && size <= 10)) {
      throw new Error('batchSize must be an integer between 1 and 10');
    }
    this.#options = options;
    const [account, name] = new URL(options.queueUrl).pathname
      .split('/')
      .slice(-2);
    this.#arn = `arn:aws:sqs:${REGION}:${account}:${name}`;
  }

  /**
   * One receive and, if it got messages, one invocation; a failed receive
   * throws, a failed deletion is recorded (those messages reappear).
   */
  async poll(): Promise<Invocation | undefined> {
    const { client, queueUrl: QueueUrl, handler } = this.#options;
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl,
        MaxNumberOfMessages: this.#options.batchSize ?? 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 20,
      }),
    );
    if (!Messages.length) return undefined;
    const records = Messages.map((m) => this.#record(m));
    const ids = records.map((r) => r.messageId);
    let result: Pick<Invocation, 'outcome' | 'failed' | 'error'>;
    try {
      const failed = this.#failures(await handler({ Records: records }));
      const kept = failed.some((id) => !ids.includes(id)) ? ids : failed;
      result = { outcome: kept.length ? 'partial' : 'ok', failed: kept };
    } catch (error) {
      result = { outcome: 'error', failed: ids, error };
    }
    const done = records.filter((r) => !result.failed.includes(r.messageId));
    const Entries = done.map((r, i) => ({
      Id: String(i),
      ReceiptHandle: r.receiptHandle,
    }));
    let undeleted: string[] = [];
    let deleteError: unknown;
    if (Entries.length) {
      const command = new DeleteMessageBatchCommand({ QueueUrl, Entries });
      try {
        const { Failed = [] } = await client.send(command);
        undeleted = Failed.map((f) => done[Number(f.Id)].messageId);
      } catch (error) {
        [undeleted, deleteError] = [done.map((r) => r.messageId), error];
      }
    }
    const invocation = { records, ...result, undeleted, deleteError };
    this.invocations.push(invocation);
    return invocation;
  }

  /** Polls until a receive finds nothing visible; the invocations made. */
  async drain(maxPolls = 100): Promise<Invocation[]> {
    const made: Invocation[] = [];
    for (let i = 0; i < maxPolls; i++) {
      const invocation = await this.poll();
      if (!invocation) return made;
      made.push(invocation);
    }
    throw new Error(`Queue not drained after ${maxPolls} polls`);
  }

  /** The identifiers a response reports as failed (with the setting on). */
  #failures(response: unknown): string[] {
    if (this.#options.reportBatchItemFailures === false) return [];
    const items = (response as { batchItemFailures?: unknown })
      ?.batchItemFailures;
    if (!Array.isArray(items)) return [];
    const id = (item: { itemIdentifier?: unknown } | null) =>
      String(item?.itemIdentifier ?? '');
    return [...new Set(items.map(id))];
  }

  #record(m: Message): SQSRecord {
    const messageAttributes = Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
        name,
        {
          dataType: v.DataType ?? 'String',
          stringValue: v.StringValue,
          binaryValue:
            v.BinaryValue && Buffer.from(v.BinaryValue).toString('base64'),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    );
    return {
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: m.Attributes as unknown as SQSRecord['attributes'],
      messageAttributes,
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.#arn,
      awsRegion: REGION,
    };
  }
}
