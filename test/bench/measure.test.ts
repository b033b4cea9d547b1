// The bench's own arithmetic and bookkeeping: if these are wrong, every
// figure in bench/RESULTS.md is.
import { describe, expect, it } from 'vitest';
import { percentile, perSecond, ratio } from '../../bench/stats.js';
import { asReferenceCalls, permutations } from '../../bench/warm.js';
import { type Call, IdMap } from '../../bench/world.js';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const OTHER = '33333333-3333-4333-8333-333333333333';

describe('stats', () => {
  it('takes nearest-rank percentiles and events per busy second', () => {
    const values = [5, 1, 4, 2, 3];
    expect(percentile(values, 50)).toBe(3);
    expect(percentile(values, 99)).toBe(5);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
    // Four events of 250 ms each: four events in one second of handler time.
    expect(perSecond([250, 250, 250, 250])).toBe(4);
    expect(ratio(2, 3)).toBe(0.667);
  });
});

describe('permutations', () => {
  it('gives every order exactly once, so each side takes each place equally', () => {
    const orders = permutations(['ours', 'control', 'floor', 'reference']);
    expect(orders).toHaveLength(24);
    expect(new Set(orders.map((o) => o.join(' '))).size).toBe(24);
    for (let place = 0; place < 4; place++) {
      const firsts = orders.filter((o) => o[place] === 'ours');
      expect(firsts).toHaveLength(6);
    }
  });
});

describe('IdMap', () => {
  it('maps paired ids onto the twin and counts the unpaired ones', () => {
    const ids = new IdMap();
    ids.pair([`arn:batch/${A}`], [`arn:batch/${B}`]);
    const call = { input: { id: `p:${A}`, other: OTHER } };
    expect(ids.translate(call)).toEqual({
      input: { id: `p:${B}`, other: OTHER },
    });
    expect(ids.unmapped).toBe(1);
    // An event's own envelope id needs no twin and is not counted.
    ids.translate({ id: OTHER }, false);
    expect(ids.unmapped).toBe(1);
  });

  it('refuses worlds whose ids do not line up', () => {
    expect(() => new IdMap().pair([`${A} ${OTHER}`], [B])).toThrow(
      'worlds diverged',
    );
  });
});

describe('asReferenceCalls', () => {
  it('gives DynamoDB inputs in document form and marks Idempotency records', () => {
    const calls: Call[] = [
      {
        service: 'codebuild',
        operation: 'BatchGetBuilds',
        input: { ids: [A] },
      },
      {
        service: 'dynamodb',
        operation: 'UpdateItem',
        input: {
          TableName: 't',
          Key: { id: { S: `batch#${A}` } },
          ExpressionAttributeValues: { ':one': { N: '1' } },
        },
      },
      {
        service: 'dynamodb',
        operation: 'PutItem',
        input: {
          TableName: 't',
          Item: {
            id: { S: 'retry-build-batch#abc' },
            status: { S: 'INPROGRESS' },
          },
        },
      },
      {
        service: 'dynamodb',
        operation: 'BatchGetItem',
        input: { RequestItems: { t: { Keys: [{ id: { S: 'batch#x' } }] } } },
      },
    ];
    const [build, reserve, record, read] = asReferenceCalls(calls);
    expect(build).toBe(calls[0]);
    expect(reserve).toMatchObject({
      recordOfIdempotency: false,
      document: {
        TableName: 't',
        Key: { id: `batch#${A}` },
        ExpressionAttributeValues: { ':one': 1 },
      },
    });
    expect(record).toMatchObject({
      recordOfIdempotency: true,
      document: { Item: { id: 'retry-build-batch#abc', status: 'INPROGRESS' } },
    });
    expect(read).toMatchObject({
      document: { RequestItems: { t: { Keys: [{ id: 'batch#x' }] } } },
    });
  });
});
