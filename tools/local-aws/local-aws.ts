import { CodeBuildEmulator } from './codebuild/emulator.js';
import type { TableSpec } from './deployment.js';
import { type LocalDynamo, startDynamo } from './dynamo.js';
import type { Endpoints } from './environment.js';

/** CodeBuild and DynamoDB on 127.0.0.1, started and stopped together. */
export interface LocalAws {
  readonly codebuild: CodeBuildEmulator;
  readonly dynamo: LocalDynamo;
  /** For {@link functionEnvironment}. */
  readonly endpoints: Endpoints;
  stop(): Promise<void>;
}

/** Options of {@link startLocalAws}. */
export interface LocalAwsOptions {
  /** CodeBuild's clock (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
  /** Tables to create; default the service's table from the template. */
  readonly tables?: readonly TableSpec[];
}

/**
 * Starts the CodeBuild emulator and dynalite on free loopback ports, in the
 * local account and region.
 *
 * @example
 * const aws = await startLocalAws();
 * Object.assign(process.env, functionEnvironment(aws.endpoints));
 * await aws.stop();
 */
export async function startLocalAws(
  options: LocalAwsOptions = {},
): Promise<LocalAws> {
  const [codebuild, dynamo] = await Promise.all([
    CodeBuildEmulator.start({ now: options.now }),
    startDynamo({ tables: options.tables }),
  ]);
  return {
    codebuild,
    dynamo,
    endpoints: { codebuild: codebuild.endpoint, dynamodb: dynamo.endpoint },
    async stop() {
      await Promise.all([codebuild.stop(), dynamo.stop()]);
    },
  };
}
