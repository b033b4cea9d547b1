import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from './conditional-write.js';
import { FUNCTION_TIMEOUT_SECONDS, type Outcome, TABLE } from './contract.js';
import type { Reason } from './decision.js';

/** Key prefix of history items: `history#<batch ARN>#<failure>`. */
export const HISTORY_KEY_PREFIX = 'history#';

/**
 * A history item's event is owed (`eventOwed`, epoch ms) from its write
 * until its `PutEvents` went through; once no invocation can still be
 * publishing it, the next to see the item publishes it instead.
 */
const EVENT_OWED = 'eventOwed';
const EVENT_LEASE_MS = FUNCTION_TIMEOUT_SECONDS * 1000;

/** Key prefix of a retry's announcement marker: `announced#<token>`. */
const ANNOUNCED_KEY_PREFIX = 'announced#';

/**
 * What became of a retry's `Batch Retry Issued`: published (`issued`), or
 * not to be published because CodeBuild refused the call (`refused`).
 */
export type Announcement = 'issued' | 'refused';

/** What was decided about one failure of one batch, and what came of it. */
export interface HistoryEntry {
  readonly batchArn: string;
  readonly projectName: string;
  /** The failure's key (see `failureKey`). */
  readonly failure: string;
  readonly decision: 'retried' | 'not-retried' | 'exhausted';
  readonly reason?: Reason;
  readonly failedGroups?: readonly { identifier: string; class: string }[];
  readonly attempt?: number;
  readonly maxRetries?: number;
  /** Epoch ms. */
  readonly failedAt?: number;
  readonly retriedAt?: number;
  readonly outcome?: Outcome;
  readonly outcomeAt?: number;
}

/**
 * The outcome history: one item per failure, in the service's table, kept
 * `HistoryDays` (TTL) — longer than the budget records, for the report.
 * Each item is written once, by whoever decided or observed first: the
 * write is conditional, and only its winner publishes the event.
 */
export class HistoryStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionSeconds: number;
  readonly #now: () => number;

  constructor(
    client: DynamoDBClient,
    options: { tableName: string; historyDays: number; now: () => number },
  ) {
    this.#doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
    this.#retentionSeconds = options.historyDays * 24 * 3600;
    this.#now = options.now;
  }

  /**
   * Writes `entry` unless this failure already has one, its event owed;
   * true when this call wrote it — or when an earlier writer died before
   * publishing (its lease, the function's timeout, ran out) and this call
   * took the event over. Whoever gets true publishes, then calls
   * {@link published}.
   *
   * @example
   * if (await history.record({ ...entry, outcome: 'healed' })) await publish();
   */
  async record(entry: HistoryEntry): Promise<boolean> {
    const key = keyOf(entry);
    const now = this.#now();
    if (
      await this.#putOnce({
        ...entry,
        [TABLE.partitionKey]: key,
        [EVENT_OWED]: now,
      })
    ) {
      return true;
    }
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [TABLE.partitionKey]: key },
        ConsistentRead: true,
      }),
    );
    const owedSince = Item?.[EVENT_OWED];
    if (typeof owedSince !== 'number' || now - owedSince < EVENT_LEASE_MS) {
      return false;
    }
    return this.#conditional(key, `SET ${EVENT_OWED} = :now`, {
      ConditionExpression: `${EVENT_OWED} = :since`,
      ExpressionAttributeValues: { ':now': now, ':since': owedSince },
    });
  }

  /** The event of `entry`'s item went out: nothing is owed any more. */
  async published(entry: Pick<HistoryEntry, 'batchArn' | 'failure'>) {
    await this.#conditional(keyOf(entry), `REMOVE ${EVENT_OWED}`, {});
  }

  /**
   * Claims a retry's announcement: true for the one caller that then
   * publishes `Batch Retry Issued` (or, with `refused`, makes sure nobody
   * does). The invocation that made the call and the retry's follow-up
   * both try, so a kill right after the call loses no event.
   *
   * @example
   * if (await history.announce(token, 'issued')) await publish();
   */
  announce(token: string, announcement: Announcement): Promise<boolean> {
    return this.#putOnce({
      [TABLE.partitionKey]: `${ANNOUNCED_KEY_PREFIX}${token}`,
      announcement,
    });
  }

  /** Gives an `issued` claim back: its event could not be published. */
  async withdraw(token: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({
        TableName: this.#table,
        Key: { [TABLE.partitionKey]: `${ANNOUNCED_KEY_PREFIX}${token}` },
      }),
    );
  }

  /** What became of a retry's announcement, if anything yet. */
  async announcement(token: string): Promise<Announcement | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [TABLE.partitionKey]: `${ANNOUNCED_KEY_PREFIX}${token}` },
        ConsistentRead: true,
      }),
    );
    return Item?.announcement as Announcement | undefined;
  }

  async #conditional(
    key: string,
    update: string,
    extra: {
      ConditionExpression?: string;
      ExpressionAttributeValues?: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const answer = await unlessConditionFails(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [TABLE.partitionKey]: key },
          UpdateExpression: update,
          ...extra,
        }),
      ),
    );
    return answer !== undefined;
  }

  async #putOnce(item: Record<string, unknown>): Promise<boolean> {
    const answer = await unlessConditionFails(
      this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...item,
            [TABLE.ttlAttribute]:
              Math.floor(this.#now() / 1000) + this.#retentionSeconds,
          },
          ConditionExpression: `attribute_not_exists(${TABLE.partitionKey})`,
        }),
      ),
    );
    return answer !== undefined;
  }
}

function keyOf(entry: Pick<HistoryEntry, 'batchArn' | 'failure'>): string {
  return `${HISTORY_KEY_PREFIX}${entry.batchArn}#${entry.failure}`;
}
