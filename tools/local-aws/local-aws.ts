import { CodeBuildEmulator } from './codebuild/emulator.js';
import type { TableSpec } from './deployment.js';
import { startDynamo } from './dynamo.js';

/** CodeBuild and DynamoDB on 127.0.0.1, started and stopped together. */
export type LocalAws = Awaited<ReturnType<typeof startLocalAws>>;

/**
 * Starts the CodeBuild emulator (on clock `now`, default `Date.now`) and
 * dynalite (with `tables`, default the template's) on free loopback ports.
 *
 * @example
 * const aws = await startLocalAws();
 * Object.assign(process.env, functionEnvironment(aws.endpoints));
 * await aws.stop();
 */
export async function startLocalAws(
  options: { now?: () => number; tables?: readonly TableSpec[] } = {},
) {
  const [codebuild, dynamo] = await Promise.all([
    CodeBuildEmulator.start({ now: options.now }),
    startDynamo({ tables: options.tables }),
  ]);
  return {
    codebuild,
    dynamo,
    /** For {@link functionEnvironment}. */
    endpoints: { codebuild: codebuild.endpoint, dynamodb: dynamo.endpoint },
    async stop(): Promise<void> {
      await Promise.all([codebuild.stop(), dynamo.stop()]);
    },
  };
}
