import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import * as z from 'zod/mini';
import { parseBatchArn } from './arn.js';
import { METRIC, RETRY_TYPES } from './contract.js';
import { type RecheckChain, recheckDelaySeconds } from './decision.js';
import { InvalidEventError } from './errors.js';
import { count } from './metrics.js';
import type { RetryRequest } from './retry-step.js';

/** A retry made, as its follow-up re-checks carry it to its outcome. */
export interface RetryRecord {
  readonly projectName: string;
  readonly failure: string;
  readonly attempt: number;
  readonly maxRetries?: number;
  readonly token: string;
  /** Epoch ms: when the batch had failed, and when it was retried. */
  readonly failedAt?: number;
  readonly retriedAt: number;
  readonly failedGroups?: readonly { identifier: string; class: string }[];
}

/** Re-read a batch that was still running; `round` counts its chain. */
export interface RecheckMessage {
  readonly kind: 'recheck';
  readonly batchArn: string;
  readonly chain: RecheckChain;
  readonly round: number;
  /** The retry a `follow` chain waits on the outcome of. */
  readonly retry?: RetryRecord;
  /** The batch's phase count when the chain began (see `nextRecheck`). */
  readonly phases?: number;
  /** A `follow` chain's retry was announced (`Batch Retry Issued`). */
  readonly announced?: boolean;
  /** A backstop or settle round's claim on the watch (see `RecheckTicket`). */
  readonly watch?: number;
  readonly seq?: number;
}

/** Make a reserved attempt's retry, after its RetryDelaySeconds. */
export interface DelayedRetryMessage extends RetryRequest {
  readonly kind: 'retry';
}

/** What the function puts on its queue and reads back. */
export type QueueMessage = RecheckMessage | DelayedRetryMessage;

const batchArn = z
  .string()
  .check(z.refine((arn) => parseBatchArn(arn) !== undefined, 'a batch ARN'));

const SCHEMAS = {
  recheck: z.strictObject({
    kind: z.literal('recheck'),
    batchArn,
    chain: z.enum(['backstop', 'settle', 'follow']),
    round: z.number().check(z.gte(0), z.refine(Number.isInteger)),
    phases: z.optional(z.number()),
    announced: z.optional(z.boolean()),
    watch: z.optional(z.number()),
    seq: z.optional(z.number().check(z.gte(0), z.refine(Number.isInteger))),
    retry: z.optional(
      z.object({
        projectName: z.string(),
        failure: z.string().check(z.minLength(1)),
        attempt: z.number(),
        maxRetries: z.optional(z.number()),
        token: z.string(),
        failedAt: z.optional(z.number()),
        retriedAt: z.number(),
        failedGroups: z.optional(
          z.array(z.object({ identifier: z.string(), class: z.string() })),
        ),
      }),
    ),
  }),
  retry: z.strictObject({
    kind: z.literal('retry'),
    batchArn,
    batchId: z.string().check(z.minLength(1)),
    attempt: z.number().check(z.gte(1), z.refine(Number.isInteger)),
    failure: z.string().check(z.minLength(1)),
    retryType: z.enum(RETRY_TYPES),
    token: z.string().check(z.regex(/^[\w-]{1,128}$/)),
  }),
};

/**
 * Reads a queue message body; throws {@link InvalidEventError} naming the
 * problem (never the body) for anything the function did not send.
 *
 * @example
 * const message = parseQueueMessage(record.body);
 */
export function parseQueueMessage(body: string): QueueMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new InvalidEventError('queue message body is not JSON');
  }
  const kind = (json as { kind?: unknown } | null)?.kind;
  const schema = SCHEMAS[kind === 'retry' ? 'retry' : 'recheck'];
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join('.') || '(root)');
    throw new InvalidEventError(
      `queue message is not one the function sends (${[...new Set(paths)].join(', ')})`,
    );
  }
  return parsed.data;
}

/**
 * The re-check queue (SQS): delayed messages the function sends itself,
 * consumed by the same function through an event source mapping.
 */
export class RecheckQueue {
  readonly #client: SQSClient;
  readonly #url: string;

  constructor(client: SQSClient, queueUrl: string) {
    this.#client = client;
    this.#url = queueUrl;
  }

  /**
   * Schedules re-check `round` of a chain, after the chain's delay.
   *
   * @example
   * await queue.recheck(batch.arn, 'settle', 0); // in 10 s
   */
  async recheck(
    batchArn: string,
    chain: RecheckChain,
    round: number,
    extra: Pick<
      RecheckMessage,
      'retry' | 'phases' | 'announced' | 'watch' | 'seq'
    > = {},
  ): Promise<number> {
    const delaySeconds = recheckDelaySeconds(chain, round);
    const message: RecheckMessage = {
      kind: 'recheck',
      batchArn,
      chain,
      round,
      ...extra,
    };
    await this.#send(message, delaySeconds);
    count(METRIC.RecheckScheduled);
    return delaySeconds;
  }

  /** Schedules a reserved attempt's retry in `delaySeconds` (≤ 900). */
  async delayRetry(request: RetryRequest, delaySeconds: number): Promise<void> {
    await this.#send({ kind: 'retry', ...request }, delaySeconds);
    count(METRIC.RetryDelayed);
  }

  async #send(message: QueueMessage, delaySeconds: number): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({
        QueueUrl: this.#url,
        MessageBody: JSON.stringify(message),
        DelaySeconds: delaySeconds,
      }),
    );
  }
}
