import {
  type EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { parseBatchArn } from './arn.js';
import {
  type BatchEventType,
  EVENT_SOURCE,
  METRIC,
  type Outcome,
} from './contract.js';
import type { Reason } from './decision.js';
import type { Classification } from './failure-class.js';
import { logger } from './logger.js';
import { count } from './metrics.js';

/**
 * The `detail` of a batch-level event: what a consumer needs to act on a
 * batch's fate, and nothing from CodeBuild's own events (no environment
 * variable, no log line).
 */
export interface BatchEventDetail {
  readonly batchArn: string;
  readonly projectName: string;
  /** The retry attempt the event is about, and the project's maximum. */
  readonly attempt?: number;
  readonly maxRetries?: number;
  /** The RetryBuildBatch idempotency token of that attempt. */
  readonly token?: string;
  /** Each failed group's identifier and class. */
  readonly failedGroups?: readonly Pick<
    Classification,
    'identifier' | 'class'
  >[];
  /** Why the batch was not retried. */
  readonly reason?: Reason;
  readonly outcome?: Outcome;
  /** ISO times and the seconds between them. */
  readonly failedAt?: string;
  readonly retriedAt?: string;
  readonly failureToRetrySeconds?: number;
  readonly retryToOutcomeSeconds?: number;
  /** A project's circuit breaker, for its opening and closing. */
  readonly circuit?: {
    readonly streak: number;
    readonly threshold: number;
    readonly cooldownMinutes: number;
    /** ISO: until when retries are held back. */
    readonly until?: string;
  };
}

/**
 * Publishes batch-level events on the configured bus (`source:
 * "codebuild-batch-retry"`), each with a console link to the batch.
 * Callers publish once per decision, after the conditional write that
 * makes the decision theirs; a PutEvents that still fails after the SDK's
 * retries is logged and counted, and never fails the decision itself.
 */
export class BatchEvents {
  readonly #client: EventBridgeClient;
  readonly #bus: string;

  constructor(client: EventBridgeClient, eventBusName: string) {
    this.#client = client;
    this.#bus = eventBusName;
  }

  /**
   * Publishes one event; true if EventBridge accepted it.
   *
   * @example
   * await events.publish(BATCH_EVENTS.healed, { batchArn, projectName, outcome: 'healed' });
   */
  async publish(
    type: BatchEventType,
    detail: BatchEventDetail,
  ): Promise<boolean> {
    try {
      const { FailedEntryCount, Entries } = await this.#client.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: this.#bus,
              Source: EVENT_SOURCE,
              DetailType: type,
              Resources: [detail.batchArn],
              Detail: JSON.stringify({
                ...detail,
                consoleUrl: consoleUrl(detail.batchArn),
              }),
            },
          ],
        }),
      );
      if (FailedEntryCount) {
        throw new Error(Entries?.[0]?.ErrorCode ?? 'PutEvents entry failed');
      }
      count(METRIC.EventPublished);
      return true;
    } catch (error) {
      logger.warn('Could not publish a batch event', {
        batchArn: detail.batchArn,
        detailType: type,
        error:
          (error as Error).name === 'Error'
            ? (error as Error).message
            : (error as Error).name,
      });
      count(METRIC.EventPublishFailed);
      return false;
    }
  }
}

/**
 * The batch's page in the CodeBuild console.
 *
 * @example
 * consoleUrl('arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:1b2c');
 */
export function consoleUrl(batchArn: string): string | undefined {
  const arn = parseBatchArn(batchArn);
  if (!arn) return undefined;
  const { region, account, projectName } = arn;
  const batch = encodeURIComponent(arn.id);
  return `https://${region}.console.aws.amazon.com/codesuite/codebuild/${account}/projects/${projectName}/batch/${batch}?region=${region}`;
}
