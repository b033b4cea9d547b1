import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { BuildView } from './batch.js';
import { METRIC } from './contract.js';
import { logger } from './logger.js';
import { count } from './metrics.js';

/**
 * SDK attempts per GetLogEvents: its rate limit is low and meant for
 * people, and a failed read only means deciding from the messages alone,
 * so it backs off a little and then gives up rather than holding the
 * invocation.
 */
export const LOG_READ_MAX_ATTEMPTS = 3;

/**
 * Reads the tail of a build's CloudWatch log (GetLogEvents, latest events
 * first). The lines go to the classifier and nowhere else: build logs can
 * hold secrets, so nothing here logs or returns more than the lines.
 */
export class BuildLogs {
  #client?: CloudWatchLogsClient;
  readonly #makeClient: () => CloudWatchLogsClient;

  /** `client` is created on the first read unless given. */
  constructor(client?: CloudWatchLogsClient) {
    this.#makeClient = () =>
      client ??
      new CloudWatchLogsClient({ maxAttempts: LOG_READ_MAX_ATTEMPTS });
  }

  /**
   * The last `lines` lines of the build's log, oldest first; undefined when
   * they cannot be read (no stream yet, throttled, denied), which the caller
   * treats as "decide without the log".
   *
   * @example
   * const tail = await buildLogs.tail(build.logs, 100);
   */
  async tail(
    logs: NonNullable<BuildView['logs']>,
    lines: number,
  ): Promise<string[] | undefined> {
    this.#client ??= this.#makeClient();
    count(METRIC.BuildLogRead);
    try {
      const { events } = await this.#client.send(
        new GetLogEventsCommand({
          logGroupName: logs.groupName,
          logStreamName: logs.streamName,
          startFromHead: false,
          limit: lines,
        }),
      );
      return (events ?? []).map((event) => event.message ?? '');
    } catch (error) {
      // Only the error's name: its message may quote the request.
      logger.warn('Could not read the build log; deciding without it', {
        logGroupName: logs.groupName,
        error: (error as Error).name,
      });
      return undefined;
    }
  }
}
