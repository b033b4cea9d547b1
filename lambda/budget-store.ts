import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { BudgetView } from './batch.js';
import { unlessConditionFails } from './conditional-write.js';
import { TABLE } from './contract.js';
import { UnprocessedKeysError } from './errors.js';

// Attribute names come from the contract, which the table's definition also
// reads; the expressions below splice them in.
const { partitionKey: ID, ttlAttribute: TTL } = TABLE;
const { watchPartitionKey: SHARD, watchSortKey: WATCHED_AT } = TABLE;
/** The single partition value of the watch index. */
const WATCH_SHARD = 'watched';
/** When the batch's re-check chain started (set once per watch). */
const CHAIN = 'recheckChainAt';
/** Children still running when a sibling failed (a string set). */
const PENDING = 'pendingBuilds';
/** The re-check round that may run next; older rounds are superseded. */
const SEQ = 'recheckSeq';
/** Set once the batch's settle chain started. */
const SETTLING = 'settling';
/** The batch's phase count when the watch began (see `nextRecheck`). */
const PHASES = 'watchedPhases';
/** Every attribute of a watch, removed together when it ends. */
const WATCH = `${SHARD}, ${WATCHED_AT}, ${CHAIN}, ${PENDING}, ${SEQ}, ${SETTLING}, ${PHASES}`;
/** BatchWriteItem writes at most 25 items per call. */
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem reads at most 100 keys per call. */
const BATCH_GET_LIMIT = 100;

/**
 * BatchGetItem rounds for one set of keys, and the backoff between them:
 * full jitter over 50 ms doubling, capped at 1 s (AWS's advice for
 * unprocessed keys), about 1.5 s at most in all.
 */
export const UNPROCESSED_KEYS_ROUNDS = 5;
const BACKOFF_BASE_MS = 50;
const BACKOFF_CAP_MS = 1_000;

/** Result of {@link BudgetStore.reserveAttempt}. */
export type Reservation =
  /**
   * A new attempt was reserved for this failure; `watched` when the batch
   * is on the watch list, which the retry ends once it is made.
   */
  | {
      readonly kind: 'reserved';
      readonly attempt: number;
      readonly watched: boolean;
    }
  /** This failure already holds an attempt (duplicate, or crash redelivery). */
  | {
      readonly kind: 'duplicate';
      readonly attempt: number;
      /** When that attempt's delayed retry is due, if it was delayed. */
      readonly retryAfter?: number;
    }
  /** No budget left for a new failure. */
  | { readonly kind: 'exhausted'; readonly retries: number };

/**
 * A re-check round's claim on its batch's watch: the watch it belongs to
 * (when that watch began, epoch ms) and its sequence number. Only the
 * newest round of the newest watch goes on, so a batch has one live chain.
 */
export interface RecheckTicket {
  readonly watch: number;
  readonly seq: number;
  /** The batch's phase count when the watch began, if known. */
  readonly phases?: number;
}

/** A batch the event path saw fail a child while the batch still ran. */
export interface WatchedBatch {
  readonly batchArn: string;
  readonly watchedAt: number;
}

/** Options of {@link BudgetStore}. */
export interface BudgetStoreOptions {
  readonly tableName: string;
  /** How long a budget record outlives its last write, in seconds. */
  readonly retentionSeconds: number;
  /** Clock in milliseconds; injectable for tests and simulations. */
  readonly now?: () => number;
}

/**
 * The retry budget, one item per batch (`id = batch#<arn>`), in the table
 * that also holds the Powertools idempotency records. Every change is a
 * single-item conditional write, so concurrent duplicates cannot both win and
 * the budget cannot be exceeded, without transactions.
 *
 * Item attributes: `retries` (attempts reserved), `lastFailure` (the failure
 * the latest attempt belongs to), `exhaustedFailure`, `declinedFailure`, the watch index's keys
 * (present only while watched), and the TTL attribute (epoch seconds).
 */
export class BudgetStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number;
  readonly #now: () => number;

  constructor(client: DynamoDBClient, options: BudgetStoreOptions) {
    this.#doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
    this.#retentionSeconds = options.retentionSeconds;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reserves the next attempt for `failure` with one conditional write:
   * it succeeds only if the batch has budget left and this failure holds no
   * attempt yet. The watch goes on until the retry is made (see
   * `unwatch`), so a re-check chain carries on if this invocation dies
   * before the call.
   *
   * @example
   * const r = await store.reserveAttempt(batch.arn, failureKey(batch), 2);
   * if (r.kind !== 'exhausted') await retry(r.attempt);
   */
  async reserveAttempt(
    batchArn: string,
    failure: string,
    maxRetries: number,
  ): Promise<Reservation> {
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [ID]: keyOf(batchArn) },
          UpdateExpression: `SET retries = if_not_exists(retries, :zero) + :one, lastFailure = :failure, batchArn = :arn, updatedAt = :now, ${TTL} = :expiration REMOVE retryAfter`,
          ConditionExpression:
            '(attribute_not_exists(retries) OR retries < :max) AND (attribute_not_exists(lastFailure) OR lastFailure <> :failure)',
          ExpressionAttributeValues: {
            ':zero': 0,
            ':one': 1,
            ':max': maxRetries,
            ':failure': failure,
            ':arn': batchArn,
            ':now': this.#now(),
            ':expiration': this.#expiration(),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return {
        kind: 'reserved',
        attempt: Number(Attributes?.retries),
        watched: Attributes?.[SHARD] !== undefined,
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // DynamoDB returns the item that failed the condition; local emulators
      // may not, so fall back to a consistent read.
      const item = error.Item
        ? toBudget(unmarshall(error.Item))
        : await this.read(batchArn);
      const retries = item?.retries ?? 0;
      if (item?.lastFailure === failure) {
        const { retryAfter } = item;
        return {
          kind: 'duplicate',
          attempt: retries,
          ...(retryAfter === undefined ? {} : { retryAfter }),
        };
      }
      return { kind: 'exhausted', retries };
    }
  }

  /**
   * Gives back an attempt that CodeBuild refused (the batch was no longer
   * failed), if it is still the latest one, so no budget is consumed.
   */
  async releaseAttempt(
    batchArn: string,
    failure: string,
    attempt: number,
  ): Promise<boolean> {
    return this.#conditional({
      Key: { [ID]: keyOf(batchArn) },
      UpdateExpression:
        'SET retries = retries - :one, updatedAt = :now REMOVE lastFailure',
      ConditionExpression: 'lastFailure = :failure AND retries = :attempt',
      ExpressionAttributeValues: {
        ':one': 1,
        ':failure': failure,
        ':attempt': attempt,
        ':now': this.#now(),
      },
    });
  }

  /**
   * Records that exhaustion of `failure` was reported; true only the first
   * time, so a broken batch warns once per failure rather than every sweep.
   */
  async markExhausted(batchArn: string, failure: string): Promise<boolean> {
    return this.#markFailure('exhaustedFailure', batchArn, failure);
  }

  /**
   * Records that `failure` was found not retryable; true only the first
   * time, so the sweep does not classify the same failure (and read its
   * builds and logs) again every interval.
   */
  async markDeclined(batchArn: string, failure: string): Promise<boolean> {
    return this.#markFailure('declinedFailure', batchArn, failure);
  }

  async #markFailure(
    attribute: 'exhaustedFailure' | 'declinedFailure',
    batchArn: string,
    failure: string,
  ): Promise<boolean> {
    return this.#conditional({
      Key: { [ID]: keyOf(batchArn) },
      UpdateExpression: `SET ${attribute} = :failure, updatedAt = :now, batchArn = :arn, ${TTL} = :expiration REMOVE ${WATCH}`,
      ConditionExpression: `attribute_not_exists(${attribute}) OR ${attribute} <> :failure`,
      ExpressionAttributeValues: {
        ':failure': failure,
        ':arn': batchArn,
        ':now': this.#now(),
        ':expiration': this.#expiration(),
      },
    });
  }

  /**
   * Records that `attempt` of `failure` waits on the queue until
   * `retryAfter` (epoch ms), if the attempt is still the latest.
   */
  async delayRetry(
    batchArn: string,
    failure: string,
    attempt: number,
    retryAfter: number,
  ): Promise<boolean> {
    return this.#conditional({
      Key: { [ID]: keyOf(batchArn) },
      UpdateExpression: `SET retryAfter = :after, updatedAt = :now REMOVE ${WATCH}`,
      ConditionExpression: 'lastFailure = :failure AND retries = :attempt',
      ExpressionAttributeValues: {
        ':after': retryAfter,
        ':failure': failure,
        ':attempt': attempt,
        ':now': this.#now(),
      },
    });
  }

  /**
   * Puts the batch on the sweep's watch list (idempotent) and remembers its
   * children still running, each findable by its build ARN, so their events
   * tell when the last one ended without asking CodeBuild. `first` is true
   * until the watch's first re-check ran (a watcher that died before
   * queueing it is followed by one that does; copies lose the claim): it
   * starts the re-checks with `ticket`.
   */
  async watch(
    batchArn: string,
    runningBuilds: readonly string[] = [],
    phases?: number,
  ): Promise<{ readonly first: boolean; readonly ticket: RecheckTicket }> {
    const pending = runningBuilds.length > 0;
    const now = this.#now();
    const { Attributes: old } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { [ID]: keyOf(batchArn) },
        UpdateExpression: `SET ${SHARD} = :shard, ${WATCHED_AT} = if_not_exists(${WATCHED_AT}, :now), ${CHAIN} = if_not_exists(${CHAIN}, :now), ${SEQ} = if_not_exists(${SEQ}, :zero),${phases === undefined ? '' : ` ${PHASES} = if_not_exists(${PHASES}, :phases),`} batchArn = :arn, ${TTL} = :expiration${pending ? ` ADD ${PENDING} :builds` : ''}`,
        ExpressionAttributeValues: {
          ':shard': WATCH_SHARD,
          ':now': now,
          ':zero': 0,
          ...(phases === undefined ? {} : { ':phases': phases }),
          ':arn': batchArn,
          ':expiration': this.#expiration(),
          ...(pending ? { ':builds': new Set(runningBuilds) } : {}),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    for (let i = 0; i < runningBuilds.length; i += BATCH_WRITE_LIMIT) {
      const puts = runningBuilds.slice(i, i + BATCH_WRITE_LIMIT).map((arn) => ({
        PutRequest: {
          Item: { [ID]: buildKeyOf(arn), batchArn, [TTL]: this.#expiration() },
        },
      }));
      await untilProcessed(puts, async (items) => {
        const result = await this.#doc.send(
          new BatchWriteCommand({ RequestItems: { [this.#table]: items } }),
        );
        return result.UnprocessedItems?.[this.#table] as typeof puts;
      });
    }
    const began = old?.[CHAIN] === undefined;
    const first = began || (old?.[SEQ] === 0 && old?.[SETTLING] === undefined);
    const watchedPhases = began ? phases : old?.[PHASES];
    return {
      first,
      ticket: {
        watch: began ? now : Number(old?.[CHAIN]),
        seq: 0,
        ...(watchedPhases === undefined
          ? {}
          : { phases: Number(watchedPhases) }),
      },
    };
  }

  /**
   * Starts the watched batch's settle chain, once per watch: its last
   * child ended. Supersedes the chain before it; undefined when the batch
   * is not watched or its settle chain already started.
   */
  async settle(batchArn: string): Promise<RecheckTicket | undefined> {
    const answer = await unlessConditionFails(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [ID]: keyOf(batchArn) },
          UpdateExpression: `SET ${SETTLING} = :yes ADD ${SEQ} :one`,
          ConditionExpression: `attribute_exists(${CHAIN}) AND attribute_not_exists(${SETTLING})`,
          ExpressionAttributeValues: { ':yes': true, ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    if (!answer) return undefined;
    const { Attributes } = answer;
    const phases = Attributes?.[PHASES];
    return {
      watch: Number(Attributes?.[CHAIN]),
      seq: Number(Attributes?.[SEQ]),
      ...(phases === undefined ? {} : { phases: Number(phases) }),
    };
  }

  /**
   * Claims a re-check round: true when `ticket` is still the watch's
   * newest (its watch goes on and no later round ran), and then the next
   * round holds the claim. A superseded or redelivered round gets false.
   */
  claimRecheck(batchArn: string, ticket: RecheckTicket): Promise<boolean> {
    return this.#conditional({
      Key: { [ID]: keyOf(batchArn) },
      UpdateExpression: `SET ${SEQ} = :next`,
      ConditionExpression: `${CHAIN} = :watch AND ${SEQ} <= :seq`,
      ExpressionAttributeValues: {
        ':watch': ticket.watch,
        ':seq': ticket.seq,
        ':next': ticket.seq + 1,
      },
    });
  }

  /** The watched batch whose running child `buildArn` is, if any. */
  async batchOfRunningChild(buildArn: string): Promise<string | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [ID]: buildKeyOf(buildArn) },
        ConsistentRead: true,
      }),
    );
    return Item?.batchArn as string | undefined;
  }

  /**
   * Records that child `buildArn` of a watched batch ended: `last` when no
   * child the watch waited on still runs, `more` when some do, `unknown`
   * when the watch was not waiting on it (a duplicate event, or no watch).
   */
  async childEnded(
    batchArn: string,
    buildArn: string,
  ): Promise<'last' | 'more' | 'unknown'> {
    const answer = await unlessConditionFails(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [ID]: keyOf(batchArn) },
          UpdateExpression: `DELETE ${PENDING} :build`,
          ConditionExpression: `contains(${PENDING}, :arn)`,
          ExpressionAttributeValues: {
            ':build': new Set([buildArn]),
            ':arn': buildArn,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    if (!answer) return 'unknown';
    return answer.Attributes?.[PENDING] === undefined ? 'last' : 'more';
  }

  /**
   * Takes the batch off the watch list (only the watch that began at
   * `watch`, if given), which also ends its re-check chain.
   */
  async unwatch(batchArn: string, watch?: number): Promise<void> {
    await this.#conditional({
      Key: { [ID]: keyOf(batchArn) },
      UpdateExpression: `REMOVE ${WATCH}`,
      ConditionExpression:
        watch === undefined
          ? `attribute_exists(${SHARD})`
          : `${CHAIN} = :watch`,
      ...(watch === undefined
        ? {}
        : { ExpressionAttributeValues: { ':watch': watch } }),
    });
  }

  /** Every watched batch, oldest first. */
  async listWatched(): Promise<WatchedBatch[]> {
    const watched: WatchedBatch[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: TABLE.watchIndex,
          KeyConditionExpression: `${SHARD} = :shard`,
          ExpressionAttributeValues: { ':shard': WATCH_SHARD },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        watched.push({
          batchArn: String(item.batchArn),
          watchedAt: Number(item[WATCHED_AT]),
        });
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return watched;
  }

  /** The budget of one batch, read consistently. */
  async read(batchArn: string): Promise<BudgetView | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [ID]: keyOf(batchArn) },
        ConsistentRead: true,
      }),
    );
    return Item ? toBudget(Item) : undefined;
  }

  /** Budgets of many batches, 100 keys per call; absent batches have none. */
  async readMany(
    batchArns: readonly string[],
  ): Promise<Map<string, BudgetView>> {
    const budgets = new Map<string, BudgetView>();
    for (let i = 0; i < batchArns.length; i += BATCH_GET_LIMIT) {
      const keys: Record<string, unknown>[] = batchArns
        .slice(i, i + BATCH_GET_LIMIT)
        .map((arn) => ({ [ID]: keyOf(arn) }));
      await untilProcessed(keys, async (pending) => {
        const result: BatchGetCommandOutput = await this.#doc.send(
          new BatchGetCommand({
            RequestItems: {
              [this.#table]: { Keys: pending, ConsistentRead: true },
            },
          }),
        );
        for (const item of result.Responses?.[this.#table] ?? []) {
          budgets.set(String(item.batchArn), toBudget(item));
        }
        return result.UnprocessedKeys?.[this.#table]?.Keys;
      });
    }
    return budgets;
  }

  async #conditional(
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<boolean> {
    const answer = await unlessConditionFails(
      this.#doc.send(new UpdateCommand({ TableName: this.#table, ...input })),
    );
    return answer !== undefined;
  }

  #expiration(): number {
    return Math.floor(this.#now() / 1000) + this.#retentionSeconds;
  }
}

/**
 * Sends `items` and then whatever DynamoDB left unprocessed, backing off
 * between rounds, at most {@link UNPROCESSED_KEYS_ROUNDS} of them.
 */
async function untilProcessed<T>(
  items: T[],
  send: (items: T[]) => Promise<T[] | undefined>,
): Promise<void> {
  let pending: T[] | undefined = items;
  for (let round = 0; pending && pending.length > 0; round++) {
    if (round === UNPROCESSED_KEYS_ROUNDS) {
      throw new UnprocessedKeysError(pending.length);
    }
    if (round > 0) await sleep(backoffMs(round));
    pending = await send(pending);
  }
}

function backoffMs(round: number): number {
  return Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** round);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function buildKeyOf(buildArn: string): string {
  return `build#${buildArn}`;
}

function keyOf(batchArn: string): string {
  return `batch#${batchArn}`;
}

function toBudget(item: Record<string, unknown>): BudgetView {
  return {
    retries: Number(item.retries ?? 0),
    lastFailure: item.lastFailure as string | undefined,
    exhaustedFailure: item.exhaustedFailure as string | undefined,
    declinedFailure: item.declinedFailure as string | undefined,
    retryAfter:
      item.retryAfter === undefined ? undefined : Number(item.retryAfter),
  };
}
