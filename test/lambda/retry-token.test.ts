import { describe, expect, it } from 'vitest';
import { failureKey } from '../../lambda/batch.js';
import { retryToken } from '../../lambda/retry-token.js';

const arn = 'arn:aws:codebuild:eu-west-1:111122223333:build-batch/web:1';
const batch = {
  arn,
  id: 'web:1',
  projectName: 'web',
  status: 'FAILED',
  endTime: new Date('2026-11-20T09:41:09Z'),
  phaseCount: 5,
  failedGroups: [],
  phases: [],
  runningBuilds: [],
  currentBuilds: [],
};

describe('retryToken', () => {
  it('is the same for every delivery of the same failure', () => {
    const failure = failureKey(batch);
    expect(retryToken(arn, 1, failure)).toBe(
      retryToken(arn, 1, failureKey({ ...batch })),
    );
  });

  it('changes with the attempt, the failure and the batch', () => {
    const failure = failureKey(batch);
    const token = retryToken(arn, 1, failure);
    expect(retryToken(arn, 2, failure)).not.toBe(token);
    expect(
      retryToken(
        arn,
        1,
        failureKey({ ...batch, endTime: new Date('2026-11-20T10:02:00Z') }),
      ),
    ).not.toBe(token);
    expect(retryToken(`${arn}0`, 1, failure)).not.toBe(token);
  });

  it('fits what CodeBuild accepts as a token and names the attempt', () => {
    const token = retryToken(arn, 3, failureKey(batch));
    expect(token).toMatch(/^cbr-3-[0-9a-f]{64}$/);
  });
});

describe('failureKey', () => {
  it('tells failures of a batch retried in place apart', () => {
    const first = failureKey(batch);
    const second = failureKey({
      ...batch,
      endTime: new Date('2026-11-20T10:30:00Z'),
      phaseCount: 9,
    });
    expect(first).not.toBe(second);
  });

  it('falls back to the phase count without an end time', () => {
    expect(failureKey({ ...batch, endTime: undefined })).toBe('unsettled/p5');
  });
});
