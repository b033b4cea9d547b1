import { CodeBuildEmulator } from './codebuild/emulator.js';
import type { TableSpec } from './deployment.js';
import { startDynamo } from './dynamo.js';
import { EventsEmulator } from './events/emulator.js';
import { LogsEmulator } from './logs/emulator.js';
import { SqsEmulator } from './sqs/emulator.js';

/**
 * CodeBuild, CloudWatch Logs, DynamoDB, EventBridge and SQS on 127.0.0.1,
 * started and stopped together.
 */
export type LocalAws = Awaited<ReturnType<typeof startLocalAws>>;

/**
 * Starts the CodeBuild, CloudWatch Logs, EventBridge and SQS emulators (on
 * clock `now`, default `Date.now`; builds' logs land in CloudWatch Logs) and
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
  const { now } = options;
  const logs = await LogsEmulator.start({ now });
  const [codebuild, dynamo, events, sqs] = await Promise.all([
    CodeBuildEmulator.start({
      now,
      logSink: (group, stream, lines, at) =>
        logs.putLines(group, stream, lines, at),
    }),
    startDynamo({ tables: options.tables }),
    EventsEmulator.start({ now }),
    SqsEmulator.start({ now }),
  ]);
  return {
    codebuild,
    logs,
    dynamo,
    events,
    sqs,
    /** For {@link functionEnvironment}. */
    endpoints: {
      codebuild: codebuild.endpoint,
      logs: logs.endpoint,
      dynamodb: dynamo.endpoint,
      events: events.endpoint,
      sqs: sqs.endpoint,
    },
    async stop(): Promise<void> {
      await Promise.all([
        codebuild.stop(),
        logs.stop(),
        dynamo.stop(),
        events.stop(),
        sqs.stop(),
      ]);
    },
  };
}
