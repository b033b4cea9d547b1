import { SQSClient } from '@aws-sdk/client-sqs';
import { type Config, loadConfig } from '../../lambda/config.js';
import { ENV, RECHECK } from '../../lambda/contract.js';
import {
  createHandler,
  type Handler,
  type HandlerOptions,
} from '../../lambda/create-handler.js';
import {
  ACCOUNT,
  CREDENTIALS,
  functionEnvironment,
  REGION,
} from './environment.js';
import { startLocalAws } from './local-aws.js';
import { SqsEventSource } from './sqs/event-source.js';

const FUNCTION_NAME = 'codebuild-batch-retry-test';

/**
 * The function wired to dynalite and the CodeBuild and CloudWatch Logs
 * emulators on loopback.
 */
export type Harness = Awaited<ReturnType<typeof startHarness>>;

/**
 * Configuration the stack deploys by default, against the local table: the
 * function's own loader with nothing set but the table.
 */
export function defaultConfig(tableName: string): Config {
  return loadConfig({ [ENV.tableName]: tableName });
}

/**
 * Starts the servers on free ports, the table as the template defines it,
 * and points the SDK at them through its standard `AWS_ENDPOINT_URL_*`
 * variables only, as a local run would.
 *
 * @example
 * const h = await startHarness();
 * const handler = h.handler({ maxRetries: 1 });
 */
export async function startHarness() {
  let offset = 0;
  const aws = await startLocalAws({ now: () => Date.now() + offset });
  Object.assign(process.env, functionEnvironment(aws.endpoints), {
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
  });
  // The stack's re-check queue and its dead-letter queue. A short
  // visibility timeout, so a test sees a failed message come back soon.
  const deadLetters = aws.sqs.createQueue('recheck-dead-letters');
  const { QueueUrl: recheckQueueUrl } = aws.sqs.createQueue('recheck', {
    VisibilityTimeout: '30',
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetters.QueueArn,
      maxReceiveCount: RECHECK.maxReceives,
    }),
  });
  const sqsClient = new SQSClient({
    endpoint: aws.endpoints.sqs,
    region: REGION,
    credentials: CREDENTIALS,
  });
  return {
    codebuild: aws.codebuild,
    logs: aws.logs,
    events: aws.events,
    dynamo: aws.dynamo,
    sqs: aws.sqs,
    recheckQueueUrl,
    /** Builds a handler the way Lambda would load it, with this config. */
    handler: (
      overrides: Partial<Config> = {},
      options: HandlerOptions = {},
    ): Handler =>
      createHandler(
        {
          ...defaultConfig(aws.dynamo.tableName),
          recheckQueueUrl,
          ...overrides,
        },
        options,
      ),
    /** Lambda's event source mapping from the re-check queue to `handler`. */
    recheckSource: (handler: Handler) =>
      new SqsEventSource({
        client: sqsClient,
        queueUrl: recheckQueueUrl,
        handler: (event) => handler(event, lambdaContext()),
      }),
    /** Moves CodeBuild's clock (the function keeps real time). */
    clock: {
      shift(ms: number) {
        offset += ms;
      },
      /** The shifted time, for a function that should share it. */
      now: () => Date.now() + offset,
    },
    stop: () => aws.stop(),
  };
}

/** A Lambda context with a deadline, as the runtime passes it. */
export function lambdaContext(timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    functionName: FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION_NAME}`,
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
