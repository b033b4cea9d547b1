import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  InvalidPatternError,
  matchesPattern,
} from '../../sim/event-pattern.js';

// Examples from the EventBridge user guide: "Amazon EventBridge event
// patterns", "Arrays in Amazon EventBridge event patterns", "Matching null
// values and empty strings", "Matching events on event field values" and
// "Content filtering in Amazon EventBridge event patterns"
// (docs.aws.amazon.com/eventbridge/latest/userguide/).

const ec2Terminated = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: [
    'arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0',
  ],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

describe('event patterns (eb-event-patterns)', () => {
  it('matches the EC2 instance-termination example', () => {
    const pattern = {
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    };
    expect(matchesPattern(pattern, ec2Terminated)).toBe(true);
  });

  it('does not match when one field differs, or is missing', () => {
    expect(
      matchesPattern(
        { source: ['aws.ec2'], detail: { state: ['running'] } },
        ec2Terminated,
      ),
    ).toBe(false);
    expect(
      matchesPattern({ detail: { 'no-such-field': ['x'] } }, ec2Terminated),
    ).toBe(false);
  });

  it('treats the values of a field as alternatives', () => {
    expect(
      matchesPattern(
        { detail: { state: ['pending', 'terminated'] } },
        ec2Terminated,
      ),
    ).toBe(true);
  });

  it('is case sensitive', () => {
    expect(matchesPattern({ source: ['AWS.EC2'] }, ec2Terminated)).toBe(false);
  });

  it('accepts the pattern as JSON text, as CloudFormation allows', () => {
    expect(
      matchesPattern('{"detail":{"state":["terminated"]}}', ec2Terminated),
    ).toBe(true);
  });
});

describe('arrays (eb-event-patterns-arrays)', () => {
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches when the pattern and the event arrays intersect', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('does not match disjoint arrays', () => {
    expect(
      matchesPattern(pattern, {
        resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-0'],
      }),
    ).toBe(false);
  });
});

describe('null values and empty strings (eb-event-patterns-null-values)', () => {
  const event = {
    version: '0',
    id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
    'detail-type': 'EC2 Instance Launch Successful',
    source: 'aws.autoscaling',
    account: '123456789012',
    time: '2015-11-11T21:31:47Z',
    region: 'us-east-1',
    resources: [],
    detail: { eventVersion: '', responseElements: null },
  };

  it('matches an empty string', () => {
    expect(matchesPattern({ detail: { eventVersion: [''] } }, event)).toBe(
      true,
    );
  });

  it('matches null', () => {
    expect(
      matchesPattern(
        {
          source: ['aws.autoscaling'],
          'detail-type': ['EC2 Instance Launch Successful'],
          detail: { responseElements: [null] },
        },
        event,
      ),
    ).toBe(true);
  });

  it('does not treat null and empty strings as interchangeable', () => {
    expect(matchesPattern({ detail: { eventVersion: [null] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { responseElements: [''] } }, event)).toBe(
      false,
    );
  });
});

describe('field values (eb-filtering-data-types)', () => {
  const macie = {
    version: '0',
    id: '0948ba87-d3b8-c6d4-f2da-732a1example',
    'detail-type': 'Macie Finding',
    source: 'aws.macie',
    account: '123456789012',
    time: '2021-04-29T23:12:15Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      schemaVersion: '1.0',
      id: '64b917aa-3843-014c-91d8-937ffexample',
      type: 'Policy:IAMUser/S3BucketEncryptionDisabled',
      severity: { score: 1, description: 'Low' },
      count: 2,
    },
  };

  it('matches numbers in nested objects exactly', () => {
    expect(
      matchesPattern(
        { detail: { severity: { score: [1] }, count: [2] } },
        macie,
      ),
    ).toBe(true);
    expect(matchesPattern({ detail: { count: [3] } }, macie)).toBe(false);
  });

  it('does not match the number 1 with the string "1"', () => {
    expect(
      matchesPattern({ detail: { severity: { score: ['1'] } } }, macie),
    ).toBe(false);
  });
});

describe('content filtering (eb-event-patterns-content-based-filtering)', () => {
  const event = {
    time: '2017-10-02T18:43:48Z',
    region: 'eu-west-1',
    source: 'aws.autoscaling',
    detail: {
      state: 'running',
      FileName: 'photo.PNG',
      'c-count': 5,
      'd-count': 3,
      'x-limit': 301.8,
      'source-ip': '10.0.0.123',
      service: 'EventBridge',
    },
  };

  it('prefix: the time example and the European-regions example', () => {
    expect(matchesPattern({ time: [{ prefix: '2017-10-02' }] }, event)).toBe(
      true,
    );
    expect(
      matchesPattern(
        { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] },
        event,
      ),
    ).toBe(true);
    expect(matchesPattern({ region: [{ prefix: 'us-' }] }, event)).toBe(false);
  });

  it('prefix and suffix with equals-ignore-case', () => {
    expect(
      matchesPattern(
        {
          detail: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] },
        },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { FileName: [{ suffix: '.png' }] } }, event),
    ).toBe(false);
    expect(
      matchesPattern(
        {
          detail: {
            FileName: [{ suffix: { 'equals-ignore-case': '.png' } }],
          },
        },
        event,
      ),
    ).toBe(true);
  });

  it('anything-but: a string, a list, and a prefix', () => {
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': 'initializing' }] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': ['stopped', 'running'] }] } },
        event,
      ),
    ).toBe(false);
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern(
        { detail: { state: [{ 'anything-but': { prefix: 'run' } }] } },
        event,
      ),
    ).toBe(false);
  });

  it('anything-but with numbers', () => {
    expect(
      matchesPattern(
        { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { 'c-count': [{ 'anything-but': 5 }] } }, event),
    ).toBe(false);
  });

  it('anything-but does not match a missing field', () => {
    expect(
      matchesPattern(
        { detail: { missing: [{ 'anything-but': 'initializing' }] } },
        event,
      ),
    ).toBe(false);
  });

  it('numeric: the documented ranges', () => {
    const pattern = {
      detail: {
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ numeric: ['=', 3.018e2] }],
      },
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(
      matchesPattern({ detail: { 'c-count': [{ numeric: ['>', 5] }] } }, event),
    ).toBe(false);
  });

  it('exists: present and absent leaf fields', () => {
    expect(
      matchesPattern({ detail: { state: [{ exists: true }] } }, event),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { state: [{ exists: false }] } }, event),
    ).toBe(false);
    expect(
      matchesPattern({ detail: { missing: [{ exists: false }] } }, event),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { missing: [{ exists: true }] } }, event),
    ).toBe(false);
  });

  it('exists works on leaf nodes only', () => {
    expect(matchesPattern({ detail: [{ exists: true }] }, event)).toBe(false);
  });

  it('cidr: an IPv4 block', () => {
    expect(
      matchesPattern(
        { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern(
        { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } },
        event,
      ),
    ).toBe(false);
  });

  it('wildcard and equals-ignore-case', () => {
    expect(
      matchesPattern(
        { detail: { FileName: [{ wildcard: 'photo.*' }] } },
        event,
      ),
    ).toBe(true);
    expect(
      matchesPattern(
        { detail: { service: [{ 'equals-ignore-case': 'eventbridge' }] } },
        event,
      ),
    ).toBe(true);
  });

  it('$or: any of the alternatives', () => {
    const pattern = {
      detail: {
        $or: [
          { 'c-count': [{ numeric: ['>', 10] }] },
          { 'd-count': [{ numeric: ['<', 10] }] },
        ],
      },
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(
      matchesPattern(
        {
          detail: {
            $or: [{ 'c-count': [1] }, { 'd-count': [1] }],
          },
        },
        event,
      ),
    ).toBe(false);
  });
});

describe('the rule this stack deploys', () => {
  // The scoped form of the pattern the template's Fn::If resolves to.
  const scoped = {
    source: ['aws.codebuild'],
    'detail-type': ['CodeBuild Build State Change'],
    detail: {
      'build-status': ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED', 'SUCCEEDED'],
      'project-name': ['web-app', 'api'],
    },
  };
  const fixture = (name: string) =>
    JSON.parse(
      readFileSync(
        new URL(`../fixtures/events/${name}.json`, import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;

  it('matches terminal Build State Change events of projects in scope', () => {
    expect(matchesPattern(scoped, fixture('build-state-failed'))).toBe(true);
    expect(matchesPattern(scoped, fixture('build-state-succeeded'))).toBe(true);
  });

  it('ignores phase changes and other projects', () => {
    expect(matchesPattern(scoped, fixture('build-phase-change'))).toBe(false);
    const other = fixture('build-state-failed');
    other.detail = {
      ...(other.detail as object),
      'project-name': 'legacy',
    };
    expect(matchesPattern(scoped, other)).toBe(false);
  });
});

describe('invalid patterns', () => {
  it('rejects what EventBridge would', () => {
    expect(() => matchesPattern({ source: 'aws.ec2' }, {})).toThrow(
      InvalidPatternError,
    );
    expect(() => matchesPattern({ source: [] }, {})).toThrow(
      InvalidPatternError,
    );
    expect(() =>
      matchesPattern({ x: [{ numeric: ['>>', 1] }] }, { x: 1 }),
    ).toThrow(InvalidPatternError);
    expect(() => matchesPattern({ x: [{ nope: 1 }] }, { x: 1 })).toThrow(
      InvalidPatternError,
    );
  });
});
