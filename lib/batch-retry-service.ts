import { fileURLToPath } from 'node:url';
import {
  Aws,
  CfnCondition,
  Duration,
  Fn,
  RemovalPolicy,
  Token,
  Tokenization,
  Validations,
} from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as eventSources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  BUILD_STATE_CHANGE,
  DEFAULT_LOG_GROUP_PREFIX,
  ENV,
  FAILURE_CLASS_DIMENSION,
  type FailureClass,
  FUNCTION_TIMEOUT_SECONDS,
  MAX_PROJECT_NAMES,
  METRIC,
  METRIC_NAMESPACE,
  type MetricName,
  OUTCOME_DIMENSION,
  type Outcome,
  RECHECK,
  SERVICE_NAME,
  SETTINGS,
  SKIP_REASON_DIMENSION,
  SWEEP_INPUT,
  TABLE,
  TERMINAL_BUILD_STATUSES,
} from '../lambda/contract.js';
import type { SkipReason } from '../lambda/decision.js';
import { FUNCTION_BUNDLING } from './private/bundling.js';
import { createDashboard } from './private/dashboard.js';
import {
  createTopic,
  notifyOnBatchEvents,
  subscribeEmail,
} from './private/notifications.js';
import {
  acknowledgeAllProjects,
  acknowledgeLogStreams,
  allProjectsStatements,
  buildLogsStatement,
  logStreamsArn,
  projectArn,
  scopedProjectsStatement,
  TABLE_ACTIONS,
} from './private/permissions.js';
import { validateProps } from './private/validation.js';

const FUNCTION_TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS);

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
   * Failure classes that may be retried (see docs/FAILURE-CLASSES.md); all
   * seven retry every failure.
   * @default ['infrastructure', 'source', 'timeout', 'transient', 'unknown']
   */
  readonly retryOn?: string[];

  /**
   * Exit codes (1-255) that make a failed command `transient`.
   * @default [137]
   */
  readonly retryExitCodes?: (number | string)[];

  /**
   * An extra transient signature: a JavaScript regular expression (at most
   * 1,024 characters) tested against failure messages and log-tail lines.
   * @default '' (none)
   */
  readonly retryPatterns?: string;

  /**
   * Log lines read when a failed command is not decided by its exit code or
   * message, 0-1000; 0 never reads build logs.
   * @default 100
   */
  readonly logTailLines?: number;

  /**
   * Seconds before a retry, doubled per attempt (at most 900), for failures
   * an immediate retry would meet again (capacity, rate limits); 0-900.
   * @default 0
   */
  readonly retryDelaySeconds?: number;

  /**
   * Days each outcome history item is kept (DynamoDB TTL), 1-365.
   * @default 30
   */
  readonly historyDays?: number;

  /**
   * Retries in a row of one project that end failed-again before its
   * circuit opens and its retries stop for a while, 0-50; 0 never opens.
   * @default 5
   */
  readonly circuitBreakerThreshold?: number;

  /**
   * Minutes an open circuit holds a project's retries back before letting
   * one through, 5-1440.
   * @default 60
   */
  readonly circuitBreakerCooldownMinutes?: number;

  /**
   * The event bus batch-level events (`source: codebuild-batch-retry`) go
   * to; the function may put events on this bus only.
   * @default 'default'
   */
  readonly eventBusName?: string;

  /**
   * An email address subscribed to the notification topic (SNS mails a
   * confirmation link first). Empty subscribes nobody; subscribe whatever
   * you like to {@link BatchRetryService.topic} yourself.
   * @default '' (none)
   */
  readonly notificationEmail?: string;

  /**
   * Name of the CloudWatch dashboard. Dashboards are global to the account,
   * so the default includes the region.
   * @default '<stack name>-<region>'
   */
  readonly dashboardName?: string;

  /**
   * Prefix of the projects' CloudWatch log groups; the function may read
   * log streams only in `<prefix><project>`. Builds logging elsewhere are
   * classified from their messages alone.
   * @default '/aws/codebuild/'
   */
  readonly logGroupPrefix?: string;

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
  /** Re-checks of settling batches and delayed retries. */
  public readonly recheckQueue: sqs.Queue;
  /** Re-check messages that failed `RECHECK.maxReceives` times. */
  public readonly recheckDeadLetterQueue: sqs.Queue;
  /**
   * Notifications for people: every alarm, and the batch-level events that
   * need one (budget exhausted, a project's circuit opened or closed).
   * Encrypted with a customer managed key, TLS-only.
   */
  public readonly topic: sns.Topic;
  /** Rules sending the notified batch-level events to {@link topic}. */
  public readonly notificationRules: events.Rule[];
  /** Every alarm of the service; each notifies {@link topic}. */
  public readonly alarms: cloudwatch.Alarm[];
  /** Retries, outcomes, refusals, latency and queues at a glance. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(
    scope: Construct,
    id: string,
    props: BatchRetryServiceProps = {},
  ) {
    super(scope, id);
    const projectNames = props.projectNames ?? [];
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const eventBusName = props.eventBusName ?? SETTINGS.eventBusName.default;
    validateProps(props, projectNames);

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: {
        name: TABLE.partitionKey,
        type: dynamodb.AttributeType.STRING,
      },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key (aws/dynamodb) rather than the default AWS owned
      // key: every use is visible in CloudTrail, with no key policy or key
      // cost to manage. The items are counters, batch ARNs and payload hashes.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      // Shared by the budget records and Powertools Idempotency's records.
      timeToLiveAttribute: TABLE.ttlAttribute,
      removalPolicy,
      globalSecondaryIndexes: [
        {
          // Sparse: only batches being watched carry its keys.
          indexName: TABLE.watchIndex,
          partitionKey: {
            name: TABLE.watchPartitionKey,
            type: dynamodb.AttributeType.STRING,
          },
          sortKey: {
            name: TABLE.watchSortKey,
            type: dynamodb.AttributeType.NUMBER,
          },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
    });

    // Messages hold raw events, whose environment variables may carry
    // secrets: encrypted at rest, TLS only.
    this.deadLetterQueue = this.deadLetterQueueOf(
      'DeadLetterQueue',
      'both EventBridge targets and of the asynchronous invocations of the function',
    );
    // The function sends itself delayed messages here and consumes them
    // through an event source mapping. Only batch ARNs, counters and retry
    // tokens travel, but encrypted and TLS-only like the rest.
    this.recheckDeadLetterQueue = this.deadLetterQueueOf(
      'RecheckDeadLetterQueue',
      'the re-check queue',
    );
    this.recheckQueue = new sqs.Queue(this, 'RecheckQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's advice: six times the function's timeout, so a message is
      // not handed to a second environment while the first still works.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(1),
      deadLetterQueue: {
        queue: this.recheckDeadLetterQueue,
        maxReceiveCount: RECHECK.maxReceives,
      },
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
        resources: [`${this.table.tableArn}/index/${TABLE.watchIndex}`],
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
      timeout: FUNCTION_TIMEOUT,
      role,
      logGroup: this.logGroup,
      description:
        'Retries failed CodeBuild batch builds within a retry budget',
      environment: {
        [ENV.tableName]: this.table.tableName,
        [ENV.maxRetries]: Tokenization.stringifyNumber(
          props.maxRetries ?? SETTINGS.maxRetries.default,
        ),
        [ENV.retryType]: props.retryType ?? SETTINGS.retryType.default,
        [ENV.projectNames]: Token.isUnresolved(projectNames)
          ? Fn.join(',', projectNames)
          : projectNames.join(','),
        [ENV.dryRun]: String(props.dryRun ?? SETTINGS.dryRun.default),
        [ENV.lookbackHours]: Tokenization.stringifyNumber(
          props.lookbackHours ?? SETTINGS.lookbackHours.default,
        ),
        [ENV.retryOn]: joinList(props.retryOn ?? [...SETTINGS.retryOn.default]),
        [ENV.retryExitCodes]: joinList(
          (props.retryExitCodes ?? [...SETTINGS.retryExitCodes.default]).map(
            String,
          ),
        ),
        [ENV.retryPatterns]:
          props.retryPatterns ?? SETTINGS.retryPatterns.default,
        [ENV.logTailLines]: Tokenization.stringifyNumber(
          props.logTailLines ?? SETTINGS.logTailLines.default,
        ),
        [ENV.retryDelaySeconds]: Tokenization.stringifyNumber(
          props.retryDelaySeconds ?? SETTINGS.retryDelaySeconds.default,
        ),
        [ENV.recheckQueueUrl]: this.recheckQueue.queueUrl,
        [ENV.historyDays]: Tokenization.stringifyNumber(
          props.historyDays ?? SETTINGS.historyDays.default,
        ),
        [ENV.eventBusName]: eventBusName,
        [ENV.circuitBreakerThreshold]: Tokenization.stringifyNumber(
          props.circuitBreakerThreshold ??
            SETTINGS.circuitBreakerThreshold.default,
        ),
        [ENV.circuitBreakerCooldownMinutes]: Tokenization.stringifyNumber(
          props.circuitBreakerCooldownMinutes ??
            SETTINGS.circuitBreakerCooldownMinutes.default,
        ),
        [ENV.serviceName]: SERVICE_NAME,
        [ENV.metricsNamespace]: METRIC_NAMESPACE,
        [ENV.logLevel]: props.logLevel ?? SETTINGS.logLevel.default,
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
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourceMap,
        sourcesContent: FUNCTION_BUNDLING.sourcesContent,
        target: FUNCTION_BUNDLING.target,
        format: nodejs.OutputFormat.ESM,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        banner: FUNCTION_BUNDLING.banner,
        externalModules: FUNCTION_BUNDLING.external,
      },
    });
    Validations.of(this.handler).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Failed asynchronous invocations go to the dead-letter queue through the on-failure destination, which also records the error; a DeadLetterConfig as well would deliver every failure twice.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'Every decision is a structured log line and an EMF metric; the function only calls CodeBuild and DynamoDB, whose SDK retries are logged. Active tracing would bill every build event of the account and need an xray:* grant on "*".',
      },
    );
    this.setReservedConcurrency(
      props.reservedConcurrency ?? SETTINGS.reservedConcurrency.default,
    );

    this.recheckQueue.grantSendMessages(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'PublishBatchEvents',
        actions: ['events:PutEvents'],
        resources: [
          Fn.sub(
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${Bus}',
            { Bus: eventBusName },
          ),
        ],
      }),
    );
    const recheckSource = new eventSources.SqsEventSource(this.recheckQueue, {
      batchSize: 10,
      // Rounds of several batches that come due within the same second
      // arrive in one invocation, which reads all their batches with one
      // BatchGetBuildBatches call.
      maxBatchingWindow: Duration.seconds(1),
      // Only the failed messages go back to the queue.
      reportBatchItemFailures: true,
    });
    this.handler.addEventSource(recheckSource);
    Validations.of(this.handler).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "An SQS event source mapping takes no on-failure destination: messages that keep failing move to the re-check queue's own dead-letter queue through its redrive policy, which is alarmed.",
    });
    this.topic = createTopic(this, removalPolicy);
    subscribeEmail(
      this,
      this.topic,
      props.notificationEmail,
      this.deadLetterQueue,
    );
    this.alarms = this.createAlarms();

    const projectScope = this.grantCodeBuild(
      role,
      projectNames,
      props.logGroupPrefix ?? DEFAULT_LOG_GROUP_PREFIX,
    );

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
      schedule: this.sweepSchedule(
        props.sweepIntervalMinutes ?? SETTINGS.sweepIntervalMinutes.default,
      ),
      targets: [
        new targets.LambdaFunction(this.handler, {
          ...targetOptions,
          event: events.RuleTargetInput.fromObject(SWEEP_INPUT),
        }),
      ],
    });

    // Events the topic could not take go to the same dead-letter queue, so
    // its alarm also tells of a notification that never arrived.
    this.notificationRules = notifyOnBatchEvents(
      this,
      this.topic,
      eventBusName,
      targetOptions,
    );
    this.dashboard = createDashboard(
      this,
      this,
      props.dashboardName ?? Fn.join('-', [Aws.STACK_NAME, Aws.REGION]),
      this.alarms,
    );
  }

  /**
   * One of the function's metrics (namespace `CodeBuildBatchRetry`, the
   * `service` dimension Powertools adds), summed over five minutes unless
   * `props` say otherwise.
   *
   * @example
   * service.metric('RetryIssued', { period: Duration.hours(1) });
   */
  public metric(
    metricName: MetricName,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
      dimensionsMap: { service: SERVICE_NAME, ...props.dimensionsMap },
    });
  }

  /**
   * RetryBuildBatch calls CodeBuild accepted.
   *
   * @example
   * service.metricRetries().createAlarm(this, 'Storm', { threshold: 50, evaluationPeriods: 1 });
   */
  public metricRetries(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.RetryIssued, props);
  }

  /** Retries a dry run would have made. */
  public metricWouldRetry(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.RetryWouldIssue, props);
  }

  /**
   * Batches that failed again with no retry budget left: genuinely broken,
   * counted once per failure.
   *
   * @example
   * service.metricBudgetExhausted().createAlarm(this, 'Broken', { threshold: 1, evaluationPeriods: 1 });
   */
  public metricBudgetExhausted(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.BudgetExhausted, props);
  }

  /** RetryBuildBatch calls CodeBuild refused (the batch was no longer failed). */
  public metricRetriesRefused(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.RetryRefused, props);
  }

  /** Batches put on the watch list because a child failed while they ran. */
  public metricBatchesWatched(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.BatchWatched, props);
  }

  /** Inputs rejected as malformed (logged with the problem, never retried). */
  public metricInvalidEvents(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.InvalidEvent, props);
  }

  /** Batches each sweep looked at. */
  public metricSweepCandidates(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.SweepCandidates, props);
  }

  /**
   * Retried batches that then `healed` or came to another outcome
   * (`failed-again`, `stopped`, `gone`).
   *
   * @example
   * service.metricOutcomes('healed', { period: Duration.days(1) });
   */
  public metricOutcomes(
    outcome: Outcome,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metric(METRIC.RetryOutcome, {
      ...props,
      dimensionsMap: { [OUTCOME_DIMENSION]: outcome, ...props.dimensionsMap },
    });
  }

  /**
   * Percentage of the retries followed to `healed` or `failed-again` that
   * healed, hourly unless `props` say otherwise; empty while no retried
   * batch settled.
   *
   * @example
   * service.metricHealRate({ period: Duration.days(1) });
   */
  public metricHealRate(
    props: { readonly period?: Duration; readonly label?: string } = {},
  ): cloudwatch.MathExpression {
    const period = props.period ?? Duration.hours(1);
    return new cloudwatch.MathExpression({
      expression: '100 * healed / (healed + failedAgain)',
      usingMetrics: {
        healed: this.metricOutcomes('healed', { period }),
        failedAgain: this.metricOutcomes('failed-again', { period }),
      },
      label: props.label ?? 'heal rate (%)',
      period,
    });
  }

  /**
   * Batches not retried because of their failed groups' classes, counted
   * under each class that blocked the retry.
   *
   * @example
   * service.metricNotRetryable('script');
   */
  public metricNotRetryable(
    failureClass: FailureClass,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metric(METRIC.NotRetryable, {
      ...props,
      dimensionsMap: {
        [FAILURE_CLASS_DIMENSION]: failureClass,
        ...props.dimensionsMap,
      },
    });
  }

  /**
   * Seconds from a batch's failure to CodeBuild accepting its retry, as
   * `statistic` (a percentile such as `p95`, or `Average`, `Maximum`).
   *
   * @example
   * service.metricFailureToRetry('p95');
   */
  public metricFailureToRetry(
    statistic = 'p50',
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metric(METRIC.FailureToRetrySeconds, { ...props, statistic });
  }

  /** Projects whose circuit opened: their retries are paused. */
  public metricCircuitOpened(
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.CircuitOpened, props);
  }

  /**
   * Batches and builds not retried, for one reason.
   *
   * @example
   * service.metricSkipped('before-lookback');
   */
  public metricSkipped(
    reason: SkipReason,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metric(METRIC.Skipped, {
      ...props,
      dimensionsMap: {
        [SKIP_REASON_DIMENSION]: reason,
        ...props.dimensionsMap,
      },
    });
  }

  /**
   * An encrypted, TLS-only queue that keeps messages 14 days and is the
   * dead-letter queue of `of`, so needs none of its own.
   */
  private deadLetterQueueOf(id: string, of: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const reason = `This queue is itself the dead-letter queue of ${of}; a dead-letter queue for it would add nothing.`;
    Validations.of(queue).acknowledge(
      { id: 'AwsSolutions-SQS3', reason },
      { id: 'Serverless-SQSRedrivePolicy', reason },
    );
    return queue;
  }

  /**
   * Alarms on what needs a person, each notifying the topic: messages in
   * either dead-letter queue (something stayed broken through every retry),
   * re-checks waiting far longer than any delay the function sets (the
   * consumer is stuck), the function failing, and a project's circuit
   * opening (its retries keep failing again, so they are paused). Missing
   * data is not breaching: these metrics are silent while all is well.
   */
  private createAlarms(): cloudwatch.Alarm[] {
    const atLeastOnce = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator:
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const deadLetters = [
      [
        'DeadLetterAlarm',
        this.deadLetterQueue,
        'an event, invocation or notification',
      ],
      ['RecheckDeadLetterAlarm', this.recheckDeadLetterQueue, 'a re-check'],
    ] as const;
    const alarms = deadLetters.map(([id, queue, what]) =>
      queue
        .metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        })
        .createAlarm(this, id, {
          alarmDescription: `Messages in ${id.replace('Alarm', '')}: ${what} failed every retry`,
          ...atLeastOnce,
        }),
    );
    alarms.push(
      this.recheckQueue
        .metricApproximateAgeOfOldestMessage({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.MAXIMUM,
        })
        .createAlarm(this, 'RecheckQueueAgeAlarm', {
          alarmDescription:
            'A re-check has waited far longer than the longest delay (900 s): the function is not consuming the queue',
          threshold: RECHECK.maxDelaySeconds * 2,
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      this.handler
        .metricErrors({
          period: Duration.minutes(5),
          statistic: cloudwatch.Stats.SUM,
        })
        .createAlarm(this, 'FunctionErrorsAlarm', {
          alarmDescription:
            'The function failed an invocation (Lambda retries it; what still fails lands in the dead-letter queue): see its log group',
          ...atLeastOnce,
        }),
      this.metricCircuitOpened().createAlarm(this, 'CircuitOpenedAlarm', {
        alarmDescription:
          "A project's circuit opened: its retries kept failing again, so its failed batches are not retried for now",
        ...atLeastOnce,
      }),
    );
    const notify = new cloudwatchActions.SnsAction(this.topic);
    for (const alarm of alarms) alarm.addAlarmAction(notify);
    return alarms;
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
   * Grants the CodeBuild actions on the projects in scope, and reading
   * their log groups' streams, and returns the rule's `detail` pattern for
   * that scope.
   *
   * Literal names are resolved now. A token list (a CommaDelimitedList
   * parameter) is resolved by CloudFormation: two conditions, two
   * conditional policies (exactly one exists), and an `Fn::If` in the
   * rule's pattern.
   */
  private grantCodeBuild(
    role: iam.Role,
    projectNames: string[],
    logGroupPrefix: string,
  ): { detail: Record<string, unknown>; detailOverride?: unknown } {
    const statusOnly = { 'build-status': [...TERMINAL_BUILD_STATUSES] };
    const everyStream = logStreamsArn(`${logGroupPrefix}*`);

    if (!Token.isUnresolved(projectNames)) {
      if (projectNames.length > 0) {
        const groups = projectNames.map((name) => `${logGroupPrefix}${name}`);
        role.addToPrincipalPolicy(
          scopedProjectsStatement(projectNames.map(projectArn)),
        );
        const streams = groups.map(logStreamsArn);
        role.addToPrincipalPolicy(buildLogsStatement(streams));
        acknowledgeLogStreams(role, streams);
        return { detail: { ...statusOnly, 'project-name': projectNames } };
      }
      for (const statement of allProjectsStatements()) {
        role.addToPrincipalPolicy(statement);
      }
      role.addToPrincipalPolicy(buildLogsStatement([everyStream]));
      acknowledgeAllProjects(role);
      acknowledgeLogStreams(role, [everyStream]);
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
    const logSlots = Array.from({ length: MAX_PROJECT_NAMES }, (_, i) =>
      logStreamsArn(Fn.join('', [logGroupPrefix, Fn.select(i, padded)])),
    );

    // Conditional policies are created outside the role's scope: the
    // function depends on the role, and a DependsOn on a resource whose
    // condition is false is invalid. Until the policy exists an invocation
    // fails with AccessDenied and Lambda retries it.
    const scoped = new iam.Policy(this, 'ScopedProjectsPolicy', {
      roles: [role],
      statements: [
        scopedProjectsStatement(slots),
        buildLogsStatement(logSlots),
      ],
    });
    (scoped.node.defaultChild as iam.CfnPolicy).cfnOptions.condition =
      someProjects;
    acknowledgeLogStreams(scoped, logSlots);

    const all = new iam.Policy(this, 'AllProjectsPolicy', {
      roles: [role],
      statements: [
        ...allProjectsStatements(),
        buildLogsStatement([everyStream]),
      ],
    });
    (all.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = allProjects;
    acknowledgeAllProjects(all);
    acknowledgeLogStreams(all, [everyStream]);

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

/** A list prop as one comma-separated variable, token or not. */
function joinList(items: string[]): string {
  return Token.isUnresolved(items) ? Fn.join(',', items) : items.join(',');
}
