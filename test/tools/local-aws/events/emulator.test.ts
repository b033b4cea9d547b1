import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  CREDENTIALS,
  REGION,
} from '../../../../tools/local-aws/environment.js';
import { EventsEmulator } from '../../../../tools/local-aws/events/emulator.js';

// Every assertion goes through the real @aws-sdk/client-eventbridge over
// HTTP: the emulator is only useful if the SDK parses what it sends.

const T0 = Date.UTC(2026, 10, 20, 9, 41, 0);
let events: EventsEmulator;
let client: EventBridgeClient;

beforeAll(async () => {
  events = await EventsEmulator.start({ now: () => T0 });
  client = newClient();
});
afterAll(async () => {
  client.destroy();
  await events.stop();
});
beforeEach(() => events.resetLog());

function newClient(maxAttempts = 1) {
  return new EventBridgeClient({
    region: REGION,
    endpoint: events.endpoint,
    credentials: CREDENTIALS,
    maxAttempts,
  });
}

const put = (...Entries: PutEventsRequestEntry[]) =>
  client.send(new PutEventsCommand({ Entries }));
const batchEvent = (detail: object, more: PutEventsRequestEntry = {}) => ({
  Source: 'batch-retry',
  DetailType: 'Batch Retried',
  Detail: JSON.stringify(detail),
  ...more,
});

describe('PutEvents', () => {
  it('accepts entries with ids, stored as EventBridge delivers them', async () => {
    const before = events.events.length;
    const out = await put(
      batchEvent(
        { batch: 'b-1' },
        {
          Resources: ['arn:aws:codebuild:eu-west-1:111122223333:build-batch/x'],
        },
      ),
      batchEvent({ batch: 'b-2' }, { Time: new Date(T0 - 61_500) }),
    );
    expect(out.FailedEntryCount).toBe(0);
    const ids = out.Entries?.map((e) => e.EventId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    const [first, second] = events.events.slice(before);
    expect(first).toEqual({
      version: '0',
      id: ids?.[0],
      'detail-type': 'Batch Retried',
      source: 'batch-retry',
      account: ACCOUNT,
      time: '2026-11-20T09:41:00Z',
      region: REGION,
      resources: ['arn:aws:codebuild:eu-west-1:111122223333:build-batch/x'],
      detail: { batch: 'b-1' },
    });
    expect(second).toMatchObject({
      id: ids?.[1],
      time: '2026-11-20T09:39:58Z',
      resources: [],
    });
  });

  it('fails invalid entries one by one, as AWS words it, and keeps the others', async () => {
    const before = events.events.length;
    const out = await put(
      { DetailType: 'x', Detail: '{}' },
      { Source: 's', Detail: '{}' },
      { Source: 's', DetailType: 'x' },
      batchEvent({ ok: true }),
      ...['not json', '"a string"', '[1]', 'null'].map((Detail) => ({
        Source: 's',
        DetailType: 'x',
        Detail,
      })),
    );
    expect(out.FailedEntryCount).toBe(7);
    const required = (field: string) => ({
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
    });
    const malformed = {
      ErrorCode: 'MalformedDetail',
      ErrorMessage: 'Detail is malformed.',
    };
    expect(out.Entries).toEqual([
      required('Source'),
      required('DetailType'),
      required('Detail'),
      { EventId: expect.any(String) },
      malformed,
      malformed,
      malformed,
      malformed,
    ]);
    expect(events.events.slice(before).map((e) => e.detail)).toEqual([
      { ok: true },
    ]);
  });

  it('refuses the whole request for no entries, more than 10, or over 256 KB', async () => {
    const refused = async (entries: PutEventsRequestEntry[]) => {
      const error = await put(...entries).catch((e: Error) => e);
      expect(error).toMatchObject({
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      });
      return (error as Error).message;
    };
    expect(await refused([])).toMatch(/greater than or equal to 1$/);
    const eleven = Array.from({ length: 11 }, () => batchEvent({}));
    expect(await refused(eleven)).toMatch(/less than or equal to 10$/);
    const big = batchEvent({ text: 'x'.repeat(256 * 1024) });
    expect(await refused([big])).toBe(
      'Total size of the entries in the request is over the limit.',
    );
  });

  it('puts onto a custom bus by name or ARN; a bus that does not exist drops the event', async () => {
    const arn = events.createEventBus('batches');
    expect(arn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:event-bus/batches`);
    events.addRule('on-batches', {
      eventBusName: 'batches',
      pattern: { source: ['batch-retry'] },
    });
    events.addRule('on-default', { pattern: { source: ['batch-retry'] } });
    const before = events.events.length;
    // As AWS answers (recorded): an EventId, nothing failed, nothing stored.
    const out = await put(
      batchEvent({ n: 1 }, { EventBusName: 'batches' }),
      batchEvent({ n: 2 }, { EventBusName: arn }),
      batchEvent({ n: 3 }, { EventBusName: 'missing' }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.every((e) => e.EventId)).toBe(true);
    expect(events.events.slice(before).map((e) => e.detail)).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
    const delivered = events.delivered('on-batches', 'batches');
    expect(delivered.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(events.delivered('on-default')).toEqual([]);
    expect(() => events.createEventBus('batches')).toThrow(/already exists/);
  });
});

describe('rules', () => {
  it('match by detail-type and by source, only events put after they were added', async () => {
    await put(batchEvent({ early: true }));
    events.addRule('retried', {
      pattern: { 'detail-type': ['Batch Retried'] },
    });
    events.addRule('from-codebuild', {
      pattern: JSON.stringify({ source: ['aws.codebuild'] }),
    });
    await put(
      batchEvent({ n: 1 }),
      { Source: 'aws.codebuild', DetailType: 'Build State', Detail: '{}' },
      batchEvent({ n: 2 }, { DetailType: 'Batch Given Up' }),
    );
    expect(events.delivered('retried').map((e) => e.detail)).toEqual([
      { n: 1 },
    ]);
    expect(events.delivered('from-codebuild')).toMatchObject([
      { source: 'aws.codebuild', 'detail-type': 'Build State' },
    ]);
  });

  it('refuse an invalid pattern, an unknown bus or rule', () => {
    const pattern = { source: [{ prefix: 'aws.' }] };
    expect(() => events.addRule('bad', { pattern })).toThrow(/exact values/);
    expect(() =>
      events.addRule('r', { eventBusName: 'nope', pattern: {} }),
    ).toThrow(/No bus nope/);
    expect(() => events.delivered('never-added')).toThrow(/No rule/);
  });
});

describe('faults and the request log', () => {
  it('answers injected throttling and 500s, which the SDK retries', async () => {
    events.failNext('PutEvents', 1, 'throttle');
    const throttled = await put(batchEvent({})).catch((e: Error) => e);
    expect(throttled).toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    events.failNext('PutEvents', 1, 'server-error');
    const failed = await put(batchEvent({})).catch((e: Error) => e);
    expect(failed).toMatchObject({
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 500 },
    });

    events.failNext('PutEvents', 2, 'throttle');
    const retrying = newClient(3);
    try {
      const out = await retrying.send(
        new PutEventsCommand({ Entries: [batchEvent({ retried: true })] }),
      );
      expect(out.FailedEntryCount).toBe(0);
      expect(out.$metadata.attempts).toBe(3);
    } finally {
      retrying.destroy();
    }
  });

  it('logs each request with its operation, input, status and error type', async () => {
    events.failNext('*', 1, 'throttle');
    await put(batchEvent({ n: 1 })).catch(() => undefined);
    await put(batchEvent({ n: 2 }));
    expect(events.arrivals).toHaveLength(2);
    expect(events.requests).toEqual([
      {
        operation: 'PutEvents',
        input: { Entries: [batchEvent({ n: 1 })] },
        status: 400,
        at: T0,
        errorType: 'ThrottlingException',
      },
      {
        operation: 'PutEvents',
        input: { Entries: [batchEvent({ n: 2 })] },
        status: 200,
        at: T0,
      },
    ]);
  });
});
