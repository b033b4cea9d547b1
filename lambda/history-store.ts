import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type Outcome, TABLE } from './contract.js';
import type { Reason } from './decision.js';

/** Key prefix of history items: `history#<batch ARN>#<failure>`. */
export const HISTORY_KEY_PREFIX = 'history#';

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
  async record(entry: HistoryEntry): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...entry,
            [TABLE.partitionKey]: `${HISTORY_KEY_PREFIX}${entry.batchArn}#${entry.failure}`,
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
