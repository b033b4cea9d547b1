import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import type { CodeBuildGateway, RetryResponse } from './codebuild-gateway.js';
import type { RetryType } from './contract.js';

/**
 * How long a RetryBuildBatch call in progress holds its token against
 * duplicates. Powertools would hold it until the invocation's deadline (two
 * minutes); the call takes a second or two, and a duplicate made once a
 * dead (or slow) invocation's lease ran out is harmless (CodeBuild
 * deduplicates the token for five minutes), so a retry whose invocation
 * died is made by the re-check chain's next round, not two minutes later.
 */
export const RETRY_CALL_LEASE_MS = 10_000;

/** Prefix of the Powertools Idempotency records' keys in the table. */
export const IDEMPOTENCY_KEY_PREFIX = 'retry-build-batch';

/** One RetryBuildBatch call for one reserved attempt. */
export interface RetryRequest {
  readonly batchArn: string;
  readonly batchId: string;
  readonly attempt: number;
  readonly failure: string;
  readonly retryType: RetryType;
  readonly token: string;
}

/** Result of a {@link RetryStep}. */
export type RetryStepResult =
  /** `fresh` is false when an earlier delivery already made the call. */
  | {
      readonly kind: 'done';
      readonly response: RetryResponse;
      readonly fresh: boolean;
    }
  /** Another invocation is making this very call right now. */
  | { readonly kind: 'in-flight' };

/**
 * Makes the RetryBuildBatch call for a reserved attempt at most once;
 * `beforeCall` runs right before each call actually made (not when an
 * earlier delivery's stored result answers).
 */
export type RetryStep = (
  request: RetryRequest,
  beforeCall?: () => Promise<unknown>,
) => Promise<RetryStepResult>;

/**
 * The crash-safe retry step: RetryBuildBatch wrapped in Powertools
 * Idempotency, keyed by the retry token.
 *
 * While one invocation is making the call, duplicates get `in-flight`; once it
 * completed, duplicates get its stored result without calling CodeBuild. If
 * the invocation dies mid-call, its in-progress record expires with the
 * Lambda deadline and the next delivery (or the sweep) makes the call again
 * with the same token, which CodeBuild deduplicates for five minutes.
 *
 * @example
 * const step = createRetryStep(gateway, persistence, idempotencyConfig);
 * const outcome = await step({ batchArn, batchId, attempt, failure, retryType, token });
 */
export function createRetryStep(
  gateway: CodeBuildGateway,
  persistenceStore: BasePersistenceLayer,
  config: IdempotencyConfig,
): RetryStep {
  const call = async (
    request: RetryRequest,
    witness: { ran: boolean; beforeCall?: () => Promise<unknown> },
  ): Promise<RetryResponse> => {
    witness.ran = true;
    await witness.beforeCall?.();
    return gateway.retryBatch(request);
  };
  const once = makeIdempotent(call, {
    persistenceStore,
    config,
    keyPrefix: IDEMPOTENCY_KEY_PREFIX,
    dataIndexArgument: 0,
  });
  return async (request, beforeCall) => {
    const witness = { ran: false, ...(beforeCall ? { beforeCall } : {}) };
    try {
      const response = await once(request, witness);
      return { kind: 'done', response, fresh: witness.ran };
    } catch (error) {
      if (error instanceof IdempotencyAlreadyInProgressError) {
        return { kind: 'in-flight' };
      }
      throw error;
    }
  };
}

/**
 * Idempotency settings: records keyed by the token, kept an hour (well past
 * CodeBuild's five-minute token window and Lambda's retry delays).
 */
export function createIdempotencyConfig(): IdempotencyConfig {
  return new IdempotencyConfig({
    eventKeyJmesPath: 'token',
    expiresAfterSeconds: 3600,
    throwOnNoIdempotencyKey: true,
  });
}

/**
 * Gives the retry step the invocation's context, its deadline capped at
 * {@link RETRY_CALL_LEASE_MS}: a call in progress expires then.
 *
 * @example
 * registerRetryLease(idempotencyConfig, context);
 */
export function registerRetryLease(
  config: IdempotencyConfig,
  context: Partial<Context>,
): void {
  const remaining = () =>
    Math.min(
      context.getRemainingTimeInMillis?.() ?? RETRY_CALL_LEASE_MS,
      RETRY_CALL_LEASE_MS,
    );
  config.registerLambdaContext({
    ...context,
    getRemainingTimeInMillis: remaining,
  } as Context);
}
