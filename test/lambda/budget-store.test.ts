import {
  type BatchGetItemCommandInput,
  type BatchGetItemCommandOutput,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BudgetStore,
  UNPROCESSED_KEYS_ROUNDS,
} from '../../lambda/budget-store.js';
import { UnprocessedKeysError } from '../../lambda/errors.js';
import { type LocalDynamo, startDynamo } from '../../tools/local-aws/dynamo.js';
import { CREDENTIALS, REGION } from '../../tools/local-aws/environment.js';

// Integration: the real DynamoDB client over HTTP against dynalite.
let dynamo: LocalDynamo;
let store: BudgetStore;
let clock = 1_700_000_000_000;
let n = 0;
let arn: string;

beforeAll(async () => {
  dynamo = await startDynamo();
  store = new BudgetStore(dynamo.client, {
    tableName: dynamo.tableName,
    retentionSeconds: 3600,
    now: () => clock,
  });
});
afterAll(() => dynamo.stop());
beforeEach(() => {
  n += 1;
  arn = `arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:b${n}`;
});

describe('BudgetStore', () => {
  it('reserves one attempt per failure and stops at the maximum', async () => {
    expect(await store.reserveAttempt(arn, 'f1', 2)).toEqual({
      kind: 'reserved',
      attempt: 1,
      watched: false,
    });
    expect(await store.reserveAttempt(arn, 'f1', 2)).toEqual({
      kind: 'duplicate',
      attempt: 1,
    });
    expect(await store.reserveAttempt(arn, 'f2', 2)).toEqual({
      kind: 'reserved',
      attempt: 2,
      watched: false,
    });
    expect(await store.reserveAttempt(arn, 'f3', 2)).toEqual({
      kind: 'exhausted',
      retries: 2,
    });
    // The failure holding the last attempt still resolves as a duplicate.
    expect(await store.reserveAttempt(arn, 'f2', 2)).toEqual({
      kind: 'duplicate',
      attempt: 2,
    });
    expect(await store.read(arn)).toMatchObject({
      retries: 2,
      lastFailure: 'f2',
    });
  });

  it('lets exactly one of many concurrent reservations win', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.reserveAttempt(arn, 'f1', 3)),
    );
    expect(results.filter((r) => r.kind === 'reserved')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(9);
    expect((await store.read(arn))?.retries).toBe(1);
  });

  it('releases an attempt only while it is the latest', async () => {
    await store.reserveAttempt(arn, 'f1', 3);
    expect(await store.releaseAttempt(arn, 'f1', 1)).toBe(true);
    expect(await store.read(arn)).toEqual({
      retries: 0,
      lastFailure: undefined,
      exhaustedFailure: undefined,
    });
    await store.reserveAttempt(arn, 'f2', 3);
    expect(await store.releaseAttempt(arn, 'f1', 1)).toBe(false);
    expect((await store.read(arn))?.retries).toBe(1);
  });

  it('reports exhaustion once per failure', async () => {
    expect(await store.markExhausted(arn, 'f1')).toBe(true);
    expect(await store.markExhausted(arn, 'f1')).toBe(false);
    expect(await store.markExhausted(arn, 'f2')).toBe(true);
  });

  it('keeps a watch list through a reservation, until the watch ends', async () => {
    const other = `${arn}x`;
    await store.watch(arn);
    clock += 1000;
    await store.watch(other);
    await store.watch(other);
    const listed = (await store.listWatched()).map((w) => w.batchArn);
    expect(listed).toContain(arn);
    expect(listed).toContain(other);
    // Still watched after the reservation: the retry ends the watch.
    expect(await store.reserveAttempt(arn, 'f1', 1)).toMatchObject({
      watched: true,
    });
    expect((await store.listWatched()).map((w) => w.batchArn)).toContain(arn);
    await store.unwatch(arn);
    // Only the watch a chain belongs to is ended by it.
    const { ticket } = await store.watch(`${other}y`);
    await store.unwatch(`${other}y`, ticket.watch + 1);
    await store.unwatch(other);
    const after = (await store.listWatched()).map((w) => w.batchArn);
    expect(after).not.toContain(arn);
    expect(after).not.toContain(other);
    expect(after).toContain(`${other}y`);
  });

  it('lets one round of a chain run at a time, and starts the settle chain once', async () => {
    const batch = `${arn}-chain`;
    const { first, ticket } = await store.watch(batch, ['b1'], 3);
    expect(first).toBe(true);
    expect(ticket).toMatchObject({ seq: 0, phases: 3 });
    // Until its first round ran, a watcher starts the chain again (the one
    // before may have died before queueing it); copies lose the claim.
    expect(await store.watch(batch, [], 5)).toEqual({ first: true, ticket });
    expect(await store.claimRecheck(batch, ticket)).toBe(true);
    expect(await store.watch(batch)).toEqual({ first: false, ticket });
    // A copy of the round, or a round of another watch, is superseded.
    expect(await store.claimRecheck(batch, ticket)).toBe(false);
    expect(
      await store.claimRecheck(batch, { ...ticket, watch: ticket.watch + 1 }),
    ).toBe(false);
    // The settle chain supersedes the backstop's next round (seq 1).
    const settling = { watch: ticket.watch, seq: 2, phases: 3 };
    expect(await store.settle(batch)).toEqual(settling);
    expect(await store.settle(batch)).toBeUndefined();
    expect(await store.claimRecheck(batch, { ...ticket, seq: 1 })).toBe(false);
    expect(await store.claimRecheck(batch, settling)).toBe(true);
    await store.unwatch(batch, ticket.watch);
    expect(await store.claimRecheck(batch, { ...ticket, seq: 3 })).toBe(false);
    expect(await store.settle(batch)).toBeUndefined();
  });

  it('reads many budgets at once and sets a TTL on every write', async () => {
    const arns = Array.from({ length: 120 }, (_, i) => `${arn}-${i}`);
    await store.reserveAttempt(arns[0], 'f', 2);
    await store.reserveAttempt(arns[119], 'f', 2);
    const budgets = await store.readMany(arns);
    expect([...budgets.keys()].sort()).toEqual([arns[0], arns[119]].sort());
    const items = await dynamo.scan();
    const item = items.find((i) => i.id === `batch#${arns[0]}`);
    expect(item?.expiration).toBe(Math.floor(clock / 1000) + 3600);
  });

  describe('under sustained throttling of batch reads', () => {
    /**
     * The real client to dynalite, with DynamoDB's answer to a throttled
     * BatchGetItem: the first `throttled` calls come back with every key
     * unprocessed.
     */
    function throttledStore(throttled: number) {
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: REGION,
        credentials: CREDENTIALS,
      });
      let calls = 0;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (context.commandName !== 'BatchGetItemCommand') return result;
          calls += 1;
          if (calls > throttled) return result;
          const input = args.input as BatchGetItemCommandInput;
          const output = result.output as BatchGetItemCommandOutput;
          output.Responses = {};
          output.UnprocessedKeys = input.RequestItems;
          return result;
        },
        { step: 'initialize', name: 'unprocessedKeys' },
      );
      const throttledStore = new BudgetStore(client, {
        tableName: dynamo.tableName,
        retentionSeconds: 3600,
        now: () => clock,
      });
      return { store: throttledStore, calls: () => calls };
    }

    it('backs off and reads the keys DynamoDB left unprocessed', async () => {
      await store.reserveAttempt(arn, 'f1', 2);
      const { store: slow, calls } = throttledStore(2);

      const budgets = await slow.readMany([arn]);

      expect(budgets.get(arn)).toMatchObject({ retries: 1 });
      expect(calls()).toBe(3);
    });

    it('gives up after a bounded number of rounds instead of spinning', async () => {
      const { store: stuck, calls } = throttledStore(Number.POSITIVE_INFINITY);

      await expect(stuck.readMany([arn])).rejects.toBeInstanceOf(
        UnprocessedKeysError,
      );
      expect(calls()).toBe(UNPROCESSED_KEYS_ROUNDS);
    });
  });
});
