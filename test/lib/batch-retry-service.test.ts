import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { addNagChecks } from '../../lib/app.js';
import {
  BatchRetryService,
  type BatchRetryServiceProps,
} from '../../lib/batch-retry-service.js';
import { CfnResolver } from '../../tools/local-aws/cfn.js';
import { scratchOutdir } from '../../tools/local-aws/synth.js';
import { reportedViolations } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

/**
 * The construct with literal props (no parameters): choices are made at
 * synth, so the template has no conditions of its own.
 */
let named: Json;
let all: Json;
let violations: ReturnType<typeof reportedViolations>;

const only = (template: Json, type: string): Json => {
  const found = Object.values(template.Resources).filter(
    (r: Json) => r.Type === type,
  );
  expect(found, type).toHaveLength(1);
  return found[0];
};

const statements = (template: Json): Json[] =>
  Object.values(template.Resources)
    .filter((r: Json) => r.Type === 'AWS::IAM::Policy')
    .flatMap((p: Json) => p.Properties.PolicyDocument.Statement);

beforeAll(() => {
  const app = new App({ outdir: scratchOutdir('service') });
  const namedStack = new Stack(app, 'Named');
  new BatchRetryService(namedStack, 'Service', {
    maxRetries: 3,
    retryType: 'RETRY_ALL_BUILDS',
    projectNames: ['web-app', 'api'],
    dryRun: true,
    sweepIntervalMinutes: 1,
    lookbackHours: 48,
    logLevel: 'DEBUG',
    reservedConcurrency: 5,
    logRetention: logs.RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
    notificationEmail: 'ops@example.com',
    dashboardName: 'ci-retries',
  });
  const allStack = new Stack(app, 'All');
  new BatchRetryService(allStack, 'Service');
  addNagChecks(app);
  const assembly = app.synth();
  named = assembly.getStackByName('Named').template;
  all = assembly.getStackByName('All').template;
  violations = reportedViolations(assembly);
});

describe('BatchRetryService with literal props', () => {
  it('needs no CloudFormation conditions', () => {
    const own = (t: Json) =>
      Object.keys(t.Conditions ?? {}).filter(
        (c) => c !== 'CDKMetadataAvailable',
      );
    expect(own(named)).toEqual([]);
    expect(own(all)).toEqual([]);
  });

  it('puts the settings into the environment', () => {
    const env = only(named, 'AWS::Lambda::Function').Properties.Environment
      .Variables;
    expect(env).toMatchObject({
      MAX_RETRIES: '3',
      RETRY_TYPE: 'RETRY_ALL_BUILDS',
      PROJECT_NAMES: 'web-app,api',
      DRY_RUN: 'true',
      LOOKBACK_HOURS: '48',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
    });
    expect(
      only(all, 'AWS::Lambda::Function').Properties.Environment.Variables,
    ).toMatchObject({
      MAX_RETRIES: '2',
      RETRY_TYPE: 'RETRY_FAILED_BUILDS',
      PROJECT_NAMES: '',
      DRY_RUN: 'false',
      LOOKBACK_HOURS: '24',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    // The function never reads the sweep's interval: only the schedule does.
    expect(
      only(all, 'AWS::Lambda::Function').Properties.Environment.Variables,
    ).not.toHaveProperty('SWEEP_INTERVAL_MINUTES');
  });

  it('names the projects in the pattern and the policy', () => {
    const rules = Object.values(named.Resources).filter(
      (r: Json) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern,
    ) as Json[];
    expect(rules[0].Properties.EventPattern.detail['project-name']).toEqual([
      'web-app',
      'api',
    ]);
    const scoped = statements(named).find(
      (s) => s.Sid === 'CodeBuildProjectsInScope',
    );
    expect(new CfnResolver(named).resolve(scoped.Resource)).toEqual([
      'arn:aws:codebuild:eu-west-1:111122223333:project/web-app',
      'arn:aws:codebuild:eu-west-1:111122223333:project/api',
    ]);
    const actions = statements(named).flatMap((s) => [s.Action].flat());
    expect(actions).not.toContain('codebuild:ListBuildBatches');
  });

  it('covers every project when none are named', () => {
    const rules = Object.values(all.Resources).filter(
      (r: Json) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern,
    ) as Json[];
    expect(rules[0].Properties.EventPattern.detail).toEqual({
      'build-status': ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED', 'SUCCEEDED'],
    });
    const sids = statements(all).map((s) => s.Sid);
    expect(sids).toContain('CodeBuildAllProjects');
    expect(sids).toContain('ListBuildBatchesInAccount');
    expect(sids).not.toContain('CodeBuildProjectsInScope');
  });

  it('schedules the sweep, singular for one minute', () => {
    const schedule = (t: Json) =>
      (
        Object.values(t.Resources).find(
          (r: Json) => r.Properties?.ScheduleExpression,
        ) as Json
      ).Properties.ScheduleExpression;
    expect(schedule(named)).toBe('rate(1 minute)');
    expect(schedule(all)).toBe('rate(5 minutes)');
  });

  it('reserves concurrency only when asked', () => {
    const reserved = (t: Json) =>
      only(t, 'AWS::Lambda::Function').Properties.ReservedConcurrentExecutions;
    expect(reserved(named)).toBe(5);
    expect(reserved(all)).toBeUndefined();
  });

  it('applies retention and removal policy', () => {
    expect(only(named, 'AWS::Logs::LogGroup').Properties.RetentionInDays).toBe(
      7,
    );
    expect(only(named, 'AWS::DynamoDB::GlobalTable').DeletionPolicy).toBe(
      'Delete',
    );
    expect(only(all, 'AWS::DynamoDB::GlobalTable').DeletionPolicy).toBe(
      'Retain',
    );
  });

  it('subscribes a literal email without a condition, and none by default', () => {
    expect(only(named, 'AWS::SNS::Subscription')).toMatchObject({
      Properties: { Protocol: 'email', Endpoint: 'ops@example.com' },
    });
    expect(only(named, 'AWS::SNS::Subscription').Condition).toBeUndefined();
    const subscriptions = Object.values(all.Resources).filter(
      (r: Json) => r.Type === 'AWS::SNS::Subscription',
    );
    expect(subscriptions).toEqual([]);
  });

  it('names the dashboard as asked; the topic key follows the removal policy', () => {
    expect(
      only(named, 'AWS::CloudWatch::Dashboard').Properties.DashboardName,
    ).toBe('ci-retries');
    expect(only(named, 'AWS::KMS::Key').DeletionPolicy).toBe('Delete');
    expect(only(all, 'AWS::KMS::Key').DeletionPolicy).toBe('Retain');
  });

  it('passes cdk-nag in both shapes', () => {
    expect(violations).toEqual([]);
    expect(Template.fromJSON(named)).toBeDefined();
  });
});

describe('BatchRetryService rejects bad literal props at synth', () => {
  it.each<[string, BatchRetryServiceProps, RegExp]>([
    ['maxRetries above 10', { maxRetries: 11 }, /maxRetries/],
    ['fractional lookback', { lookbackHours: 1.5 }, /lookbackHours/],
    ['sweep of 0 minutes', { sweepIntervalMinutes: 0 }, /sweepIntervalMinutes/],
    [
      'negative concurrency',
      { reservedConcurrency: -1 },
      /reservedConcurrency/,
    ],
    ['unknown retry type', { retryType: 'RETRY_SOME' }, /retryType/],
    ['unknown log level', { logLevel: 'TRACE' }, /logLevel/],
    ['dry run not a flag', { dryRun: 'yes' }, /dryRun/],
    ['wildcard project', { projectNames: ['*'] }, /projectNames/],
    ['spaced project', { projectNames: [' api'] }, /projectNames/],
    ['email without domain', { notificationEmail: 'ops' }, /notificationEmail/],
  ])('%s', (_, props, message) => {
    const stack = new Stack(new App({ outdir: scratchOutdir('bad') }), 'Bad');
    expect(() => new BatchRetryService(stack, 'Service', props)).toThrow(
      message,
    );
  });
});
