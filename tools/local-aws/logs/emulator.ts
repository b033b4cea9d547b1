import { ApiError, checker, type Input, LocalService } from '../wire-server.js';

export type { ArrivalRecord, RequestRecord } from '../wire-server.js';

/** One log event, as GetLogEvents returns it. */
interface LogEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
}

const MAX_EVENTS = 10_000;
const check = checker('InvalidParameterException');
const notFound = (what: string) =>
  new ApiError(
    'ResourceNotFoundException',
    `The specified log ${what} does not exist.`,
  );

/**
 * A wire-level CloudWatch Logs on 127.0.0.1 for the real
 * `@aws-sdk/client-cloudwatch-logs` (JSON 1.1, `Logs_20140328`; signatures
 * are not checked): log groups and streams filled by {@link putLines},
 * read with GetLogEvents, with injectable faults.
 *
 * @example
 * const logs = await LogsEmulator.start();
 * logs.putLines('/aws/codebuild/web-app', 'build-uuid', ['npm ERR! …']);
 * // new CloudWatchLogsClient({ endpoint: logs.endpoint, … })
 * await logs.stop();
 */
export class LogsEmulator extends LocalService {
  readonly #groups = new Map<string, Map<string, LogEvent[]>>();

  private constructor(now: () => number) {
    super(now);
  }

  /** Starts an emulator on a free loopback port; `now` is its clock (ms). */
  static async start(options: { now?: () => number } = {}) {
    const logs = new LogsEmulator(options.now ?? Date.now);
    await logs.listen({
      target: 'Logs_20140328',
      operations: { GetLogEvents: (input) => logs.#getLogEvents(input) },
    });
    return logs;
  }

  /** Appends one event per line, at `at` (ms), creating group and stream. */
  putLines(
    groupName: string,
    streamName: string,
    lines: readonly string[],
    at = this.now(),
  ): void {
    const group = this.#groups.get(groupName) ?? new Map<string, LogEvent[]>();
    this.#groups.set(groupName, group);
    const events = group.get(streamName) ?? [];
    group.set(streamName, events);
    const ingestionTime = Math.max(at, this.now());
    for (const message of lines) {
      events.push({ timestamp: at, message, ingestionTime });
    }
    // Events are kept in time order, as CloudWatch Logs returns them.
    events.sort((a, b) => a.timestamp - b.timestamp);
  }

  /** Deletes a stream (its group stays); throws if it does not exist. */
  deleteStream(groupName: string, streamName: string): void {
    const deleted = this.#groups.get(groupName)?.delete(streamName);
    if (!deleted) throw new Error(`No stream ${groupName} ${streamName}`);
  }

  /**
   * GetLogEvents: a page of at most `limit` events, oldest first; the
   * latest ones unless `startFromHead` or a token says where to start.
   * Tokens are positions: `f/<n>/s` reads forward from event n, `b/<n>/s`
   * backward from it; at either end the token comes back unchanged.
   */
  #getLogEvents(input: Input) {
    const { group: groupName, stream: streamName, limit } = params(input);
    const group = this.#groups.get(groupName);
    if (!group) throw notFound('group');
    const stream = group.get(streamName);
    if (!stream) throw notFound('stream');
    const token =
      input.nextToken === undefined
        ? undefined
        : parseToken(input.nextToken, stream.length);
    const latest = Math.max(0, stream.length - limit);
    let from = input.startFromHead === true ? 0 : latest;
    if (token) from = token.forward ? token.at : Math.max(0, token.at - limit);
    const to =
      token && !token.forward
        ? token.at
        : Math.min(stream.length, from + limit);
    return {
      events: stream.slice(from, to),
      nextForwardToken: tokenOf('f', to),
      nextBackwardToken: tokenOf('b', from),
    };
  }
}

/** GetLogEvents' group (by name or ARN), stream and page size, validated. */
function params(input: Input) {
  const { logGroupName, logGroupIdentifier, logStreamName, limit } = input;
  if (logGroupName !== undefined && logGroupIdentifier !== undefined) {
    throw new ApiError(
      'InvalidParameterException',
      'LogGroup name and LogGroup ARN are mutually exclusive parameters.',
    );
  }
  const group = logGroupName ?? logGroupIdentifier;
  const nonEmpty = (v: unknown): v is string => typeof v === 'string' && !!v;
  const required = 'Member must not be null';
  check(nonEmpty(group), 'logGroupName', group, required);
  check(nonEmpty(logStreamName), 'logStreamName', logStreamName, required);
  const size = Number(limit ?? MAX_EVENTS);
  const ok = Number.isInteger(size) && size >= 1 && size <= MAX_EVENTS;
  check(
    ok,
    'limit',
    limit,
    `Member must have value between 1 and ${MAX_EVENTS}`,
  );
  return {
    // An ARN names the group after `log-group:`, maybe followed by `:*`.
    group: String(group)
      .replace(/^arn:[^:]*:logs:[^:]*:[^:]*:log-group:/, '')
      .replace(/:\*$/, ''),
    stream: String(logStreamName),
    limit: size,
  };
}

const tokenOf = (direction: 'f' | 'b', at: number) =>
  `${direction}/${String(at).padStart(56, '0')}/s`;

function parseToken(token: unknown, count: number) {
  const match = /^([fb])\/(\d{56})\/s$/.exec(String(token));
  const at = Number(match?.[2]);
  if (!match || at > count) {
    throw new ApiError(
      'InvalidParameterException',
      'The specified nextToken is invalid.',
    );
  }
  return { forward: match[1] === 'f', at };
}
