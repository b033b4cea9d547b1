import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../lambda/errors.js';
import { MAX_EVENT_BYTES, parseInvocation } from '../../lambda/event.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(
      new URL(`../fixtures/events/${name}`, import.meta.url),
      'utf8',
    ),
  );
const failed = fixture('build-state-failed.json');
const SECRET = 'npm_s3cr3t-value-that-must-never-be-logged';

function rejection(input: unknown): InvalidEventError {
  try {
    parseInvocation(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return error as InvalidEventError;
  }
  throw new Error('expected the event to be rejected');
}

describe('parseInvocation', () => {
  it('reads the sample failed event', () => {
    expect(parseInvocation(failed)).toEqual({
      kind: 'build-state-change',
      eventId: '3f2c9a71-5b0e-4d7a-9c11-7e2b8f4a6d01',
      buildArn:
        'arn:aws:codebuild:eu-west-1:111122223333:build/web-app:6f1d2c3b-8a9e-4f70-b2d4-0c5e7a9b1d22',
      projectName: 'web-app',
      buildStatus: 'FAILED',
      isFailure: true,
    });
  });

  it('keeps nothing of the environment variables', () => {
    expect(JSON.stringify(parseInvocation(failed))).not.toContain(SECRET);
  });

  it.each([
    ['build-state-succeeded.json', 'SUCCEEDED', false],
    ['build-state-stopped.json', 'STOPPED', false],
  ])('reads %s', (name, status, isFailure) => {
    expect(parseInvocation(fixture(name))).toMatchObject({
      kind: 'build-state-change',
      buildStatus: status,
      isFailure,
    });
  });

  it('rejects a phase change event, which the rule should not deliver', () => {
    expect(rejection(fixture('build-phase-change.json')).reason).toMatch(
      /detail-type/,
    );
  });

  it('accepts the sweep input and plain scheduled events', () => {
    expect(parseInvocation({ kind: 'sweep' })).toEqual({ kind: 'sweep' });
    expect(
      parseInvocation({
        version: '0',
        id: 'e1',
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        account: '111122223333',
        time: '2026-11-20T09:45:00Z',
        region: 'eu-west-1',
        resources: ['arn:aws:events:eu-west-1:111122223333:rule/sweep'],
        detail: {},
      }),
    ).toEqual({ kind: 'sweep', eventId: 'e1' });
  });

  const detail = failed.detail as Record<string, unknown>;
  it.each([
    ['null', null, /JSON object/],
    ['an array', [failed], /JSON object/],
    ['a string', 'FAILED', /JSON object/],
    ['no source', { ...failed, source: undefined }, /source/],
    ['another source', { ...failed, source: 'aws.ec2' }, /source/],
    ['no detail', { ...failed, detail: undefined }, /detail/],
    [
      'a numeric status',
      { ...failed, detail: { ...detail, 'build-status': 3 } },
      /detail\.build-status/,
    ],
    [
      'a non-terminal status',
      { ...failed, detail: { ...detail, 'build-status': 'IN_PROGRESS' } },
      /detail\.build-status/,
    ],
    [
      'no build id',
      { ...failed, detail: { ...detail, 'build-id': undefined } },
      /detail\.build-id/,
    ],
    [
      'a build id that is not an ARN',
      { ...failed, detail: { ...detail, 'build-id': 'web-app:123' } },
      /not a build ARN/,
    ],
    [
      'a batch ARN as build id',
      {
        ...failed,
        detail: {
          ...detail,
          'build-id':
            'arn:aws:codebuild:eu-west-1:111122223333:build-batch/web-app:1',
        },
      },
      /not a build ARN/,
    ],
    [
      'a project name that disagrees with the ARN',
      { ...failed, detail: { ...detail, 'project-name': 'other' } },
      /does not match/,
    ],
    ['a bad time', { ...failed, time: 'yesterday' }, /time/],
  ])('rejects %s with a reason', (_name, input, reason) => {
    expect(rejection(input).reason).toMatch(reason);
  });

  it('rejects an oversized event before validating it', () => {
    const big = { ...failed, padding: 'x'.repeat(MAX_EVENT_BYTES) };
    expect(rejection(big).reason).toMatch(/over the 262144-byte/);
  });

  it('never puts event values into the reason', () => {
    const leaky = {
      ...failed,
      detail: { ...detail, 'build-status': SECRET, 'build-id': SECRET },
    };
    expect(rejection(leaky).reason).not.toContain(SECRET);
    expect(rejection({ ...failed, source: SECRET }).reason).not.toContain(
      SECRET,
    );
  });
});
