import type { Config } from '../../lambda/config.js';
import { createHandler, type Handler } from '../../lambda/create-handler.js';
import { CodeBuildEmulator } from './codebuild-emulator.js';
import { type LocalDynamo, startDynamo, TEST_CREDENTIALS } from './dynamo.js';

/** The function wired to dynalite and the CodeBuild emulator on loopback. */
export interface Harness {
  readonly codebuild: CodeBuildEmulator;
  readonly dynamo: LocalDynamo;
  /** Builds a handler the way Lambda would load it, with this config. */
  handler(overrides?: Partial<Config>): Handler;
  /** Moves CodeBuild's clock (the function keeps real time). */
  readonly clock: { shift(ms: number): void };
  stop(): Promise<void>;
}

/** Configuration the stack deploys by default, against the local table. */
export function defaultConfig(tableName: string): Config {
  return {
    tableName,
    maxRetries: 2,
    retryType: 'RETRY_FAILED_BUILDS',
    projectNames: [],
    dryRun: false,
    lookbackHours: 24,
  };
}

/**
 * Starts both servers on free ports and points the SDK at them through its
 * standard `AWS_ENDPOINT_URL_*` variables only, as a local run would.
 *
 * @example
 * const h = await startHarness();
 * const handler = h.handler({ maxRetries: 1 });
 */
export async function startHarness(): Promise<Harness> {
  let offset = 0;
  const [codebuild, dynamo] = await Promise.all([
    CodeBuildEmulator.start({ now: () => Date.now() + offset }),
    startDynamo(),
  ]);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CODEBUILD: codebuild.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'codebuild-batch-retry-test',
  });
  return {
    codebuild,
    dynamo,
    handler: (overrides = {}) =>
      createHandler({ ...defaultConfig(dynamo.tableName), ...overrides }),
    clock: {
      shift(ms: number) {
        offset += ms;
      },
    },
    async stop() {
      await Promise.all([codebuild.stop(), dynamo.stop()]);
    },
  };
}

/** A Lambda context with a deadline, as the runtime passes it. */
export function lambdaContext(timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    functionName: 'codebuild-batch-retry-test',
    functionVersion: '$LATEST',
    invokedFunctionArn:
      'arn:aws:lambda:eu-west-1:111122223333:function:codebuild-batch-retry-test',
    memoryLimitInMB: '256',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
