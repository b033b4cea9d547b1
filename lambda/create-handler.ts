import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { BatchClassifier } from './batch-classifier.js';
import { BatchEvents } from './batch-events.js';
import { type BatchOutcome, BatchRetrier } from './batch-retrier.js';
import { BudgetStore } from './budget-store.js';
import { BuildLogs } from './build-logs.js';
import { CircuitStore } from './circuit-store.js';
import { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { METRIC, SDK_MAX_ATTEMPTS } from './contract.js';
import {
  buildSkipReason,
  isInScope,
  type SkipReason,
  startsSettleChain,
  triggerOf,
} from './decision.js';
import { InvalidEventError } from './errors.js';
import { type BuildStateChange, parseInvocation } from './event.js';
import { HistoryStore } from './history-store.js';
import { logger } from './logger.js';
import { count, metrics } from './metrics.js';
import { ProjectPolicies } from './project-policies.js';
import { createQueueConsumer } from './queue-consumer.js';
import { RecheckQueue } from './recheck-queue.js';
import {
  createIdempotencyConfig,
  createRetryStep,
  registerRetryLease,
} from './retry-step.js';
import { recordSkip } from './skip-log.js';
import { runSweep, type SweepSummary } from './sweep.js';

/** Budget records outlive the lookback window by this margin. */
const RETENTION_MARGIN_SECONDS = 2 * 24 * 3600;

/** What one invocation did; returned for tests and local runs. */
export type InvocationResult =
  /** Not an event the function acts on; `problem` says why. */
  | { readonly kind: 'rejected'; readonly problem: string }
  | { readonly kind: 'ignored'; readonly reason: SkipReason }
  /** Queue records; the failed ones are retried by the queue. */
  | {
      readonly kind: 'queue';
      readonly batchItemFailures: readonly { itemIdentifier: string }[];
    }
  | ({ readonly kind: 'batch' } & BatchOutcome)
  | SweepSummary;

/** Overrides for {@link createHandler}, mostly for tests and simulations. */
export interface HandlerOptions {
  readonly codebuild?: CodeBuildClient;
  readonly dynamodb?: DynamoDBClient;
  readonly logs?: CloudWatchLogsClient;
  readonly sqs?: SQSClient;
  readonly events?: EventBridgeClient;
  /** Clock in milliseconds. */
  readonly now?: () => number;
}

/** The Lambda handler's shape. */
export type Handler = (
  event: unknown,
  context: Pick<Context, 'getRemainingTimeInMillis'> & Partial<Context>,
) => Promise<InvocationResult>;

/**
 * Wires the service from a validated config: SDK clients (endpoints come from
 * the SDK's standard `AWS_ENDPOINT_URL_*` variables), the budget store, the
 * idempotent retry step, and the flow parse → resolve → decide → reserve →
 * retry → record.
 *
 * @example
 * export const handler = createHandler(loadConfig(process.env));
 */
export function createHandler(
  config: Config,
  options: HandlerOptions = {},
): Handler {
  const now = options.now ?? Date.now;
  const dynamodb =
    options.dynamodb ?? new DynamoDBClient({ maxAttempts: SDK_MAX_ATTEMPTS });
  const codebuild = new CodeBuildGateway(
    options.codebuild ?? new CodeBuildClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
  );
  const budgetStore = new BudgetStore(dynamodb, {
    tableName: config.tableName,
    retentionSeconds: config.lookbackHours * 3600 + RETENTION_MARGIN_SECONDS,
    now,
  });
  const idempotencyConfig = createIdempotencyConfig();
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: config.tableName,
    awsSdkV3Client: dynamodb,
  });
  const queue = config.recheckQueueUrl
    ? new RecheckQueue(
        options.sqs ?? new SQSClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
        config.recheckQueueUrl,
      )
    : undefined;
  const retrier = new BatchRetrier({
    config,
    budgetStore,
    now,
    ...(queue ? { queue } : {}),
    retry: createRetryStep(codebuild, persistenceStore, idempotencyConfig),
    policies: new ProjectPolicies(codebuild, config, now),
    circuits: new CircuitStore(dynamodb, config.tableName),
    history: new HistoryStore(dynamodb, {
      tableName: config.tableName,
      historyDays: config.historyDays,
      now,
    }),
    events: new BatchEvents(
      options.events ??
        new EventBridgeClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
      config.eventBusName,
    ),
    classifier: new BatchClassifier(
      codebuild,
      new BuildLogs(options.logs),
      config,
    ),
  });

  const onBuildStateChange = async (
    event: BuildStateChange,
  ): Promise<InvocationResult> => {
    const ignore = (reason: SkipReason): InvocationResult => {
      recordSkip('Ignored build', reason, { buildArn: event.buildArn });
      return { kind: 'ignored', reason };
    };
    // Scope first: out-of-scope projects cost no API call.
    if (!isInScope(config, event.projectName)) return ignore('out-of-scope');
    let trigger = triggerOf(event.buildStatus);
    if (trigger === 'build-ended') {
      // A healthy end matters only to a watched batch waiting on this
      // child: one DynamoDB read, and no CodeBuild call for the others.
      const watched = await budgetStore.batchOfRunningChild(event.buildArn);
      if (!watched) return ignore('batch-not-watched');
      const ended = await budgetStore.childEnded(watched, event.buildArn);
      // `unknown`: the watch ended (the batch was decided) or this is a copy.
      if (ended === 'unknown') return ignore('batch-not-watched');
      if (!startsSettleChain(event.buildStatus, ended)) {
        return ignore('siblings-running');
      }
      if (queue) {
        // The batch settles seconds after this: its settle chain reads it
        // then, and a healthy build costs no CodeBuild call.
        const ticket = await budgetStore.settle(watched);
        if (ticket) await queue.recheck(watched, 'settle', 0, ticket);
        return {
          kind: 'batch',
          batchArn: watched,
          result: 'watching',
          reason: 'batch-not-settled',
        };
      }
      if (ended === 'more') return ignore('siblings-running');
      const [batch] = await codebuild.getBatches([watched]);
      if (!batch) return ignore('batch-not-found');
      return {
        kind: 'batch',
        ...(await retrier.handle(batch, 'siblings-done')),
      };
    }
    const build = await codebuild.lookUpBuild(event.buildArn);
    if (build.kind !== 'batch-child') return ignore(buildSkipReason(build));
    const [batch] = await codebuild.getBatches([build.batchArn]);
    if (!batch) return ignore('batch-not-found');
    // A failed child of a running batch may be the last one an earlier
    // failure waits on; a settled batch is decided now anyway.
    if (
      batch.status === 'IN_PROGRESS' &&
      (await budgetStore.childEnded(batch.arn, event.buildArn)) === 'last'
    ) {
      trigger = 'siblings-done';
    }
    const outcome = await retrier.handle(batch, trigger, {
      known: build.build,
      eventBuildArn: event.buildArn,
    });
    return { kind: 'batch', ...outcome };
  };

  const consumeQueue = createQueueConsumer({
    budgetStore,
    codebuild,
    retrier,
    ...(queue ? { queue } : {}),
  });

  return async (event, context) => {
    if (context.awsRequestId) logger.addContext(context as Context);
    registerRetryLease(idempotencyConfig, context);
    try {
      let invocation: ReturnType<typeof parseInvocation>;
      try {
        invocation = parseInvocation(event);
      } catch (error) {
        if (!(error instanceof InvalidEventError)) throw error;
        // Returning (not throwing) stops Lambda from retrying an event that
        // can never succeed; the reason is logged, the event is not.
        logger.warn('Rejected invalid event', {
          decision: 'reject',
          reason: 'invalid-event',
          problem: error.problem,
        });
        count(METRIC.InvalidEvent);
        return { kind: 'rejected', problem: error.problem };
      }
      logger.appendKeys({
        // The sweep rule's constant input has no id; the request id stands in.
        eventId: invocation.eventId ?? context.awsRequestId ?? 'sweep',
      });
      if (invocation.kind === 'queue') {
        const response = await consumeQueue(invocation.event, context);
        return { kind: 'queue', ...response };
      }
      if (invocation.kind === 'sweep') {
        return await runSweep({
          config,
          budgetStore,
          codebuild,
          retrier,
          now,
          remainingMs: () => context.getRemainingTimeInMillis(),
        });
      }
      return await onBuildStateChange(invocation);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.removeKeys(['eventId']);
    }
  };
}
