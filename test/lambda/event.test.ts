import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUILD_STATE_CHANGE,
  PROJECT_NAME_BODY,
  PROJECT_NAME_PATTERN,
  TERMINAL_BUILD_STATUSES,
} from '../../lambda/contract.js';
import { InvalidEventError } from '../../lambda/errors.js';
import { MAX_EVENT_BYTES, parseInvocation } from '../../lambda/event.js';
import { captureLogs } from '../../tools/local-aws/capture-logs.js';
import {
  type Harness,
  lambdaContext,
  startHarness,
} from '../../tools/local-aws/harness.js';
import { eventFixture, FIXTURE_SECRET } from '../support/fixtures.js';

const fixture = eventFixture;
const failed = fixture('build-state-failed.json');
const SECRET = FIXTURE_SECRET;

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
    });
  });

  it('keeps nothing of the environment variables', () => {
    expect(JSON.stringify(parseInvocation(failed))).not.toContain(SECRET);
  });

  it.each([
    ['build-state-succeeded.json', 'SUCCEEDED'],
    ['build-state-stopped.json', 'STOPPED'],
  ])('reads %s', (name, status) => {
    expect(parseInvocation(fixture(name))).toMatchObject({
      kind: 'build-state-change',
      buildStatus: status,
    });
  });

  it('rejects a phase change event, which the rule should not deliver', () => {
    expect(rejection(fixture('build-phase-change.json')).problem).toMatch(
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
    expect(rejection(input).problem).toMatch(reason);
  });

  it('rejects an oversized event before validating it', () => {
    const big = { ...failed, padding: 'x'.repeat(MAX_EVENT_BYTES) };
    expect(rejection(big).problem).toMatch(/over the 262144-byte/);
  });

  it('never puts event values into the reason', () => {
    const leaky = {
      ...failed,
      detail: { ...detail, 'build-status': SECRET, 'build-id': SECRET },
    };
    expect(rejection(leaky).problem).not.toContain(SECRET);
    expect(rejection({ ...failed, source: SECRET }).problem).not.toContain(
      SECRET,
    );
  });
});

// Property: events broken in one way each (a missing or mistyped field, a bad
// ARN, a project mismatch, an oversized payload, not an object at all...),
// built from the sample event, which carries SECRET in its environment
// variables; many put SECRET into the broken field itself.

type Json = Record<string, unknown>;
const detailOf = (event: Json) => event.detail as Json;
const BUILD_ARN = detailOf(failed)['build-id'] as string;
const BUILD_ARN_SHAPE = new RegExp(
  `^arn:aws(?:-[a-z]+)*:codebuild:[a-z0-9-]+:\\d{12}:build/${PROJECT_NAME_BODY}:[A-Za-z0-9-]{1,128}$`,
);
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/;
const ENVELOPE = ['version', 'id', 'account', 'time', 'region', 'source'];
const REQUIRED_DETAIL = ['build-status', 'project-name', 'build-id'];

/** Strings other than those `valid` accepts, the secret among them. */
const textBut = (valid: (s: string) => boolean) =>
  fc.oneof(
    fc.constant(SECRET),
    fc.string().filter((s) => !valid(s)),
  );

/** Values of any JSON type except `type`. */
function notA(type: 'string' | 'array' | 'object'): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    ...(type === 'string' ? [] : [fc.string()]),
    ...(type === 'array'
      ? []
      : [fc.array(fc.constant(SECRET), { maxLength: 3 })]),
    ...(type === 'object' ? [] : [fc.dictionary(fc.string(), fc.integer())]),
  );
}

/** The sample event with `change` applied to a fresh copy. */
const mutant = (change: (event: Json) => void) => {
  const event = structuredClone(failed);
  change(event);
  return event;
};
const withTop = (key: string, value: fc.Arbitrary<unknown>) =>
  value.map((v) => mutant((e) => Object.assign(e, { [key]: v })));
const withDetail = (key: string, value: fc.Arbitrary<unknown>) =>
  value.map((v) => mutant((e) => Object.assign(detailOf(e), { [key]: v })));

const malformedEvents: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .constantFrom(...ENVELOPE, 'resources', 'detail-type', 'detail')
    .map((key) => mutant((e) => delete e[key])),
  fc
    .constantFrom(...REQUIRED_DETAIL)
    .map((key) => mutant((e) => delete detailOf(e)[key])),
  fc
    .tuple(fc.constantFrom(...ENVELOPE, 'detail-type'), notA('string'))
    .map(([key, value]) => mutant((e) => Object.assign(e, { [key]: value }))),
  fc
    .tuple(fc.constantFrom(...REQUIRED_DETAIL), notA('string'))
    .map(([key, value]) =>
      mutant((e) => Object.assign(detailOf(e), { [key]: value })),
    ),
  withTop('resources', notA('array')),
  withTop('detail', notA('object')),
  withTop(
    'account',
    textBut((s) => /^\d{12}$/.test(s)),
  ),
  withTop(
    'time',
    textBut((s) => ISO_DATETIME.test(s)),
  ),
  withTop('id', fc.constant('')),
  withTop(
    'source',
    textBut((s) => s === 'aws.codebuild' || s === 'aws.events'),
  ),
  withTop(
    'detail-type',
    textBut((s) => s === BUILD_STATE_CHANGE),
  ),
  withDetail(
    'build-status',
    fc.oneof(
      fc.constantFrom('IN_PROGRESS', 'failed', 'Succeeded', ''),
      textBut((s) =>
        (TERMINAL_BUILD_STATUSES as readonly string[]).includes(s),
      ),
    ),
  ),
  withDetail(
    'build-id',
    fc.oneof(
      textBut((s) => BUILD_ARN_SHAPE.test(s)),
      fc.constantFrom(
        BUILD_ARN.replace(':build/', ':build-batch/'),
        BUILD_ARN.replace(':codebuild:', ':codepipeline:'),
        BUILD_ARN.replace('111122223333', '1234'),
        `${BUILD_ARN} `,
      ),
    ),
  ),
  withDetail(
    'project-name',
    fc.oneof(
      fc
        .stringMatching(new RegExp(PROJECT_NAME_PATTERN))
        .filter((s) => s !== 'web-app'),
      fc.constantFrom('w', 'w'.repeat(300)),
    ),
  ),
  fc
    .integer({ min: MAX_EVENT_BYTES, max: 400_000 })
    .map((size) => mutant((e) => (e.padding = 'x'.repeat(size)))),
  fc.oneof(
    fc.constant(null),
    fc.string(),
    fc.integer(),
    fc.boolean(),
    fc.array(fc.constant(failed), { maxLength: 2 }),
  ),
  fc
    .dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 })
    .map((extra) => ({ kind: 'sweep', ...extra, 'x-extra': 1 })),
  fc.constantFrom('id', 'time', 'account').map((key) => {
    const scheduled: Json = {
      version: '0',
      id: 'a3f1c2d4-0000-4000-8000-000000000000',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '111122223333',
      time: '2026-11-20T09:40:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: {},
    };
    delete scheduled[key];
    return scheduled;
  }),
  fc.dictionary(
    fc.string().filter((k) => k !== 'source' && k !== 'kind'),
    fc.jsonValue(),
  ),
);

/** Well-formed events: any terminal status, any project, any extra detail. */
const validEvents = fc
  .record({
    status: fc.constantFrom(...TERMINAL_BUILD_STATUSES),
    project: fc.stringMatching(new RegExp(PROJECT_NAME_PATTERN)),
    id: fc.uuid(),
    extra: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
  })
  .map(({ status, project, id, extra }) => {
    const buildArn = BUILD_ARN.replace('web-app', project);
    const event = mutant((e) => {
      e.id = id;
      e.detail = {
        ...extra,
        ...detailOf(e),
        'build-status': status,
        'project-name': project,
        'build-id': buildArn,
      };
    });
    return { event, status, project, id, buildArn };
  });

describe('parseInvocation, over generated events', () => {
  it('rejects every malformed event with InvalidEventError, its reason free of the secret', () => {
    fc.assert(
      fc.property(malformedEvents, (event) => {
        expect(rejection(event).problem).not.toContain(SECRET);
      }),
      { numRuns: 1000, seed: 42 },
    );
  });

  it('still reads every well-formed event', () => {
    fc.assert(
      fc.property(validEvents, ({ event, status, project, id, buildArn }) => {
        expect(parseInvocation(event)).toEqual({
          kind: 'build-state-change',
          eventId: id,
          buildArn,
          projectName: project,
          buildStatus: status,
        });
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('malformed events through the handler', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it('rejects each, calls nothing and logs no secret', async () => {
    const handler = h.handler();
    h.codebuild.resetLog();
    const logs = captureLogs();
    try {
      await fc.assert(
        fc.asyncProperty(malformedEvents, async (event) => {
          expect(await handler(event, lambdaContext())).toMatchObject({
            kind: 'rejected',
          });
        }),
        { numRuns: 60, seed: 1 },
      );
    } finally {
      logs.restore();
    }
    expect(h.codebuild.requests).toHaveLength(0);
    expect(logs.records().filter((r) => r.decision === 'reject')).toHaveLength(
      60,
    );
    expect(logs.text()).not.toContain(SECRET);
  }, 60_000);
});
