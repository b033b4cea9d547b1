import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_EVENTS,
  FAILURE_CLASSES,
  MAX_PROJECT_NAMES,
  TERMINAL_BUILD_STATUSES,
} from '../../lambda/contract.js';
import { createApp } from '../../lib/app.js';
import type { BatchRetryStack } from '../../lib/batch-retry-stack.js';
import { CfnResolver } from '../../tools/local-aws/cfn.js';
import { scratchOutdir } from '../../tools/local-aws/synth.js';
import { reportedViolations } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

let stack: BatchRetryStack;
let artifact: CloudFormationStackArtifact;
let template: Template;
let json: Json;
let violations: ReturnType<typeof reportedViolations>;

/** The logical id of the only resource of a type (optionally matching props). */
function logicalId(type: string, props?: Record<string, unknown>): string {
  const found = Object.keys(
    template.findResources(type, props ? { Properties: props } : undefined),
  );
  expect(found, `${type} resources`).toHaveLength(1);
  return found[0] as string;
}

function resource(type: string, props?: Record<string, unknown>): Json {
  return json.Resources[logicalId(type, props)];
}

/** The one resource of `type` whose logical id starts with `prefix`. */
function logicalIdLike(type: string, prefix: string): string {
  const found = Object.keys(template.findResources(type)).filter((id) =>
    id.startsWith(prefix),
  );
  expect(found, `${type} ${prefix}*`).toHaveLength(1);
  return found[0] as string;
}

const ids = () => ({
  fn: logicalId('AWS::Lambda::Function'),
  queue: logicalIdLike('AWS::SQS::Queue', 'ServiceDeadLetterQueue'),
  recheckQueue: logicalIdLike('AWS::SQS::Queue', 'ServiceRecheckQueue'),
  recheckDeadLetterQueue: logicalIdLike(
    'AWS::SQS::Queue',
    'ServiceRecheckDeadLetterQueue',
  ),
  table: logicalId('AWS::DynamoDB::GlobalTable'),
  logGroup: logicalId('AWS::Logs::LogGroup'),
  role: logicalId('AWS::IAM::Role'),
  eventRule: logicalId('AWS::Events::Rule', {
    EventPattern: Match.objectLike({ source: ['aws.codebuild'] }),
  }),
  sweepRule: logicalId('AWS::Events::Rule', {
    ScheduleExpression: Match.anyValue(),
  }),
});

const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });

const topicId = () => logicalId('AWS::SNS::Topic');

/** The rules on the EventBusName bus (the notifications), by logical id. */
function notificationRules(): string[] {
  return Object.keys(
    template.findResources('AWS::Events::Rule', {
      Properties: { EventBusName: { Ref: 'EventBusName' } },
    }),
  );
}

/** Statements of every AWS::IAM::Policy, with the policy's condition. */
function allStatements(): { condition?: string; statement: Json }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy: Json) =>
      policy.Properties.PolicyDocument.Statement.map((statement: Json) => ({
        condition: policy.Condition,
        statement,
      })),
  );
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

beforeAll(() => {
  // Built as bin/app.ts builds it: the same factory, cdk-nag included.
  const { app, stack: built } = createApp({ outdir: scratchOutdir('stack') });
  stack = built;
  // One synth for the whole file; it throws on unacknowledged nag errors.
  const assembly = app.synth();
  artifact = assembly.getStackByName(stack.stackName);
  json = artifact.template;
  template = Template.fromJSON(json);
  violations = reportedViolations(assembly);
});

describe('parameters', () => {
  it.each([
    ['MaxRetries', { Type: 'Number', MinValue: 0, MaxValue: 10, Default: 2 }],
    [
      'RetryType',
      {
        Type: 'String',
        AllowedValues: ['RETRY_FAILED_BUILDS', 'RETRY_ALL_BUILDS'],
        Default: 'RETRY_FAILED_BUILDS',
      },
    ],
    ['ProjectNames', { Type: 'CommaDelimitedList', Default: '' }],
    [
      'DryRun',
      { Type: 'String', AllowedValues: ['true', 'false'], Default: 'false' },
    ],
    [
      'SweepIntervalMinutes',
      { Type: 'Number', MinValue: 1, MaxValue: 60, Default: 5 },
    ],
    [
      'LookbackHours',
      { Type: 'Number', MinValue: 1, MaxValue: 168, Default: 24 },
    ],
    [
      'LogLevel',
      {
        Type: 'String',
        AllowedValues: ['DEBUG', 'INFO', 'WARN', 'ERROR'],
        Default: 'INFO',
      },
    ],
    [
      'ReservedConcurrency',
      { Type: 'Number', MinValue: 0, MaxValue: 1000, Default: 0 },
    ],
  ])('%s', (name, expected) => {
    expect(json.Parameters[name]).toMatchObject(expected);
    expect(json.Parameters[name].Description).toMatch(/\w{3,}/);
  });

  it('has no other user-facing parameters', () => {
    const names = Object.keys(json.Parameters).filter(
      (n) => n !== 'BootstrapVersion',
    );
    expect(names).toHaveLength(18);
  });

  it('NotificationEmail is empty or an email address', () => {
    const param = json.Parameters.NotificationEmail;
    expect(param).toMatchObject({ Type: 'String', Default: '' });
    expect(param.Description).toMatch(/\w{3,}/);
    expect(param.ConstraintDescription).toBeTruthy();
    const pattern = new RegExp(param.AllowedPattern);
    for (const ok of ['', 'ops@example.com', 'first.last+ci@team.example.co']) {
      expect(pattern.test(ok), ok).toBe(true);
    }
    for (const bad of [
      'ops',
      'ops@',
      '@example.com',
      'a b@example.com',
      'ops@example',
    ]) {
      expect(pattern.test(bad), bad).toBe(false);
    }
  });

  it('RetryOn and RetryExitCodes are checked per element', () => {
    const classes = new RegExp(json.Parameters.RetryOn.AllowedPattern);
    for (const ok of ['transient', 'script', 'unknown']) {
      expect(classes.test(ok), ok).toBe(true);
    }
    for (const bad of ['', 'flaky', 'transient,script', 'Script']) {
      expect(classes.test(bad), bad).toBe(false);
    }
    expect(json.Parameters.RetryOn.Default).toBe(
      'infrastructure,source,timeout,transient,unknown',
    );
    const codes = new RegExp(json.Parameters.RetryExitCodes.AllowedPattern);
    for (const ok of ['1', '9', '137', '199', '249', '255']) {
      expect(codes.test(ok), ok).toBe(true);
    }
    for (const bad of ['0', '256', '300', '01', '-1', '1.5', 'oom', '']) {
      expect(codes.test(bad), bad).toBe(false);
    }
    expect(json.Parameters.RetryPatterns).toMatchObject({
      Type: 'String',
      Default: '',
      MaxLength: 1024,
    });
    expect(json.Parameters.LogTailLines).toMatchObject({
      Type: 'Number',
      MinValue: 0,
      MaxValue: 1000,
      Default: 100,
    });
  });

  it('ProjectNames accepts only project names, per element, or empty', () => {
    const param = json.Parameters.ProjectNames;
    expect(param.ConstraintDescription).toBeTruthy();
    const pattern = new RegExp(param.AllowedPattern);
    for (const ok of ['', 'web-app', 'api_v2', 'A1']) {
      expect(pattern.test(ok), ok).toBe(true);
    }
    for (const bad of ['*', ' api', 'a', 'web,api', 'proj/*', '-x']) {
      expect(pattern.test(bad), bad).toBe(false);
    }
  });
});

describe('event rule', () => {
  it('matches terminal Build State Change events on the default bus', () => {
    const rule = json.Resources[ids().eventRule];
    expect(rule.Properties.EventBusName).toBeUndefined();
    expect(rule.Properties.State).toBe('ENABLED');
    const pattern = rule.Properties.EventPattern;
    expect(pattern.source).toEqual(['aws.codebuild']);
    expect(pattern['detail-type']).toEqual(['CodeBuild Build State Change']);
  });

  it('narrows to ProjectNames with Fn::If on the SomeProjects condition', () => {
    const statusOnly = { 'build-status': [...TERMINAL_BUILD_STATUSES] };
    const detail =
      json.Resources[ids().eventRule].Properties.EventPattern.detail;
    const [condition, some, none] = detail['Fn::If'];
    expect(some).toEqual({
      ...statusOnly,
      'project-name': { Ref: 'ProjectNames' },
    });
    expect(none).toEqual(statusOnly);
    expect(json.Conditions[condition]).toEqual({
      'Fn::Not': [{ Condition: expect.any(String) }],
    });
    const all = json.Conditions[condition]['Fn::Not'][0].Condition;
    expect(json.Conditions[all]).toEqual({
      'Fn::Equals': [{ 'Fn::Join': [',', { Ref: 'ProjectNames' }] }, ''],
    });
  });

  it('resolves to the right pattern with and without project names', () => {
    const pattern = json.Resources[ids().eventRule].Properties.EventPattern;
    const statuses = ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED', 'SUCCEEDED'];
    expect(new CfnResolver(json).resolve(pattern)).toEqual({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'build-status': statuses },
    });
    const scoped = new CfnResolver(json, { ProjectNames: 'web,api' });
    expect((scoped.resolve(pattern) as Json).detail).toEqual({
      'build-status': statuses,
      'project-name': ['web', 'api'],
    });
  });

  it('targets the function with bounded retries, max age and the DLQ', () => {
    const { fn, queue, eventRule } = ids();
    expect(json.Resources[eventRule].Properties.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: getAtt(fn),
        RetryPolicy: {
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: 3600,
        },
        DeadLetterConfig: { Arn: getAtt(queue) },
      },
    ]);
  });
});

describe('sweep rule', () => {
  it('runs rate(N minutes), singular for 1', () => {
    const expression =
      json.Resources[ids().sweepRule].Properties.ScheduleExpression;
    expect(new CfnResolver(json).resolve(expression)).toBe('rate(5 minutes)');
    for (const [value, expected] of [
      ['1', 'rate(1 minute)'],
      ['2', 'rate(2 minutes)'],
      ['60', 'rate(60 minutes)'],
    ]) {
      const cfn = new CfnResolver(json, { SweepIntervalMinutes: value });
      expect(cfn.resolve(expression)).toBe(expected);
    }
  });

  it('sends {"kind":"sweep"} with the same retry policy and DLQ', () => {
    const { fn, queue, sweepRule } = ids();
    expect(json.Resources[sweepRule].Properties.Targets).toEqual([
      {
        Id: expect.any(String),
        Arn: getAtt(fn),
        Input: '{"kind":"sweep"}',
        RetryPolicy: {
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: 3600,
        },
        DeadLetterConfig: { Arn: getAtt(queue) },
      },
    ]);
  });

  it('lets each rule, and only it, invoke the function', () => {
    const { fn, eventRule, sweepRule } = ids();
    const permissions = Object.values(
      template.findResources('AWS::Lambda::Permission'),
    ).map((p: Json) => p.Properties);
    expect(permissions).toHaveLength(2);
    for (const rule of [eventRule, sweepRule]) {
      expect(permissions).toContainEqual({
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(fn),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt(rule),
      });
    }
  });
});

describe('function', () => {
  it('runs Node.js 24 on arm64 with 256 MB and a 2 minute timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 120,
      Handler: 'index.handler',
    });
  });

  it('gets every setting from a parameter or resource', () => {
    const { table } = ids();
    const fn = resource('AWS::Lambda::Function');
    expect(fn.Properties.Environment.Variables).toEqual({
      TABLE_NAME: { Ref: table },
      MAX_RETRIES: { Ref: 'MaxRetries' },
      RETRY_TYPE: { Ref: 'RetryType' },
      PROJECT_NAMES: { 'Fn::Join': [',', { Ref: 'ProjectNames' }] },
      DRY_RUN: { Ref: 'DryRun' },
      LOOKBACK_HOURS: { Ref: 'LookbackHours' },
      RETRY_ON: { 'Fn::Join': [',', { Ref: 'RetryOn' }] },
      RETRY_EXIT_CODES: { 'Fn::Join': [',', { Ref: 'RetryExitCodes' }] },
      RETRY_PATTERNS: { Ref: 'RetryPatterns' },
      LOG_TAIL_LINES: { Ref: 'LogTailLines' },
      RETRY_DELAY_SECONDS: { Ref: 'RetryDelaySeconds' },
      RECHECK_QUEUE_URL: { Ref: ids().recheckQueue },
      HISTORY_DAYS: { Ref: 'HistoryDays' },
      EVENT_BUS_NAME: { Ref: 'EventBusName' },
      CIRCUIT_BREAKER_THRESHOLD: { Ref: 'CircuitBreakerThreshold' },
      CIRCUIT_BREAKER_COOLDOWN_MINUTES: {
        Ref: 'CircuitBreakerCooldownMinutes',
      },
      POWERTOOLS_SERVICE_NAME: 'codebuild-batch-retry',
      POWERTOOLS_METRICS_NAMESPACE: 'CodeBuildBatchRetry',
      POWERTOOLS_LOG_LEVEL: { Ref: 'LogLevel' },
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('passes PROJECT_NAMES as the comma-joined list, empty for all', () => {
    const value = resource('AWS::Lambda::Function').Properties.Environment
      .Variables.PROJECT_NAMES;
    expect(new CfnResolver(json).resolve(value)).toBe('');
    const cfn = new CfnResolver(json, { ProjectNames: 'web,api' });
    expect(cfn.resolve(value)).toBe('web,api');
  });

  it('reserves concurrency only when ReservedConcurrency is not 0', () => {
    const value = resource('AWS::Lambda::Function').Properties
      .ReservedConcurrentExecutions;
    const [condition] = value['Fn::If'];
    expect(value).toEqual({
      'Fn::If': [
        condition,
        { Ref: 'ReservedConcurrency' },
        { Ref: 'AWS::NoValue' },
      ],
    });
    expect(json.Conditions[condition]).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'ReservedConcurrency' }, '0'] }],
    });
    expect(new CfnResolver(json).resolve(value)).toBeUndefined();
    const cfn = new CfnResolver(json, { ReservedConcurrency: '5' });
    expect(cfn.resolve(value)).toBe('5');
  });

  it('logs to its own log group, retained one month', () => {
    const { logGroup } = ids();
    expect(resource('AWS::Lambda::Function').Properties.LoggingConfig).toEqual({
      LogGroup: { Ref: logGroup },
    });
    expect(json.Resources[logGroup].Properties).toEqual({
      RetentionInDays: 30,
    });
    expect(json.Resources[logGroup].DeletionPolicy).toBe('Retain');
  });

  it('retries async invocations twice within an hour, then the DLQ', () => {
    const { fn, queue } = ids();
    expect(resource('AWS::Lambda::EventInvokeConfig').Properties).toEqual({
      FunctionName: { Ref: fn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(queue) } },
    });
    // Not also a function DeadLetterConfig: that would deliver twice.
    expect(json.Resources[fn].Properties.DeadLetterConfig).toBeUndefined();
  });

  it('depends only on unconditional resources', () => {
    const { fn } = ids();
    for (const dependency of json.Resources[fn].DependsOn ?? []) {
      expect(json.Resources[dependency].Condition).toBeUndefined();
    }
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and keeps messages 14 days', () => {
    expect(json.Resources[ids().queue].Properties).toEqual({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('refuses non-TLS requests; accepts only the rules and the topic', () => {
    const { queue, eventRule, sweepRule } = ids();
    const statements = resource('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
    }).Properties.PolicyDocument.Statement;
    expect(statements).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: getAtt(queue),
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const allows = statements.filter((s: Json) => s.Effect === 'Allow');
    const rules = [eventRule, sweepRule, ...notificationRules()];
    expect(allows).toHaveLength(rules.length + 1);
    // Email the topic could not deliver.
    expect(allows).toContainEqual(
      expect.objectContaining({
        Action: 'sqs:SendMessage',
        Principal: { Service: 'sns.amazonaws.com' },
        Resource: getAtt(queue),
        Condition: { ArnEquals: { 'aws:SourceArn': { Ref: topicId() } } },
      }),
    );
    for (const rule of rules) {
      expect(allows).toContainEqual(
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: getAtt(queue),
          Condition: { ArnEquals: { 'aws:SourceArn': getAtt(rule) } },
        }),
      );
    }
  });
});

describe('re-check queue', () => {
  it('is encrypted, redrives to its own DLQ, and outlasts the function', () => {
    const { recheckQueue, recheckDeadLetterQueue, fn } = ids();
    const props = json.Resources[recheckQueue].Properties;
    const timeout = json.Resources[fn].Properties.Timeout;
    expect(props).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: getAtt(recheckDeadLetterQueue),
        maxReceiveCount: 5,
      },
    });
    // No message is handed to a second environment while one works on it.
    expect(props.VisibilityTimeout).toBeGreaterThanOrEqual(6 * timeout);
    // Delays are per message, set by the function.
    expect(props.DelaySeconds).toBeUndefined();
    expect(
      json.Resources[recheckDeadLetterQueue].Properties.SqsManagedSseEnabled,
    ).toBe(true);
  });

  it('refuses non-TLS requests on both queues', () => {
    const { recheckQueue, recheckDeadLetterQueue } = ids();
    for (const queue of [recheckQueue, recheckDeadLetterQueue]) {
      const statements = resource('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
      }).Properties.PolicyDocument.Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('feeds the function in batches, reporting failed items only', () => {
    const { recheckQueue, fn } = ids();
    expect(resource('AWS::Lambda::EventSourceMapping').Properties).toEqual({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      EventSourceArn: getAtt(recheckQueue),
      FunctionName: { Ref: fn },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('alarms on both dead-letter queues and on a stuck queue', () => {
    const { queue, recheckQueue, recheckDeadLetterQueue } = ids();
    const alarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm'),
    ).map((a: Json) => a.Properties);
    const on = (id: string, metric: string) =>
      alarms.find(
        (a) =>
          a.MetricName === metric &&
          JSON.stringify(a.Dimensions).includes(`"${id}"`),
      );
    for (const dlq of [queue, recheckDeadLetterQueue]) {
      expect(on(dlq, 'ApproximateNumberOfMessagesVisible'), dlq).toMatchObject({
        Threshold: 1,
        Namespace: 'AWS/SQS',
      });
    }
    expect(on(recheckQueue, 'ApproximateAgeOfOldestMessage')).toMatchObject({
      Threshold: 1800,
    });
  });
});

describe('notification topic', () => {
  it('is encrypted with a rotated customer managed key', () => {
    const topic = json.Resources[topicId()].Properties;
    const key = logicalId('AWS::KMS::Key');
    expect(topic.KmsMasterKeyId).toEqual(getAtt(key));
    expect(json.Resources[key].Properties.EnableKeyRotation).toBe(true);
  });

  it('the key lets EventBridge and CloudWatch encrypt for it, nothing more', () => {
    const statements = resource('AWS::KMS::Key').Properties.KeyPolicy.Statement;
    const services = statements.filter((s: Json) => s.Principal.Service);
    expect(services).toEqual([
      {
        Effect: 'Allow',
        Principal: {
          Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'],
        },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      },
    ]);
  });

  it('refuses non-TLS publishing; EventBridge and this account’s alarms may publish', () => {
    const statements = resource('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId() }],
    }).Properties.PolicyDocument.Statement;
    const topic = { Ref: topicId() };
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: topic,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allows = statements.filter((s: Json) => s.Effect === 'Allow');
    expect(allows).toHaveLength(2);
    expect(allows).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: topic,
      }),
    );
    const alarms = allows.find(
      (s: Json) => s.Principal.Service === 'cloudwatch.amazonaws.com',
    );
    expect(alarms).toMatchObject({ Action: 'sns:Publish', Resource: topic });
    expect(
      new CfnResolver(json).resolve(alarms.Condition.ArnLike['aws:SourceArn']),
    ).toBe('arn:aws:cloudwatch:eu-west-1:111122223333:alarm:*');
  });
});

describe('email subscription', () => {
  it('exists only when NotificationEmail is set', () => {
    const id = logicalId('AWS::SNS::Subscription');
    const subscription = json.Resources[id];
    expect(subscription.Properties).toEqual({
      Protocol: 'email',
      Endpoint: { Ref: 'NotificationEmail' },
      TopicArn: { Ref: topicId() },
      RedrivePolicy: { deadLetterTargetArn: getAtt(ids().queue) },
    });
    expect(new CfnResolver(json).exists(id)).toBe(false);
    const set = new CfnResolver(json, { NotificationEmail: 'ops@example.com' });
    expect(set.exists(id)).toBe(true);
    expect(set.resolve(subscription.Properties.Endpoint)).toBe(
      'ops@example.com',
    );
  });

  it('refuses a NotificationEmail that is not an address', () => {
    expect(
      () => new CfnResolver(json, { NotificationEmail: 'not an address' }),
    ).toThrow(/NotificationEmail/);
  });
});

describe('notification rules', () => {
  const notified = [
    BATCH_EVENTS.budgetExhausted,
    BATCH_EVENTS.circuitOpened,
    BATCH_EVENTS.circuitClosed,
  ];

  /** The notification rule for one detail-type. */
  const ruleFor = (detailType: string): Json => {
    const found = notificationRules()
      .map((id) => json.Resources[id])
      .filter(
        (r: Json) =>
          JSON.stringify(r.Properties.EventPattern['detail-type']) ===
          JSON.stringify([detailType]),
      );
    expect(found, detailType).toHaveLength(1);
    return found[0];
  };

  it('one per notified event, on the EventBusName bus, from the service only', () => {
    expect(notificationRules()).toHaveLength(notified.length);
    for (const detailType of notified) {
      const rule = ruleFor(detailType);
      expect(rule.Properties.State).toBe('ENABLED');
      expect(rule.Properties.EventPattern).toEqual({
        source: ['codebuild-batch-retry'],
        'detail-type': [detailType],
      });
    }
    const custom = new CfnResolver(json, { EventBusName: 'ci-events' });
    expect(
      custom.resolve(ruleFor(notified[0] as string).Properties.EventBusName),
    ).toBe('ci-events');
  });

  it('send the topic a readable text, with retries and the DLQ', () => {
    for (const detailType of notified) {
      const [target, ...rest] = ruleFor(detailType).Properties.Targets;
      expect(rest).toEqual([]);
      expect(target).toMatchObject({
        Arn: { Ref: topicId() },
        RetryPolicy: {
          MaximumRetryAttempts: 2,
          MaximumEventAgeInSeconds: 3600,
        },
        DeadLetterConfig: { Arn: getAtt(ids().queue) },
      });
      const { InputPathsMap, InputTemplate } = target.InputTransformer;
      // One JSON string per line: the email shows one line per string.
      const lines = (InputTemplate as string)
        .split('\n')
        .map((line) => JSON.parse(line) as string);
      expect(lines[0], detailType).toMatch(
        /^codebuild-batch-retry: .*<detail-projectName>/,
      );
      expect(lines).toContain('Batch: <detail-batchArn>');
      expect(lines).toContain('Console: <detail-consoleUrl>');
      expect(InputPathsMap).toMatchObject({
        'detail-projectName': '$.detail.projectName',
        'detail-batchArn': '$.detail.batchArn',
        'detail-consoleUrl': '$.detail.consoleUrl',
      });
      // Every placeholder has a path; no path goes unused.
      const used = [...(InputTemplate as string).matchAll(/<([\w-]+)>/g)].map(
        (m) => m[1],
      );
      expect(new Set(used)).toEqual(new Set(Object.keys(InputPathsMap)));
    }
  });

  it('the budget email says how many retries and the failed classes', () => {
    const target = ruleFor(BATCH_EVENTS.budgetExhausted).Properties.Targets[0];
    const { InputPathsMap, InputTemplate } = target.InputTransformer;
    expect(JSON.parse(InputTemplate.split('\n')[0])).toBe(
      'codebuild-batch-retry: <detail-projectName> batch gave up after <detail-attempt> of <detail-maxRetries> retries',
    );
    expect(InputTemplate).toContain(
      "Failed groups' classes: <detail-failedGroups----class>",
    );
    expect(InputPathsMap['detail-failedGroups----class']).toBe(
      '$.detail.failedGroups[*].class',
    );
  });
});

describe('alarms', () => {
  const alarms = (): Json[] =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a: Json) => a.Properties,
    );

  it('every alarm notifies the topic and is quiet without data', () => {
    expect(alarms()).toHaveLength(5);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions, alarm.MetricName).toEqual([
        { Ref: topicId() },
      ]);
      expect(alarm.TreatMissingData, alarm.MetricName).toBe('notBreaching');
    }
  });

  it('on any function error and any opened circuit within 5 minutes', () => {
    const { fn } = ids();
    const byMetric = (name: string) =>
      alarms().find((a) => a.MetricName === name);
    const atLeastOnce = {
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 300,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    };
    expect(byMetric('Errors')).toMatchObject({
      ...atLeastOnce,
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
    });
    expect(byMetric('CircuitOpened')).toMatchObject({
      ...atLeastOnce,
      Namespace: 'CodeBuildBatchRetry',
      Dimensions: [{ Name: 'service', Value: 'codebuild-batch-retry' }],
    });
  });
});

describe('dashboard', () => {
  /** The dashboard body with its references resolved. */
  const body = (): Json => {
    const id = logicalId('AWS::CloudWatch::Dashboard');
    const props = json.Resources[id].Properties;
    const cfn = new CfnResolver(json);
    expect(cfn.resolve(props.DashboardName)).toBe(
      'CodeBuildBatchRetry-eu-west-1',
    );
    return JSON.parse(cfn.resolve(props.DashboardBody) as string);
  };

  /** Each metric line's namespace, name and dimensions, as one string. */
  const metricLines = (): string[] =>
    body().widgets.flatMap((w: Json) =>
      (w.properties.metrics ?? []).map((m: Json[]) =>
        m.filter((part) => typeof part === 'string').join(' '),
      ),
    );

  it('graphs retries, outcomes, classes, budget, latency and queues', () => {
    const service = 'service codebuild-batch-retry';
    const lines = metricLines();
    for (const expected of [
      `CodeBuildBatchRetry RetryIssued ${service}`,
      `CodeBuildBatchRetry RetryOutcome Outcome healed ${service}`,
      `CodeBuildBatchRetry RetryOutcome Outcome failed-again ${service}`,
      `CodeBuildBatchRetry BudgetExhausted ${service}`,
      `CodeBuildBatchRetry FailureToRetrySeconds ${service}`,
      ...FAILURE_CLASSES.map(
        (cls) => `CodeBuildBatchRetry NotRetryable Class ${cls} ${service}`,
      ),
    ]) {
      expect(lines).toContain(expected);
    }
    const titles = body().widgets.map((w: Json) => w.properties.title);
    expect(titles).toEqual([
      'Retries issued',
      'Retried batches: healed or failed again',
      'Heal rate (%, hourly)',
      'Not retried, by failure class',
      'Retry budget exhausted',
      'Failure to retry (seconds)',
      'Dead-letter queues (messages)',
      'Re-check queue: oldest message (seconds)',
      'Alarms',
    ]);
  });

  it('heal rate is healed / (healed + failed again); latency p50 and p95', () => {
    const widgets = body().widgets;
    const heal = widgets.find(
      (w: Json) => w.properties.title === 'Heal rate (%, hourly)',
    ).properties.metrics;
    expect(heal[0][0]).toMatchObject({
      expression: '100 * healed / (healed + failedAgain)',
    });
    const latency = widgets.find(
      (w: Json) => w.properties.title === 'Failure to retry (seconds)',
    ).properties.metrics;
    expect(latency.map((m: Json[]) => (m.at(-1) as Json).stat)).toEqual([
      'p50',
      'p95',
    ]);
  });

  it('shows both dead-letter queues, the re-check queue and every alarm', () => {
    const { queue, recheckQueue, recheckDeadLetterQueue } = ids();
    const cfn = new CfnResolver(json);
    const name = (id: string) => cfn.attribute(id, 'QueueName');
    const lines = metricLines();
    for (const dlq of [queue, recheckDeadLetterQueue]) {
      expect(lines).toContain(
        `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${name(dlq)}`,
      );
    }
    expect(lines).toContain(
      `AWS/SQS ApproximateAgeOfOldestMessage QueueName ${name(recheckQueue)}`,
    );
    const alarmWidget = body().widgets.find(
      (w: Json) => w.properties.title === 'Alarms',
    );
    expect(alarmWidget.properties.alarms).toHaveLength(5);
  });
});

describe('table', () => {
  it('is on-demand, keyed by id, with TTL on expiration', () => {
    const table = resource('AWS::DynamoDB::GlobalTable');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
  });

  it('has point-in-time recovery and KMS encryption (AWS managed key)', () => {
    const props = resource('AWS::DynamoDB::GlobalTable').Properties;
    expect(props.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
    });
    expect(props.Replicas).toEqual([
      expect.objectContaining({
        Region: { Ref: 'AWS::Region' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
    // No customer managed key anywhere.
    expect(JSON.stringify(props)).not.toContain('KMSMasterKeyId');
  });

  it('has the sparse watched index (watchShard S, watchedAt N, ALL)', () => {
    const props = resource('AWS::DynamoDB::GlobalTable').Properties;
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'watched',
        KeySchema: [
          { AttributeName: 'watchShard', KeyType: 'HASH' },
          { AttributeName: 'watchedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(props.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'watchShard', AttributeType: 'S' },
        { AttributeName: 'watchedAt', AttributeType: 'N' },
      ]),
    );
  });
});

describe('IAM', () => {
  it('the role is for Lambda and has no managed policies', () => {
    const role = resource('AWS::IAM::Role');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
      },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
  });

  it('the default policy: own logs, the table, its index, the queues', () => {
    const { table, queue, recheckQueue, logGroup, role } = ids();
    const policy = resource('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('RoleDefaultPolicy'),
    });
    expect(policy.Condition).toBeUndefined();
    expect(policy.Properties.Roles).toEqual([{ Ref: role }]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: getAtt(logGroup),
      },
      {
        Sid: 'BudgetTable',
        Effect: 'Allow',
        // Sorted: the minimizePolicies feature flag orders actions.
        Action: [
          'dynamodb:BatchGetItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:DeleteItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
        ],
        Resource: getAtt(table),
      },
      {
        Sid: 'WatchIndex',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [getAtt(table), '/index/watched']] },
      },
      {
        // The DLQ (on-failure destination) and the function's own re-checks.
        Effect: 'Allow',
        Action: [
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:SendMessage',
        ],
        Resource: [getAtt(queue), getAtt(recheckQueue)],
      },
      {
        Sid: 'PublishBatchEvents',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Sub': [
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${Bus}',
            { Bus: { Ref: 'EventBusName' } },
          ],
        },
      },
      {
        // The event source mapping, on the re-check queue only.
        Effect: 'Allow',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
        ],
        Resource: getAtt(recheckQueue),
      },
    ]);
  });

  const projectActions = [
    'codebuild:BatchGetBuildBatches',
    'codebuild:BatchGetBuilds',
    'codebuild:BatchGetProjects',
    'codebuild:ListBuildBatchesForProject',
    'codebuild:RetryBuildBatch',
  ];

  it('named projects: a policy on their ARNs, only when names are given', () => {
    const { role } = ids();
    const policy = resource('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('ScopedProjectsPolicy'),
    });
    expect(policy.Properties.Roles).toEqual([{ Ref: role }]);
    const [statement, logStatement, ...rest] =
      policy.Properties.PolicyDocument.Statement;
    expect(rest).toEqual([]);
    expect(statement.Action).toEqual(projectActions);
    expect(statement.Resource).toHaveLength(MAX_PROJECT_NAMES);
    expect(logStatement.Action).toBe('logs:GetLogEvents');
    expect(logStatement.Resource).toHaveLength(MAX_PROJECT_NAMES);

    const none = new CfnResolver(json);
    expect(none.condition(policy.Condition)).toBe(false);

    const two = new CfnResolver(json, { ProjectNames: 'web-app,api' });
    expect(two.condition(policy.Condition)).toBe(true);
    const arn = (name: string) =>
      `arn:aws:codebuild:eu-west-1:111122223333:project/${name}`;
    const resolved = two.resolve(statement.Resource) as string[];
    expect(new Set(resolved)).toEqual(
      new Set([arn('web-app'), arn('api'), arn('')]),
    );
    expect(resolved.slice(0, 2)).toEqual([arn('web-app'), arn('api')]);
    // Log tails: the streams of the named projects' log groups, no others.
    const streams = (name: string) =>
      `arn:aws:logs:eu-west-1:111122223333:log-group:/aws/codebuild/${name}:*`;
    const logResources = two.resolve(logStatement.Resource) as string[];
    expect(new Set(logResources)).toEqual(
      new Set([streams('web-app'), streams('api'), streams('')]),
    );

    const names = Array.from({ length: MAX_PROJECT_NAMES }, (_, i) => `p${i}`);
    const full = new CfnResolver(json, { ProjectNames: names.join(',') });
    // Every slot names one project; the order of ARNs in a policy is moot
    // (minimizePolicies sorts them).
    expect((full.resolve(statement.Resource) as string[]).toSorted()).toEqual(
      names.map(arn).toSorted(),
    );
  });

  it('all projects: project/* and ListBuildBatches, only without names', () => {
    const policy = resource('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('AllProjectsPolicy'),
    });
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'CodeBuildAllProjects',
        Effect: 'Allow',
        Action: projectActions,
        Resource: {
          'Fn::Sub':
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/*',
        },
      },
      {
        Sid: 'ListBuildBatchesInAccount',
        Effect: 'Allow',
        Action: 'codebuild:ListBuildBatches',
        Resource: '*',
      },
      {
        Sid: 'ReadBuildLogTails',
        Effect: 'Allow',
        Action: 'logs:GetLogEvents',
        Resource: {
          'Fn::Sub': [
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Group}:*',
            { Group: '/aws/codebuild/*' },
          ],
        },
      },
    ]);
    expect(new CfnResolver(json).condition(policy.Condition)).toBe(true);
    const named = new CfnResolver(json, { ProjectNames: 'web' });
    expect(named.condition(policy.Condition)).toBe(false);
  });

  it('exactly one CodeBuild policy exists for any ProjectNames', () => {
    const conditions = allStatements()
      .filter((s) => s.condition !== undefined)
      .map((s) => s.condition as string);
    for (const value of ['', 'web', 'a1,b2,c3']) {
      const cfn = new CfnResolver(json, { ProjectNames: value });
      const live = new Set(conditions.filter((c) => cfn.condition(c)));
      expect(live.size, value).toBe(1);
    }
  });

  it('no "*" resource except ListBuildBatches; no wildcard actions', () => {
    for (const { statement } of allStatements()) {
      const actions = asList(statement.Action) as string[];
      for (const action of actions) expect(action).not.toContain('*');
      if (asList(statement.Resource).includes('*')) {
        expect(actions).toEqual(['codebuild:ListBuildBatches']);
      }
    }
  });

  it('DynamoDB actions only on this table and its index', () => {
    const { table } = ids();
    const dynamo = allStatements().filter(({ statement }) =>
      (asList(statement.Action) as string[]).some((a) =>
        a.startsWith('dynamodb:'),
      ),
    );
    expect(dynamo).toHaveLength(2);
    for (const { statement } of dynamo) {
      expect(JSON.stringify(statement.Resource)).toContain(
        JSON.stringify(getAtt(table)),
      );
    }
  });
});

describe('outputs', () => {
  it('table name, function name, DLQ URL, topic ARN and dashboard', () => {
    const { table, fn, queue } = ids();
    expect(json.Outputs).toEqual({
      TableName: expect.objectContaining({ Value: { Ref: table } }),
      FunctionName: expect.objectContaining({ Value: { Ref: fn } }),
      DeadLetterQueueUrl: expect.objectContaining({ Value: { Ref: queue } }),
      NotificationTopicArn: expect.objectContaining({
        Value: { Ref: topicId() },
      }),
      DashboardName: expect.objectContaining({
        Value: { Ref: logicalId('AWS::CloudWatch::Dashboard') },
      }),
    });
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged finding (errors or warnings)', () => {
    expect(violations).toEqual([]);
  });

  it('synthesis carries no error or warning annotations', () => {
    const messages = artifact.messages.filter(
      (m) => m.level === 'error' || m.level === 'warning',
    );
    expect(messages.map((m) => `${m.id}: ${m.entry.data}`)).toEqual([]);
  });

  it('acknowledges exactly these findings, each with a reason', () => {
    const acknowledged: Record<string, string[]> = {};
    for (const construct of stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          continue;
        }
        for (const [id, reason] of Object.entries(
          entry.data as Record<string, string>,
        )) {
          expect(reason.length, id).toBeGreaterThan(40);
          const rule = id.replace(/^annotation::/i, '');
          acknowledged[rule] = [
            ...(acknowledged[rule] ?? []),
            construct.node.path,
          ];
        }
      }
    }
    // One per log group the function may read: each slot of ProjectNames,
    // and every project's group when none is named.
    const logStreams = Object.keys(acknowledged).filter((id) =>
      id.startsWith(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
        'AwsSolutions-IAM5[Resource::["arn:${AWS::Partition}:logs:',
      ),
    );
    expect(logStreams).toHaveLength(MAX_PROJECT_NAMES + 1);
    for (const id of logStreams) {
      expect(id).toMatch(/log-group:\$\{Group\}:\*",\{"Group":/);
      delete acknowledged[id];
    }
    expect(acknowledged).toEqual({
      'AwsSolutions-SQS3': [
        'CodeBuildBatchRetry/Service/DeadLetterQueue',
        'CodeBuildBatchRetry/Service/RecheckDeadLetterQueue',
      ],
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:project/*]':
        ['CodeBuildBatchRetry/Service/AllProjectsPolicy'],
      'AwsSolutions-IAM5[Resource::*]': [
        'CodeBuildBatchRetry/Service/AllProjectsPolicy',
      ],
      'Serverless-SQSRedrivePolicy': [
        'CodeBuildBatchRetry/Service/DeadLetterQueue',
        'CodeBuildBatchRetry/Service/RecheckDeadLetterQueue',
      ],
      'Serverless-LambdaDLQ': ['CodeBuildBatchRetry/Service/Function'],
      'Serverless-LambdaEventSourceMappingDestination': [
        'CodeBuildBatchRetry/Service/Function',
      ],
      'Serverless-LambdaTracing': ['CodeBuildBatchRetry/Service/Function'],
    });
  });
});

describe('function asset', () => {
  it('is bundled locally into an ESM index.mjs with a source map', () => {
    // The function's code asset, from the stack's asset manifest.
    const manifest = JSON.parse(
      readFileSync(
        join(artifact.assembly.directory, `${artifact.id}.assets.json`),
        'utf8',
      ),
    );
    const zips = Object.values(manifest.files).filter(
      (f: Json) => f.source.packaging === 'zip',
    ) as Json[];
    expect(zips).toHaveLength(1);
    const zip = zips[0];
    const [destination] = Object.values(zip.destinations) as Json[];
    expect(resource('AWS::Lambda::Function').Properties.Code.S3Key).toBe(
      destination.objectKey,
    );
    const dir = join(artifact.assembly.directory, zip.source.path);
    const entry = join(dir, 'index.mjs');
    expect(existsSync(entry)).toBe(true);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    const code = readFileSync(entry, 'utf8');
    expect(
      code.startsWith(
        "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      ),
    ).toBe(true);
    expect(code).toContain('sourceMappingURL=index.mjs.map');
  });
});

describe('template snapshot', () => {
  it('matches the committed template of the default stack', async () => {
    // Asset hashes change with every byte of the bundle; the resources, their
    // properties and the policies are what a reviewer should see change.
    const normalised = JSON.stringify(json, null, 2).replace(
      /[0-9a-f]{64}/g,
      '<asset-hash>',
    );
    await expect(`${normalised}\n`).toMatchFileSnapshot(
      '__snapshots__/CodeBuildBatchRetry.template.json',
    );
  });
});
