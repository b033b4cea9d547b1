import { fileURLToPath } from 'node:url';
import {
  CfnCondition,
  Duration,
  Fn,
  RemovalPolicy,
  Token,
  Tokenization,
  Validations,
} from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, MAX_PROJECT_NAMES, RETRY_TYPES } from '../lambda/config.js';

/**
 * CodeBuild statuses that end a build. Every one of them is a trigger: a
 * batch settles after its children, so the event that arrives when a batch
 * becomes FAILED may be a sibling's SUCCEEDED or STOPPED.
 */
export const TERMINAL_BUILD_STATUSES = [
  'FAILED',
  'FAULT',
  'TIMED_OUT',
  'STOPPED',
  'SUCCEEDED',
] as const;

/** The event the rule matches; there is no batch-level event. */
export const BUILD_STATE_CHANGE = 'CodeBuild Build State Change';

// MAX_PROJECT_NAMES lives with the function's config, which enforces it.
export { MAX_PROJECT_NAMES };

/** A CodeBuild project name (the same rule the function's config applies). */
export const PROJECT_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$';

/** Powertools log levels the LogLevel setting accepts. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** The sparse index of batches the sweep re-reads (see lambda/budget-store). */
export const WATCH_INDEX_NAME = 'watched';

/** Actions that authorize against project ARNs. */
const PROJECT_ACTIONS = [
  'codebuild:BatchGetBuilds',
  'codebuild:BatchGetBuildBatches',
  'codebuild:RetryBuildBatch',
  'codebuild:ListBuildBatchesForProject',
];

/** Budget, watch and idempotency records: single items, plus a batch read. */
const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/** Async delivery settings shared by both rule targets and the function. */
const ASYNC_RETRY_ATTEMPTS = 2;
const ASYNC_MAX_EVENT_AGE = Duration.hours(1);

const ENTRY = fileURLToPath(new URL('../lambda/handler.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const LOCK_FILE = fileURLToPath(
  new URL('../package-lock.json', import.meta.url),
);

/** Properties of {@link BatchRetryService}. Any value may be a CDK token. */
export interface BatchRetryServiceProps {
  /**
   * Retries per batch. 0 keeps observing and logging but never retries.
   * @default 2
   */
  readonly maxRetries?: number;

  /**
   * `retryType` passed to RetryBuildBatch: `RETRY_FAILED_BUILDS` or
   * `RETRY_ALL_BUILDS`.
   * @default 'RETRY_FAILED_BUILDS'
   */
  readonly retryType?: string;

  /**
   * Projects in scope. Empty means every project in the account and region.
   * Narrows the rule's event pattern and the IAM policy. May be a
   * CommaDelimitedList parameter's value (`valueAsList`), in which case the
   * choice is made by CloudFormation conditions and at most
   * {@link MAX_PROJECT_NAMES} names get permissions.
   * @default [] (every project)
   */
  readonly projectNames?: string[];

  /**
   * Decide and log "would retry", never call RetryBuildBatch. A string must
   * be `'true'` or `'false'` (for example a parameter's value).
   * @default false
   */
  readonly dryRun?: boolean | string;

  /**
   * Minutes between reconciliation sweeps, 1-60.
   * @default 5
   */
  readonly sweepIntervalMinutes?: number;

  /**
   * The sweep ignores batches that ended longer ago than this, 1-168.
   * @default 24
   */
  readonly lookbackHours?: number;

  /**
   * Powertools log level: `DEBUG`, `INFO`, `WARN` or `ERROR`.
   * @default 'INFO'
   */
  readonly logLevel?: string;

  /**
   * Reserved concurrency of the function; 0 leaves it unreserved (new
   * accounts cannot reserve concurrency).
   * @default 0
   */
  readonly reservedConcurrency?: number;

  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * What happens to the table and the log group when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The whole service: the DynamoDB table holding retry budgets, watches and
 * idempotency records; the function; the EventBridge rule for CodeBuild
 * Build State Change events; the scheduled sweep; the dead-letter queue; and
 * a least-privilege role.
 *
 * @example
 * new BatchRetryService(stack, 'Service', { maxRetries: 3, projectNames: ['web'] });
 */
export class BatchRetryService extends Construct {
  /** Retry budgets, the watch list (sparse GSI) and idempotency records. */
  public readonly table: dynamodb.TableV2;
  /** The function handling events and sweeps. */
  public readonly handler: nodejs.NodejsFunction;
  /** Events and invocations that could not be delivered or processed. */
  public readonly deadLetterQueue: sqs.Queue;
  /** CodeBuild Build State Change rule on the default bus. */
  public readonly eventRule: events.Rule;
  /** The reconciliation sweep's schedule. */
  public readonly sweepRule: events.Rule;
  /** The function's log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(
    scope: Construct,
    id: string,
    props: BatchRetryServiceProps = {},
  ) {
    super(scope, id);
    const projectNames = props.projectNames ?? [];
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    validateLiterals(props, projectNames);

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key (aws/dynamodb) rather than the default AWS owned
      // key: every use is visible in CloudTrail, with no key policy or key
      // cost to manage. The items are counters, batch ARNs and payload hashes.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      // Shared by the budget records and Powertools Idempotency's records.
      timeToLiveAttribute: 'expiration',
      removalPolicy,
      globalSecondaryIndexes: [
        {
          // Sparse: only batches being watched carry watchShard.
          indexName: WATCH_INDEX_NAME,
          partitionKey: {
            name: 'watchShard',
            type: dynamodb.AttributeType.STRING,
          },
          sortKey: { name: 'watchedAt', type: dynamodb.AttributeType.NUMBER },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // Messages hold raw events, whose environment variables may carry
      // secrets: encrypted at rest, TLS only.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of both EventBridge targets and of the asynchronous invocations of the function; a dead-letter queue for it would add nothing.',
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    });

    // Our own role, so no AWSLambdaBasicExecutionRole (cdk-nag IAM4): the
    // function writes only to its own log group.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'codebuild-batch-retry function',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'BudgetTable',
        actions: TABLE_ACTIONS,
        resources: [this.table.tableArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WatchIndex',
        actions: ['dynamodb:Query'],
        resources: [`${this.table.tableArn}/index/${WATCH_INDEX_NAME}`],
      }),
    );

    this.handler = new nodejs.NodejsFunction(this, 'Function', {
      entry: ENTRY,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Covers the SDK's backoff on throttling (5 attempts per call) and a
      // sweep page; the sweep stops early by the remaining time.
      timeout: Duration.minutes(2),
      role,
      logGroup: this.logGroup,
      description:
        'Retries failed CodeBuild batch builds within a retry budget',
      environment: {
        [ENV.tableName]: this.table.tableName,
        [ENV.maxRetries]: Tokenization.stringifyNumber(props.maxRetries ?? 2),
        [ENV.retryType]: props.retryType ?? 'RETRY_FAILED_BUILDS',
        [ENV.projectNames]: Token.isUnresolved(projectNames)
          ? Fn.join(',', projectNames)
          : projectNames.join(','),
        [ENV.dryRun]: String(props.dryRun ?? false),
        [ENV.lookbackHours]: Tokenization.stringifyNumber(
          props.lookbackHours ?? 24,
        ),
        [ENV.sweepIntervalMinutes]: Tokenization.stringifyNumber(
          props.sweepIntervalMinutes ?? 5,
        ),
        POWERTOOLS_SERVICE_NAME: 'codebuild-batch-retry',
        POWERTOOLS_METRICS_NAMESPACE: 'CodeBuildBatchRetry',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
      },
      // Function errors after Lambda's own retries. Only the on-failure
      // destination, not also a function DeadLetterConfig, which would
      // deliver every failure twice.
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: ASYNC_MAX_EVENT_AGE,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: 'node24',
        format: nodejs.OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        // Bundle AWS SDK v3 too (the runtime's copy is not used), so the
        // function runs exactly the versions package-lock.json pins.
        externalModules: [],
      },
    });
    this.setReservedConcurrency(props.reservedConcurrency ?? 0);

    const projectScope = this.grantCodeBuild(role, projectNames);

    // Delivery failures (EventBridge cannot invoke the function) go to the
    // same queue via each target's dead-letter config; processing failures
    // arrive there via the function's on-failure destination above.
    const targetOptions = {
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: ASYNC_MAX_EVENT_AGE,
      deadLetterQueue: this.deadLetterQueue,
    };

    this.eventRule = new events.Rule(this, 'BuildStateChangeRule', {
      description:
        'CodeBuild builds reaching a terminal status: a batch may have just failed or settled',
      eventPattern: {
        source: ['aws.codebuild'],
        detailType: [BUILD_STATE_CHANGE],
        detail: projectScope.detail,
      },
      targets: [new targets.LambdaFunction(this.handler, targetOptions)],
    });
    if (projectScope.detailOverride !== undefined) {
      (this.eventRule.node.defaultChild as events.CfnRule).addPropertyOverride(
        'EventPattern.detail',
        projectScope.detailOverride,
      );
    }

    this.sweepRule = new events.Rule(this, 'SweepRule', {
      description:
        'Reconciliation sweep: failed batches in the lookback window and watched batches',
      schedule: this.sweepSchedule(props.sweepIntervalMinutes ?? 5),
      targets: [
        new targets.LambdaFunction(this.handler, {
          ...targetOptions,
          event: events.RuleTargetInput.fromObject({ kind: 'sweep' }),
        }),
      ],
    });
  }

  /**
   * 0 means unreserved. For a token (a parameter) CloudFormation decides:
   * `ReservedConcurrentExecutions` is `AWS::NoValue` when the value is 0.
   */
  private setReservedConcurrency(value: number): void {
    const cfnFunction = this.handler.node.defaultChild as lambda.CfnFunction;
    if (!Token.isUnresolved(value)) {
      cfnFunction.reservedConcurrentExecutions = value > 0 ? value : undefined;
      return;
    }
    const reserved = new CfnCondition(this, 'ReserveConcurrency', {
      expression: Fn.conditionNot(
        Fn.conditionEquals(Tokenization.stringifyNumber(value), '0'),
      ),
    });
    cfnFunction.reservedConcurrentExecutions = Token.asNumber(
      Fn.conditionIf(reserved.logicalId, value, Fn.ref('AWS::NoValue')),
    );
  }

  /** `rate(1 minute)` must be singular, so a token needs a condition. */
  private sweepSchedule(minutes: number): events.Schedule {
    if (!Token.isUnresolved(minutes)) {
      return events.Schedule.rate(Duration.minutes(minutes));
    }
    const text = Tokenization.stringifyNumber(minutes);
    const everyMinute = new CfnCondition(this, 'SweepEveryMinute', {
      expression: Fn.conditionEquals(text, '1'),
    });
    return events.Schedule.expression(
      Token.asString(
        Fn.conditionIf(
          everyMinute.logicalId,
          'rate(1 minute)',
          Fn.join('', ['rate(', text, ' minutes)']),
        ),
      ),
    );
  }

  /**
   * Grants the CodeBuild actions on the projects in scope and returns the
   * rule's `detail` pattern for that scope.
   *
   * Literal names are resolved now. A token list (a CommaDelimitedList
   * parameter) is resolved by CloudFormation: two conditions, two
   * conditional policies (exactly one exists), and an `Fn::If` in the
   * rule's pattern.
   */
  private grantCodeBuild(
    role: iam.Role,
    projectNames: string[],
  ): { detail: Record<string, unknown>; detailOverride?: unknown } {
    const statusOnly = { 'build-status': [...TERMINAL_BUILD_STATUSES] };

    if (!Token.isUnresolved(projectNames)) {
      if (projectNames.length > 0) {
        role.addToPrincipalPolicy(
          scopedProjectsStatement(projectNames.map(projectArn)),
        );
        return { detail: { ...statusOnly, 'project-name': projectNames } };
      }
      for (const statement of allProjectsStatements()) {
        role.addToPrincipalPolicy(statement);
      }
      acknowledgeAllProjects(role);
      return { detail: statusOnly };
    }

    const joined = Fn.join(',', projectNames);
    const allProjects = new CfnCondition(this, 'AllProjects', {
      expression: Fn.conditionEquals(joined, ''),
    });
    const someProjects = new CfnCondition(this, 'SomeProjects', {
      expression: Fn.conditionNot(allProjects),
    });

    // Fn::Join's delimiter must be a literal, so the ARN prefix (partition,
    // region, account) cannot be joined between the names. Instead pad the
    // list with empty names and build one ARN per slot; an empty slot is
    // `...:project/`, which names no project (names have 2+ characters).
    const padded = Fn.split(
      ',',
      Fn.join('', [joined, ','.repeat(MAX_PROJECT_NAMES)]),
    );
    const slots = Array.from({ length: MAX_PROJECT_NAMES }, (_, i) =>
      projectArn(Fn.select(i, padded)),
    );

    // Conditional policies are created outside the role's scope: the
    // function depends on the role, and a DependsOn on a resource whose
    // condition is false is invalid. Until the policy exists an invocation
    // fails with AccessDenied and Lambda retries it.
    const scoped = new iam.Policy(this, 'ScopedProjectsPolicy', {
      roles: [role],
      statements: [scopedProjectsStatement(slots)],
    });
    (scoped.node.defaultChild as iam.CfnPolicy).cfnOptions.condition =
      someProjects;

    const all = new iam.Policy(this, 'AllProjectsPolicy', {
      roles: [role],
      statements: allProjectsStatements(),
    });
    (all.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = allProjects;
    acknowledgeAllProjects(all);

    return {
      detail: statusOnly,
      detailOverride: Fn.conditionIf(
        someProjects.logicalId,
        { ...statusOnly, 'project-name': projectNames },
        statusOnly,
      ),
    };
  }
}

/**
 * A project ARN in the deploying account, region and partition. `Fn::Sub`
 * keeps the pseudo parameters in the template even when the stack has a
 * concrete environment, so cdk-nag's finding ids stay stable.
 */
function projectArn(name: string): string {
  return Fn.sub(
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
    'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${Name}',
    { Name: name },
  );
}

function scopedProjectsStatement(resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'CodeBuildProjectsInScope',
    actions: PROJECT_ACTIONS,
    resources,
  });
}

const ALL_PROJECTS_ARN =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
  'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/*';

function allProjectsStatements(): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'CodeBuildAllProjects',
      actions: PROJECT_ACTIONS,
      resources: [Fn.sub(ALL_PROJECTS_ARN)],
    }),
    new iam.PolicyStatement({
      sid: 'ListBuildBatchesInAccount',
      // The sweep lists the account's batches when no projects are named.
      actions: ['codebuild:ListBuildBatches'],
      resources: ['*'],
    }),
  ];
}

/** cdk-nag finding ids use `<...>` for `${...}` in the flattened ARN. */
function acknowledgeAllProjects(scope: Construct): void {
  const flattened = ALL_PROJECTS_ARN.replaceAll('${', '<').replaceAll('}', '>');
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${flattened}]`,
    reason:
      'ProjectNames is empty, which means every project in this account and region is in scope; the wildcard covers only CodeBuild project ARNs of this account and region, and this policy exists only when no project names are given.',
  });
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'codebuild:ListBuildBatches supports no resource-level permissions (it authorizes only against "*"); the sweep uses it only when no project names are given, and this policy exists only then.',
  });
}

/** Rejects out-of-range literal props at synth; tokens are CloudFormation's. */
function validateLiterals(
  props: BatchRetryServiceProps,
  projectNames: string[],
): void {
  const ranges: [keyof BatchRetryServiceProps, number, number][] = [
    ['maxRetries', 0, 10],
    ['sweepIntervalMinutes', 1, 60],
    ['lookbackHours', 1, 168],
    ['reservedConcurrency', 0, 1000],
  ];
  for (const [name, min, max] of ranges) {
    const value = props[name];
    if (typeof value !== 'number' || Token.isUnresolved(value)) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}`);
    }
  }
  const choices: [string, unknown, readonly string[]][] = [
    ['retryType', props.retryType, RETRY_TYPES],
    ['logLevel', props.logLevel, LOG_LEVELS],
    ['dryRun', props.dryRun, ['true', 'false']],
  ];
  for (const [name, value, allowed] of choices) {
    if (value === undefined || typeof value === 'boolean') continue;
    if (Token.isUnresolved(value)) continue;
    if (!allowed.includes(String(value))) {
      throw new Error(`${name} must be one of ${allowed.join(', ')}`);
    }
  }
  if (!Token.isUnresolved(projectNames)) {
    const pattern = new RegExp(PROJECT_NAME_PATTERN);
    const bad = projectNames.filter(
      (name) => !Token.isUnresolved(name) && !pattern.test(name),
    );
    if (bad.length > 0) {
      throw new Error(
        `projectNames has invalid CodeBuild project names: ${bad.join(', ')}`,
      );
    }
  }
}
