import { createHash, randomUUID } from 'node:crypto';
import { ACCOUNT, REGION } from '../environment.js';
import { ApiError, type Input, LocalService } from '../wire-server.js';

export type { ArrivalRecord, RequestRecord } from '../wire-server.js';

interface Message {
  readonly id: string;
  readonly body: string;
  readonly attributes?: Record<string, unknown>;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  receipt?: string;
}

interface Queue {
  readonly name: string;
  readonly arn: string;
  /** CreateQueue's attributes over the defaults. */
  readonly attributes: Readonly<Record<string, string>>;
  readonly redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
  messages: Message[];
}

const DEFAULTS = {
  VisibilityTimeout: '30',
  DelaySeconds: '0',
  MessageRetentionPeriod: '345600',
};
const RANGES: Record<string, [number, number]> = {
  VisibilityTimeout: [0, 43_200],
  DelaySeconds: [0, 900],
  MessageRetentionPeriod: [60, 1_209_600],
  MaxNumberOfMessages: [1, 10],
  WaitTimeSeconds: [0, 20],
  maxReceiveCount: [1, 1000],
};
// The query protocol's codes, which the SDK reads from `x-amzn-query-error`.
const QUERY_CODES: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue',
};
for (const type of ['EmptyBatchRequest', 'TooManyEntriesInBatchRequest']) {
  QUERY_CODES[type] = `AWS.SimpleQueueService.${type}`;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
function fail(type: string, message: string): never {
  throw new ApiError(type, message);
}

/** `value` (or `fallback` when absent) as an integer within `name`'s range. */
function int(name: string, value: unknown, fallback: unknown, type?: string) {
  const n = Number(value ?? fallback);
  const [min, max] = RANGES[name];
  if (!(Number.isInteger(n) && n >= min && n <= max)) {
    const reason = `must be an integer between ${min} and ${max}`;
    fail(
      type ?? 'InvalidParameterValue',
      `Invalid ${name} ${value}: ${reason}`,
    );
  }
  return n;
}

/**
 * A wire-level Amazon SQS (standard queues) on 127.0.0.1 for the real
 * `@aws-sdk/client-sqs` (JSON 1.0, `AmazonSQS`; signatures are not
 * checked). Delays, visibility timeouts and retention follow the clock
 * `now`, never timers; a message received maxReceiveCount times under a
 * RedrivePolicy moves to the dead-letter queue at its next receive instead
 * of being delivered. Simplified: a receipt handle is valid only until its
 * message is received again or deleted (`ReceiptHandleIsInvalid`), no FIFO
 * queues, no long polling (WaitTimeSeconds is accepted, the answer is
 * immediate), no MD5OfMessageAttributes, `__type`s without the
 * `com.amazonaws.sqs#` prefix.
 */
export class SqsEmulator extends LocalService {
  readonly #queues = new Map<string, Queue>();

  private constructor(now: () => number) {
    super(now);
  }

  /** Starts an emulator on a free loopback port; `now` is its clock (ms). */
  static async start(options: { now?: () => number } = {}) {
    const sqs = new SqsEmulator(options.now ?? Date.now);
    const on = (f: (q: Queue, input: Input) => object) => (input: Input) =>
      f(sqs.#queue(input.QueueUrl), input);
    const remove = (q: Queue, input: Input) => {
      q.messages.splice(q.messages.indexOf(sqs.#received(q, input)), 1);
      return {};
    };
    await sqs.listen({
      target: 'AmazonSQS',
      jsonVersion: '1.0',
      errorHeaders: ({ type, status }) => ({
        'x-amzn-query-error': `${QUERY_CODES[type] ?? type};${status < 500 ? 'Sender' : 'Receiver'}`,
      }),
      operations: {
        CreateQueue: (i) =>
          sqs.createQueue(String(i.QueueName), i.Attributes as never),
        GetQueueUrl: (i) => ({ QueueUrl: sqs.#url(sqs.#queue(i.QueueName)) }),
        GetQueueAttributes: on((q, i) => sqs.#attributes(q, i.AttributeNames)),
        SendMessage: on((q, i) => sqs.#send(q, i)),
        SendMessageBatch: on((q, i) => batch(i, (e) => sqs.#send(q, e))),
        ReceiveMessage: on((q, i) => sqs.#receive(q, i)),
        DeleteMessage: on(remove),
        DeleteMessageBatch: on((q, i) => batch(i, (e) => remove(q, e))),
        ChangeMessageVisibility: on((q, i) => {
          const timeout = int('VisibilityTimeout', i.VisibilityTimeout, 0);
          sqs.#received(q, i).visibleAt = sqs.now() + timeout * 1000;
          return {};
        }),
        PurgeQueue: on((q) => {
          q.messages = [];
          return {};
        }),
      },
    });
    return sqs;
  }

  /** A queue's messages by state (what GetQueueAttributes approximates), off the wire. */
  counts(name: string) {
    const queue = this.#queue(name);
    const [visible, inFlight, delayed] = [0, 1, 2].map(
      (i) => queue.messages.filter((m) => this.#state(m) === i).length,
    );
    return { visible, inFlight, delayed };
  }

  /** CreateQueue: `QueueUrl` and `QueueArn`; an existing queue is kept. */
  createQueue(name: string, given: Record<string, string> = {}) {
    if (!/^[\w-]{1,80}$/.test(name)) {
      fail('InvalidParameterValue', `Invalid queue name: ${name}`);
    }
    const attributes = { ...DEFAULTS, ...given };
    for (const [key, value] of Object.entries(attributes)) {
      if (key in RANGES) int(key, value, 0, 'InvalidAttributeValue');
    }
    let redrive: Queue['redrive'];
    if (given.RedrivePolicy !== undefined) {
      try {
        redrive = JSON.parse(given.RedrivePolicy);
      } catch {}
      const arn = String(redrive?.deadLetterTargetArn);
      const max = redrive?.maxReceiveCount;
      int('maxReceiveCount', max ?? '', 0, 'InvalidAttributeValue');
      const dlq = [...this.#queues.values()].some((q) => q.arn === arn);
      if (!dlq) fail('InvalidAttributeValue', `No dead-letter queue ${arn}`);
      redrive = { deadLetterTargetArn: arn, maxReceiveCount: Number(max) };
    }
    const arn = `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
    const queue: Queue = this.#queues.get(name) ?? {
      ...{ name, arn, attributes, redrive, messages: [] },
    };
    this.#queues.set(name, queue);
    return { QueueUrl: this.#url(queue), QueueArn: arn };
  }

  #url(queue: Queue) {
    return `${this.endpoint}/${ACCOUNT}/${queue.name}`;
  }

  /** The queue a URL, ARN or name ends with, its expired messages dropped. */
  #queue(id: unknown): Queue {
    const queue = this.#queues.get(String(id).split(/[/:]/).pop() ?? '');
    if (!queue) fail('QueueDoesNotExist', 'The queue does not exist.');
    const retention = Number(queue.attributes.MessageRetentionPeriod);
    const oldest = this.now() - retention * 1000;
    queue.messages = queue.messages.filter((m) => m.sentAt > oldest);
    return queue;
  }

  #attributes(queue: Queue, names: unknown) {
    const [visible, inFlight, delayed] = [0, 0, 0].map((_, i) =>
      String(queue.messages.filter((m) => this.#state(m) === i).length),
    );
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: visible,
      ApproximateNumberOfMessagesNotVisible: inFlight,
      ApproximateNumberOfMessagesDelayed: delayed,
    };
    const wanted = Array.isArray(names) ? names : [];
    const picked = Object.entries(all).filter(
      ([k]) => wanted.includes('All') || wanted.includes(k),
    );
    return { Attributes: Object.fromEntries(picked) };
  }

  /** 0: visible, 1: in flight, 2: delayed (never received yet). */
  #state(m: Message) {
    if (m.visibleAt <= this.now()) return 0;
    return m.receiveCount ? 1 : 2;
  }

  #send(queue: Queue, input: Input) {
    const { MessageBody: body, MessageAttributes: attributes } = input;
    const size = typeof body === 'string' ? Buffer.byteLength(body) : 0;
    if (size < 1 || size > 262_144) {
      fail('InvalidParameterValue', 'MessageBody must be 1 to 262144 bytes');
    }
    const delay = int(
      'DelaySeconds',
      input.DelaySeconds,
      queue.attributes.DelaySeconds,
    );
    const [id, sentAt] = [randomUUID(), this.now()];
    const message = { id, body, attributes, sentAt, receiveCount: 0 };
    queue.messages.push({
      ...message,
      visibleAt: sentAt + delay * 1000,
    } as Message);
    return { MessageId: id, MD5OfMessageBody: md5(String(body)) };
  }

  #receive(queue: Queue, input: Input) {
    const max = int('MaxNumberOfMessages', input.MaxNumberOfMessages, 1);
    const timeout = int(
      'VisibilityTimeout',
      input.VisibilityTimeout,
      queue.attributes.VisibilityTimeout,
    );
    int('WaitTimeSeconds', input.WaitTimeSeconds, 0);
    const names = (...keys: string[]) =>
      keys.flatMap((k) => (Array.isArray(input[k]) ? input[k] : []));
    const system = names('MessageSystemAttributeNames', 'AttributeNames');
    const user = names('MessageAttributeNames');
    const now = this.now();
    const received: Message[] = [];
    for (const m of queue.messages.filter((m) => this.#state(m) === 0)) {
      if (received.length === max) break;
      if (queue.redrive && m.receiveCount >= queue.redrive.maxReceiveCount) {
        // Moved with its id, body, SentTimestamp and receive count.
        const dlq = this.#queue(queue.redrive.deadLetterTargetArn);
        queue.messages.splice(queue.messages.indexOf(m), 1);
        dlq.messages.push(Object.assign(m, { receipt: undefined }));
        continue;
      }
      m.receiveCount += 1;
      m.firstReceivedAt ??= now;
      m.visibleAt = now + timeout * 1000;
      m.receipt = Buffer.from(`${m.id}/${randomUUID()}`).toString('base64');
      received.push(m);
    }
    const pick = (values: object, wanted: unknown[]) => {
      const all = wanted.includes('All') || wanted.includes('.*');
      const picked = Object.entries(values).filter(
        ([k]) => all || wanted.includes(k),
      );
      return picked.length ? Object.fromEntries(picked) : undefined;
    };
    const Messages = received.map((m) => ({
      MessageId: m.id,
      ReceiptHandle: m.receipt,
      MD5OfBody: md5(m.body),
      Body: m.body,
      Attributes: pick(
        {
          SenderId: ACCOUNT,
          SentTimestamp: String(m.sentAt),
          ApproximateReceiveCount: String(m.receiveCount),
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
        },
        system,
      ),
      MessageAttributes: pick(m.attributes ?? {}, user),
    }));
    return { Messages };
  }

  /** The message a receipt handle names, until it is received again. */
  #received(queue: Queue, { ReceiptHandle: handle }: Input): Message {
    const found = queue.messages.find((m) => m.receipt && m.receipt === handle);
    return found ?? fail('ReceiptHandleIsInvalid', `Invalid handle ${handle}`);
  }
}

/** A batch of 1–10 entries, answered entry by entry. */
function batch(input: Input, run: (entry: Input) => object) {
  const entries = (input.Entries ?? []) as Input[];
  if (!entries.length) fail('EmptyBatchRequest', 'No entries');
  const many = `${entries.length} entries, at most 10`;
  if (entries.length > 10) fail('TooManyEntriesInBatchRequest', many);
  const result = { Successful: [] as object[], Failed: [] as object[] };
  for (const entry of entries) {
    try {
      result.Successful.push({ Id: entry.Id, ...run(entry) });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      const { type: Code, message: Message } = e;
      result.Failed.push({ Id: entry.Id, SenderFault: true, Code, Message });
    }
  }
  return result;
}
