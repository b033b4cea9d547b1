import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { type BatchOutcome, BatchProcessor } from './batch-processor.js';
import { BudgetStore } from './budget-store.js';
import { CodeBuildGateway } from './codebuild-gateway.js';
import type { Config } from './config.js';
import { isInScope } from './decision.js';
import { InvalidEventError } from './errors.js';
import { type BuildStateChange, parseInvocation } from './event.js';
import { logger, logSkip } from './logger.js';
import { count, countSkip, METRIC, metrics } from './metrics.js';
import { createIdempotencyConfig, createRetryStep } from './retry-step.js';
import { runSweep, type SweepSummary } from './sweep.js';

/**
 * SDK attempts per call. Standard retry mode backs off exponentially on
 * ThrottlingException and 5xx; the function's timeout covers the worst case.
 */
export const SDK_MAX_ATTEMPTS = 5;

/** Budget records outlive the lookback window by this margin. */
const RETENTION_MARGIN_SECONDS = 2 * 24 * 3600;

/** What one invocation did; returned for tests and local runs. */
export type InvocationResult =
  | { readonly kind: 'rejected'; readonly reason: string }
  | { readonly kind: 'ignored'; readonly reason: string }
  | ({ readonly kind: 'batch' } & BatchOutcome)
  | SweepSummary;

/** Overrides for {@link createHandler}, mostly for tests and simulations. */
export interface ServiceOptions {
  readonly codebuild?: CodeBuildClient;
  readonly dynamodb?: DynamoDBClient;
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
  options: ServiceOptions = {},
): Handler {
  const now = options.now ?? Date.now;
  const dynamodb =
    options.dynamodb ?? new DynamoDBClient({ maxAttempts: SDK_MAX_ATTEMPTS });
  const codebuild = new CodeBuildGateway(
    options.codebuild ?? new CodeBuildClient({ maxAttempts: SDK_MAX_ATTEMPTS }),
  );
  const budget = new BudgetStore(dynamodb, {
    tableName: config.tableName,
    retentionSeconds: config.lookbackHours * 3600 + RETENTION_MARGIN_SECONDS,
    now,
  });
  const idempotencyConfig = createIdempotencyConfig();
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: config.tableName,
    awsSdkV3Client: dynamodb,
  });
  const processor = new BatchProcessor({
    config,
    budget,
    now,
    retry: createRetryStep(codebuild, persistenceStore, idempotencyConfig),
  });

  const onBuildStateChange = async (
    event: BuildStateChange,
  ): Promise<InvocationResult> => {
    const ignore = (reason: string): InvocationResult => {
      logSkip('Ignored build', {
        buildArn: event.buildArn,
        decision: 'skip',
        reason,
      });
      countSkip(reason);
      return { kind: 'ignored', reason };
    };
    // Scope first: out-of-scope projects cost no API call.
    if (!isInScope(config, event.projectName)) return ignore('out-of-scope');
    const build = await codebuild.lookUpBuild(event.buildArn);
    if (build.kind === 'standalone') return ignore('standalone-build');
    if (build.kind === 'not-found') return ignore('build-not-found');
    const [batch] = await codebuild.getBatches([build.batchArn]);
    if (!batch) return ignore('batch-not-found');
    const outcome = await processor.process(
      batch,
      event.isFailure ? 'build-failed' : 'build-ended',
    );
    return { kind: 'batch', ...outcome };
  };

  return async (event, context) => {
    if (context.awsRequestId) logger.addContext(context as Context);
    idempotencyConfig.registerLambdaContext(context as Context);
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
          reason: error.reason,
        });
        count(METRIC.invalidEvent);
        return { kind: 'rejected', reason: error.reason };
      }
      logger.appendKeys({
        // The sweep rule's constant input has no id; the request id stands in.
        eventId: invocation.eventId ?? context.awsRequestId ?? 'sweep',
      });
      if (invocation.kind === 'sweep') {
        return await runSweep({
          config,
          budget,
          codebuild,
          processor,
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
