import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandInput,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';
import { LogsEmulator } from '../../../../tools/local-aws/logs/emulator.js';

// Every assertion goes through the real @aws-sdk/client-cloudwatch-logs
// over HTTP: the emulator is only useful if the SDK parses what it sends.

const T0 = Date.UTC(2026, 10, 20, 9, 41, 0);
const clock = T0;
let logs: LogsEmulator;
let client: CloudWatchLogsClient;

beforeAll(async () => {
  logs = await LogsEmulator.start({ now: () => clock });
  client = newClient();
});
afterAll(async () => {
  client.destroy();
  await logs.stop();
});

function newClient(maxAttempts = 1) {
  return new CloudWatchLogsClient({
    region: REGION,
    endpoint: logs.endpoint,
    credentials: CREDENTIALS,
    maxAttempts,
  });
}

let streams = 0;
/** A fresh stream of `count` lines `line 1`…, one second apart. */
function newStream(count: number) {
  streams += 1;
  const group = '/aws/codebuild/web-app';
  const stream = `build-${streams}`;
  for (let i = 1; i <= count; i++) {
    logs.putLines(group, stream, [`line ${i}`], T0 + i * 1000);
  }
  return { logGroupName: group, logStreamName: stream };
}

const read = (input: GetLogEventsCommandInput) =>
  client.send(new GetLogEventsCommand(input));
const messages = (page: Awaited<ReturnType<typeof read>>) =>
  page.events?.map((e) => e.message);

describe('GetLogEvents', () => {
  it('answers the latest events by default, oldest first, with times', async () => {
    const stream = newStream(5);
    const page = await read({ ...stream, limit: 2 });
    expect(messages(page)).toEqual(['line 4', 'line 5']);
    expect(page.events?.[0]).toEqual({
      timestamp: T0 + 4000,
      message: 'line 4',
      ingestionTime: T0 + 4000,
    });
    expect(page.nextForwardToken).toMatch(/^f\/\d+\/s$/);
    expect(page.nextBackwardToken).toMatch(/^b\/\d+\/s$/);
    expect(messages(await read(stream))).toHaveLength(5);
  });

  it('reads from the head, and pages forward until the token comes back unchanged', async () => {
    const stream = newStream(5);
    const first = await read({ ...stream, startFromHead: true, limit: 2 });
    expect(messages(first)).toEqual(['line 1', 'line 2']);
    const second = await read({
      ...stream,
      startFromHead: true,
      limit: 2,
      nextToken: first.nextForwardToken,
    });
    expect(messages(second)).toEqual(['line 3', 'line 4']);
    const third = await read({
      ...stream,
      limit: 2,
      startFromHead: true,
      nextToken: second.nextForwardToken,
    });
    expect(messages(third)).toEqual(['line 5']);
    const end = await read({
      ...stream,
      startFromHead: true,
      nextToken: third.nextForwardToken,
    });
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(third.nextForwardToken);
  });

  it('pages backward from the tail', async () => {
    const stream = newStream(5);
    const tail = await read({ ...stream, limit: 2 });
    const before = await read({
      ...stream,
      limit: 2,
      nextToken: tail.nextBackwardToken,
    });
    expect(messages(before)).toEqual(['line 2', 'line 3']);
    const start = await read({
      ...stream,
      limit: 2,
      nextToken: before.nextBackwardToken,
    });
    expect(messages(start)).toEqual(['line 1']);
    // New lines show up on the next forward read.
    const { logGroupName, logStreamName } = stream;
    logs.putLines(logGroupName, logStreamName, ['line 6'], T0 + 6000);
    const after = await read({
      ...stream,
      startFromHead: true,
      nextToken: tail.nextForwardToken,
    });
    expect(messages(after)).toEqual(['line 6']);
  });

  it('finds the group by ARN', async () => {
    const { logGroupName, logStreamName } = newStream(3);
    const arn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logGroupName}`;
    for (const logGroupIdentifier of [arn, `${arn}:*`]) {
      const page = await read({ logGroupIdentifier, logStreamName });
      expect(messages(page)).toEqual(['line 1', 'line 2', 'line 3']);
    }
  });

  it('answers ResourceNotFoundException for a missing group or stream', async () => {
    const stream = newStream(1);
    const noGroup = read({ ...stream, logGroupName: '/aws/codebuild/none' });
    await expect(noGroup).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(noGroup).rejects.toThrow(
      'The specified log group does not exist.',
    );
    logs.deleteStream(stream.logGroupName, stream.logStreamName);
    await expect(read(stream)).rejects.toThrow(
      'The specified log stream does not exist.',
    );
    expect(() =>
      logs.deleteStream(stream.logGroupName, stream.logStreamName),
    ).toThrow(/No stream/);
  });

  it('answers InvalidParameterException for bad input', async () => {
    const stream = newStream(1);
    for (const input of [
      { ...stream, limit: 0 },
      { ...stream, limit: 10_001 },
      { ...stream, nextToken: 'f/garbage' },
      { ...stream, logGroupIdentifier: stream.logGroupName },
      { logStreamName: stream.logStreamName },
    ]) {
      await expect(read(input)).rejects.toBeInstanceOf(
        InvalidParameterException,
      );
    }
  });
});

describe('faults and the request log', () => {
  it('throttles with ThrottlingException, which the SDK retries', async () => {
    const stream = newStream(1);
    logs.resetLog();
    logs.failNext('GetLogEvents', 1, 'throttle');
    const retrying = newClient(3);
    // Near-zero jitter keeps the SDK's backoff short.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.001);
    try {
      const page = await retrying.send(new GetLogEventsCommand(stream));
      expect(page.$metadata.attempts).toBe(2);
    } finally {
      random.mockRestore();
      retrying.destroy();
    }
    logs.failNext('*', 1, 'throttle');
    await expect(read(stream)).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
    });
    expect(logs.requests).toEqual([
      {
        operation: 'GetLogEvents',
        input: stream,
        status: 400,
        errorType: 'ThrottlingException',
        at: clock,
      },
      { operation: 'GetLogEvents', input: stream, status: 200, at: clock },
      {
        operation: 'GetLogEvents',
        input: stream,
        status: 400,
        errorType: 'ThrottlingException',
        at: clock,
      },
    ]);
    expect(logs.arrivals).toHaveLength(3);
  });

  it('answers other services and operations with UnknownOperationException', async () => {
    const res = await fetch(logs.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'Logs_20140328.DeleteLogGroup' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      __type: 'UnknownOperationException',
    });
  });
});
