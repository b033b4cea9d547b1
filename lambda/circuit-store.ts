import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from './conditional-write.js';
import { type Outcome, TABLE } from './contract.js';
import type { CircuitView } from './decision.js';

const ID = TABLE.partitionKey;

/**
 * Each project's circuit breaker, one item per project (`circuit#<name>`)
 * in the service's table. Every transition is a conditional write, so two
 * environments cannot both take the half-open probe, and each opening or
 * closing is made (and published) once.
 */
export class CircuitStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = tableName;
  }

  /** The project's circuit, read consistently; undefined if never used. */
  async read(projectName: string): Promise<CircuitView | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { [ID]: keyOf(projectName) },
        ConsistentRead: true,
      }),
    );
    return Item ? toView(Item) : undefined;
  }

  /** Counts an outcome into the streak; the circuit after it. */
  async count(projectName: string, outcome: Outcome): Promise<CircuitView> {
    const failed = outcome === 'failed-again';
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { [ID]: keyOf(projectName) },
        UpdateExpression: failed
          ? 'SET #state = if_not_exists(#state, :closed) ADD streak :one'
          : 'SET #state = if_not_exists(#state, :closed), streak = :zero',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: failed
          ? { ':closed': 'closed', ':one': 1 }
          : { ':closed': 'closed', ':zero': 0 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toView(Attributes ?? {});
  }

  /**
   * Takes the half-open probe for `batchArn`'s `failure` from the circuit
   * as it was read (`seen`); true for the one winner among concurrent
   * takers.
   */
  takeProbe(
    projectName: string,
    seen: CircuitView,
    batchArn: string,
    failure: string,
  ) {
    const stale = seen.state === 'half-open';
    return this.#transition(projectName, {
      UpdateExpression:
        'SET #state = :half, probeBatch = :arn, probeFailure = :failure',
      ConditionExpression: stale
        ? '#state = :half AND probeBatch = :seen AND probeFailure = :seenFailure'
        : '#state = :open AND openedAt = :openedAt',
      ExpressionAttributeValues: {
        ':half': 'half-open',
        ':arn': batchArn,
        ':failure': failure,
        ...(stale
          ? {
              ':seen': seen.probeBatch ?? '',
              ':seenFailure': seen.probeFailure ?? '',
            }
          : { ':open': 'open', ':openedAt': seen.openedAt ?? 0 }),
      },
    });
  }

  /** Opens the circuit from the state `from` was read in; true once. */
  open(projectName: string, from: CircuitView, now: number) {
    return this.#transition(projectName, {
      UpdateExpression:
        'SET #state = :open, openedAt = :now REMOVE probeBatch, probeFailure',
      ConditionExpression:
        '#state = :from AND (attribute_not_exists(openedAt) OR openedAt <> :now)',
      ExpressionAttributeValues: {
        ':open': 'open',
        ':from': from.state,
        ':now': now,
      },
    });
  }

  /** Closes a half-open circuit whose probe healed; true once. */
  close(projectName: string, batchArn: string, failure: string) {
    return this.#transition(projectName, {
      UpdateExpression:
        'SET #state = :closed, streak = :zero REMOVE probeBatch, probeFailure',
      ConditionExpression:
        '#state = :half AND probeBatch = :arn AND probeFailure = :failure',
      ExpressionAttributeValues: {
        ':closed': 'closed',
        ':zero': 0,
        ':half': 'half-open',
        ':arn': batchArn,
        ':failure': failure,
      },
    });
  }

  async #transition(
    projectName: string,
    update: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    const answer = await unlessConditionFails(
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [ID]: keyOf(projectName) },
          ExpressionAttributeNames: { '#state': 'state' },
          ...update,
        }),
      ),
    );
    return answer !== undefined;
  }
}

function keyOf(projectName: string): string {
  return `circuit#${projectName}`;
}

function toView(item: Record<string, unknown>): CircuitView {
  return {
    state: (item.state as CircuitView['state']) ?? 'closed',
    streak: Number(item.streak ?? 0),
    ...(item.openedAt === undefined ? {} : { openedAt: Number(item.openedAt) }),
    ...(item.probeBatch === undefined
      ? {}
      : { probeBatch: String(item.probeBatch) }),
    ...(item.probeFailure === undefined
      ? {}
      : { probeFailure: String(item.probeFailure) }),
  };
}
