import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { type Outcome, TABLE } from './contract.js';
import type { Reason } from './decision.js';

/** Key prefix of history items: `history#<batch ARN>#<failure>`. */
export const HISTORY_KEY_PREFIX = 'history#';

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
   * Writes `entry` unless this failure already has one; true when this
   * call wrote it.
   *
   * @example
   * if (await history.record({ ...entry, outcome: 'healed' })) await publish();
   */
  record(entry: HistoryEntry): Promise<boolean> {
    return this.#putOnce({
      ...entry,
      [TABLE.partitionKey]: `${HISTORY_KEY_PREFIX}${entry.batchArn}#${entry.failure}`,
    });
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

  async #putOnce(item: Record<string, unknown>): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...item,
            [TABLE.ttlAttribute]:
              Math.floor(this.#now() / 1000) + this.#retentionSeconds,
          },
          ConditionExpression: `attribute_not_exists(${TABLE.partitionKey})`,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
