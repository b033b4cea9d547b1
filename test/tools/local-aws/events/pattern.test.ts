import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUILD_STATE_CHANGE,
  TERMINAL_BUILD_STATUSES,
} from '../../../../lambda/contract.js';
import {
  InvalidPatternError,
  matchesPattern,
} from '../../../../tools/local-aws/events/pattern.js';

// Example events and patterns from the EventBridge user guide ("Event pattern
// syntax", "Matching on multiple field values", "Matching events on null
// values and empty strings"), the EC2 user guide's state-change event and
// the CodeBuild user guide's build notification reference.

const ec2StateChange = {
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '123456789012',
  time: '2021-11-11T21:29:54Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
};
const terminated = {
  ...ec2StateChange,
  detail: { ...ec2StateChange.detail, state: 'terminated' },
};
const terminatedPattern = {
  source: ['aws.ec2'],
  'detail-type': ['EC2 Instance State-change Notification'],
  detail: { state: ['terminated'] },
};

describe('event pattern syntax', () => {
  it('matches when every field the pattern names matches', () => {
    expect(matchesPattern(terminatedPattern, terminated)).toBe(true);
    expect(matchesPattern(terminatedPattern, ec2StateChange)).toBe(false);
  });

  it('treats the values of a field as alternatives', () => {
    expect(
      matchesPattern({ source: ['aws.ec2', 'aws.fargate'] }, terminated),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { state: ['pending', 'running'] } }, terminated),
    ).toBe(false);
  });

  it('does not match when a field of the pattern is absent from the event', () => {
    expect(
      matchesPattern({ detail: { 'instance-type': ['t3.micro'] } }, terminated),
    ).toBe(false);
    const { detail: _, ...withoutDetail } = terminated;
    expect(matchesPattern(terminatedPattern, withoutDetail)).toBe(false);
  });

  it('needs the same nesting: a top-level pattern field is not a detail field', () => {
    expect(matchesPattern({ state: ['terminated'] }, terminated)).toBe(false);
    expect(
      matchesPattern({ detail: { state: ['aws.ec2'] } }, { detail: 'aws.ec2' }),
    ).toBe(false);
  });

  it('compares strings exactly and case-sensitively', () => {
    expect(matchesPattern({ source: ['AWS.EC2'] }, terminated)).toBe(false);
    expect(matchesPattern({ source: ['aws.ec'] }, terminated)).toBe(false);
    expect(matchesPattern({ source: ['aws.ec2 '] }, terminated)).toBe(false);
  });

  it('compares numbers as numbers, never with their text', () => {
    const event = { detail: { count: 2 } };
    expect(matchesPattern({ detail: { count: [2] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { count: ['2'] } }, event)).toBe(false);
  });

  it('accepts the pattern as JSON text, as a template may hold it', () => {
    expect(matchesPattern(JSON.stringify(terminatedPattern), terminated)).toBe(
      true,
    );
  });

  it('matches no event that is not an object', () => {
    for (const event of [null, 'aws.ec2', [terminated], 3]) {
      expect(matchesPattern({ source: ['aws.ec2'] }, event)).toBe(false);
    }
  });
});

describe('matching on multiple field values', () => {
  const pattern = {
    resources: [
      'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
      'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
    ],
  };

  it('matches an event array that intersects the pattern array', () => {
    const event = {
      resources: [
        'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
      ],
    };
    expect(matchesPattern(pattern, event)).toBe(true);
  });

  it('does not match a disjoint or empty event array', () => {
    const other = ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'];
    expect(matchesPattern(pattern, { resources: other })).toBe(false);
    expect(matchesPattern(pattern, { resources: [] })).toBe(false);
  });
});

describe('null values and empty strings', () => {
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

  it('matches an empty string and a null', () => {
    expect(matchesPattern({ detail: { eventVersion: [''] } }, event)).toBe(
      true,
    );
    expect(
      matchesPattern({ detail: { responseElements: [null] } }, event),
    ).toBe(true);
  });

  it('does not treat null and the empty string as interchangeable', () => {
    expect(matchesPattern({ detail: { eventVersion: [null] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { responseElements: [''] } }, event)).toBe(
      false,
    );
  });

  it('does not match null to a field that is absent', () => {
    expect(matchesPattern({ detail: { missing: [null] } }, event)).toBe(false);
  });
});

describe('the rule this stack deploys, either branch of its Fn::If', () => {
  const statusOnly = { 'build-status': [...TERMINAL_BUILD_STATUSES] };
  const rule = (detail: Record<string, unknown>) => ({
    source: ['aws.codebuild'],
    'detail-type': [BUILD_STATE_CHANGE],
    detail,
  });
  const allProjects = rule(statusOnly);
  const someProjects = rule({
    ...statusOnly,
    'project-name': ['my-sample-project', 'web-app'],
  });
  // The build notification reference's example, trimmed.
  const documented = {
    version: '0',
    id: 'c030038d-8c4d-6141-9545-00ff7b7153EX',
    'detail-type': 'CodeBuild Build State Change',
    source: 'aws.codebuild',
    account: '123456789012',
    time: '2017-09-01T16:14:28Z',
    region: 'us-west-2',
    resources: [
      'arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX',
    ],
    detail: {
      'build-status': 'SUCCEEDED',
      'project-name': 'my-sample-project',
      'build-id':
        'arn:aws:codebuild:us-west-2:123456789012:build/my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX',
      'current-phase': 'COMPLETED',
      'current-phase-context': '[]',
      version: '1',
    },
  };
  const withDetail = (changes: Record<string, string>) => ({
    ...documented,
    detail: { ...documented.detail, ...changes },
  });
  const fixture = (name: string) =>
    JSON.parse(
      readFileSync(
        new URL(`../../../fixtures/events/${name}.json`, import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;

  it('matches terminal build state changes', () => {
    for (const pattern of [allProjects, someProjects]) {
      expect(matchesPattern(pattern, documented)).toBe(true);
      expect(matchesPattern(pattern, fixture('build-state-failed'))).toBe(true);
      expect(matchesPattern(pattern, fixture('build-state-stopped'))).toBe(
        true,
      );
    }
  });

  it('ignores builds still running, phase changes and other sources', () => {
    for (const pattern of [allProjects, someProjects]) {
      expect(
        matchesPattern(pattern, withDetail({ 'build-status': 'IN_PROGRESS' })),
      ).toBe(false);
      expect(
        matchesPattern(pattern, withDetail({ 'build-status': 'failed' })),
      ).toBe(false);
      expect(matchesPattern(pattern, fixture('build-phase-change'))).toBe(
        false,
      );
      expect(
        matchesPattern(pattern, { ...documented, source: 'aws.codepipeline' }),
      ).toBe(false);
    }
  });

  it('scoped to projects, ignores the others; unscoped, takes them all', () => {
    const other = withDetail({ 'project-name': 'legacy' });
    expect(matchesPattern(someProjects, other)).toBe(false);
    expect(matchesPattern(allProjects, other)).toBe(true);
  });
});

describe('patterns this matcher refuses', () => {
  it.each([
    ['a scalar leaf', { source: 'aws.ec2' }],
    ['an empty list', { source: [] }],
    ['a content filter', { source: [{ prefix: 'aws.' }] }],
    ['$or', { $or: [{ source: ['aws.ec2'] }, { region: ['us-east-1'] }] }],
  ])('refuses %s', (_name, pattern) => {
    expect(() => matchesPattern(pattern, terminated)).toThrow(
      InvalidPatternError,
    );
  });

  it('refuses an invalid field even after another field mismatched', () => {
    const pattern = { source: ['aws.s3'], region: [{ prefix: 'us-' }] };
    expect(() => matchesPattern(pattern, terminated)).toThrow(
      InvalidPatternError,
    );
  });

  it('refuses a pattern that is not an object', () => {
    expect(() => matchesPattern('["aws.ec2"]', terminated)).toThrow(
      InvalidPatternError,
    );
  });
});
