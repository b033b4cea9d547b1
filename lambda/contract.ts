/**
 * The service's contract: every name, default, limit and allowed value that
 * more than one place needs. The function, the CDK construct and stack, the
 * local AWS toolkit, the simulation and the benchmarks import it from here;
 * none of them repeats a literal that lives here.
 *
 * Kept free of imports and I/O, so the function's bundle pays only for the
 * strings themselves.
 */

/** Service name: log lines, the metrics' `service` dimension. */
export const SERVICE_NAME = 'codebuild-batch-retry';

/** CloudWatch namespace of every metric the function emits. */
export const METRIC_NAMESPACE = 'CodeBuildBatchRetry';

/** The CDK stack's construct id, which is also its default stack name. */
export const STACK_ID = 'CodeBuildBatchRetry';

/** The values RetryBuildBatch accepts for `retryType`. */
export const RETRY_TYPES = ['RETRY_FAILED_BUILDS', 'RETRY_ALL_BUILDS'] as const;

/** A `retryType` RetryBuildBatch accepts. */
export type RetryType = (typeof RETRY_TYPES)[number];

/** Powertools log levels the `LogLevel` setting accepts. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/** Spellings of a boolean setting (CloudFormation has no boolean type). */
export const BOOLEAN_VALUES = ['true', 'false'] as const;

/**
 * A CodeBuild project name: 2-255 characters, letters, digits, `-` and `_`,
 * starting with a letter or digit. Without anchors, for use inside ARNs.
 */
export const PROJECT_NAME_BODY = '[A-Za-z0-9][A-Za-z0-9_-]{1,254}';

/** {@link PROJECT_NAME_BODY} anchored, as CloudFormation's AllowedPattern. */
export const PROJECT_NAME_PATTERN = `^${PROJECT_NAME_BODY}$`;

/**
 * How many project names the stack can scope IAM to when `ProjectNames` is a
 * CloudFormation list parameter. CloudFormation cannot map over a list and
 * `Fn::Join`'s delimiter must be a literal, so project ARNs are built slot by
 * slot with `Fn::Select`; names beyond this many would get no permissions,
 * so the function refuses them at cold start.
 */
export const MAX_PROJECT_NAMES = 20;

/**
 * An email address as `NotificationEmail` accepts it: something@domain.tld,
 * no spaces. SNS sends the confirmation mail; this only catches typos.
 */
export const EMAIL_PATTERN = '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$';

/** The CodeBuild event the rule matches; there is no batch-level event. */
export const BUILD_STATE_CHANGE = 'CodeBuild Build State Change';

/** Build statuses after which a build will not change again. */
export const TERMINAL_BUILD_STATUSES = [
  'FAILED',
  'FAULT',
  'TIMED_OUT',
  'STOPPED',
  'SUCCEEDED',
] as const;

/** A terminal build status. */
export type TerminalBuildStatus = (typeof TERMINAL_BUILD_STATUSES)[number];

/** Terminal statuses that say a build failed, so its batch may fail. */
export const FAILURE_BUILD_STATUSES = [
  'FAILED',
  'FAULT',
  'TIMED_OUT',
] as const satisfies readonly TerminalBuildStatus[];

/**
 * SDK attempts per call. Standard retry mode backs off exponentially on
 * ThrottlingException and 5xx; the function's timeout covers the worst case.
 */
export const SDK_MAX_ATTEMPTS = 5;

/** The constant input the sweep schedule passes to the function. */
export const SWEEP_INPUT = { kind: 'sweep' } as const;

/**
 * Failure classes, in the order the classifier tries them: the first that
 * applies to a failed build is its class. The names are part of the
 * interface (parameters, tags, logs, metrics).
 */
export const FAILURE_CLASSES = [
  'configuration',
  'timeout',
  'infrastructure',
  'source',
  'transient',
  'script',
  'unknown',
] as const;

/** A failure class. */
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/**
 * Project tags that override the stack's policy for one project. A tag
 * value cannot hold commas, so lists are space-separated.
 */
export const PROJECT_TAGS = {
  enabled: 'codebuild-batch-retry:enabled',
  maxRetries: 'codebuild-batch-retry:max-retries',
  retryOn: 'codebuild-batch-retry:retry-on',
  retryType: 'codebuild-batch-retry:retry-type',
  retryDelaySeconds: 'codebuild-batch-retry:retry-delay-seconds',
} as const;

/** How long an execution environment trusts the project tags it read. */
export const PROJECT_TAGS_TTL_MS = 5 * 60_000;

/** CodeBuild's default log group of a project is this prefix + its name. */
export const DEFAULT_LOG_GROUP_PREFIX = '/aws/codebuild/';

/** A whole-number setting's range and default. */
export interface NumberSetting {
  readonly parameter: string;
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

/** A setting with a fixed list of allowed values. */
export interface ChoiceSetting<T extends string = string> {
  readonly parameter: string;
  readonly allowed: readonly T[];
  readonly default: T;
}

/** A list of whole numbers, each within a range. */
export interface NumberListSetting {
  readonly parameter: string;
  readonly min: number;
  readonly max: number;
  readonly default: readonly number[];
}

/** A list whose items come from a fixed set of values. */
export interface ChoiceListSetting<T extends string = string> {
  readonly parameter: string;
  readonly allowed: readonly T[];
  readonly default: readonly T[];
}

/** A free-text setting with a length limit. */
export interface TextSetting {
  readonly parameter: string;
  readonly maxLength: number;
  readonly default: string;
}

/**
 * The stack's parameters: CloudFormation name, range or allowed values, and
 * default. The construct's props take the same defaults; the function
 * validates the same ranges again at cold start.
 */
export const SETTINGS = {
  maxRetries: { parameter: 'MaxRetries', min: 0, max: 10, default: 2 },
  retryType: {
    parameter: 'RetryType',
    allowed: RETRY_TYPES,
    default: 'RETRY_FAILED_BUILDS',
  },
  projectNames: { parameter: 'ProjectNames' },
  dryRun: { parameter: 'DryRun', allowed: BOOLEAN_VALUES, default: 'false' },
  sweepIntervalMinutes: {
    parameter: 'SweepIntervalMinutes',
    min: 1,
    max: 60,
    default: 5,
  },
  lookbackHours: { parameter: 'LookbackHours', min: 1, max: 168, default: 24 },
  logLevel: { parameter: 'LogLevel', allowed: LOG_LEVELS, default: 'INFO' },
  reservedConcurrency: {
    parameter: 'ReservedConcurrency',
    min: 0,
    max: 1000,
    default: 0,
  },
  retryOn: {
    parameter: 'RetryOn',
    allowed: FAILURE_CLASSES,
    default: ['infrastructure', 'source', 'timeout', 'transient', 'unknown'],
  },
  retryExitCodes: {
    parameter: 'RetryExitCodes',
    min: 1,
    max: 255,
    default: [137],
  },
  retryPatterns: { parameter: 'RetryPatterns', maxLength: 1024, default: '' },
  logTailLines: { parameter: 'LogTailLines', min: 0, max: 1000, default: 100 },
  retryDelaySeconds: {
    parameter: 'RetryDelaySeconds',
    min: 0,
    max: 900,
    default: 0,
  },
  historyDays: { parameter: 'HistoryDays', min: 1, max: 365, default: 30 },
  circuitBreakerThreshold: {
    parameter: 'CircuitBreakerThreshold',
    min: 0,
    max: 50,
    default: 5,
  },
  circuitBreakerCooldownMinutes: {
    parameter: 'CircuitBreakerCooldownMinutes',
    min: 5,
    max: 1440,
    default: 60,
  },
  eventBusName: {
    parameter: 'EventBusName',
    maxLength: 256,
    default: 'default',
  },
  notificationEmail: {
    parameter: 'NotificationEmail',
    maxLength: 254,
    default: '',
  },
} as const satisfies Record<
  string,
  | NumberSetting
  | ChoiceSetting
  | NumberListSetting
  | ChoiceListSetting
  | TextSetting
  | { readonly parameter: string }
>;

/**
 * The environment variables the function reads. The stack sets each one
 * from a parameter or a resource reference; `POWERTOOLS_*` are read by
 * Powertools itself.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  maxRetries: 'MAX_RETRIES',
  retryType: 'RETRY_TYPE',
  projectNames: 'PROJECT_NAMES',
  dryRun: 'DRY_RUN',
  lookbackHours: 'LOOKBACK_HOURS',
  retryOn: 'RETRY_ON',
  retryExitCodes: 'RETRY_EXIT_CODES',
  retryPatterns: 'RETRY_PATTERNS',
  logTailLines: 'LOG_TAIL_LINES',
  retryDelaySeconds: 'RETRY_DELAY_SECONDS',
  recheckQueueUrl: 'RECHECK_QUEUE_URL',
  historyDays: 'HISTORY_DAYS',
  eventBusName: 'EVENT_BUS_NAME',
  circuitBreakerThreshold: 'CIRCUIT_BREAKER_THRESHOLD',
  circuitBreakerCooldownMinutes: 'CIRCUIT_BREAKER_COOLDOWN_MINUTES',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/**
 * The DynamoDB table's shape. One table holds the retry budgets, the watch
 * list (a sparse index: only watched batches carry its keys) and Powertools
 * Idempotency's records, which share the partition key and the TTL attribute.
 */
export const TABLE = {
  partitionKey: 'id',
  /** TTL attribute, epoch seconds. */
  ttlAttribute: 'expiration',
  watchIndex: 'watched',
  watchPartitionKey: 'watchShard',
  watchSortKey: 'watchedAt',
} as const;

/**
 * Metric names. Each key is its metric's name, so a dashboard, an alarm and
 * the code read the same word.
 */
export const METRIC = {
  RetryIssued: 'RetryIssued',
  RetryWouldIssue: 'RetryWouldIssue',
  Skipped: 'Skipped',
  BatchWatched: 'BatchWatched',
  BudgetExhausted: 'BudgetExhausted',
  RetryRefused: 'RetryRefused',
  InvalidEvent: 'InvalidEvent',
  SweepCandidates: 'SweepCandidates',
  SweepScanTruncated: 'SweepScanTruncated',
  SweepFailures: 'SweepFailures',
  FailureClassified: 'FailureClassified',
  NotRetryable: 'NotRetryable',
  InvalidProjectTag: 'InvalidProjectTag',
  BuildLogRead: 'BuildLogRead',
  RecheckScheduled: 'RecheckScheduled',
  RetryOutcome: 'RetryOutcome',
  EventPublished: 'EventPublished',
  EventPublishFailed: 'EventPublishFailed',
  CircuitOpened: 'CircuitOpened',
  FailureToRetrySeconds: 'FailureToRetrySeconds',
  RetryDelayed: 'RetryDelayed',
} as const;

/** A metric the function emits. */
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The dimension that splits `Skipped` by its reason. */
export const SKIP_REASON_DIMENSION = 'Reason';

/** The dimension that splits `NotRetryable` by failure class. */
export const FAILURE_CLASS_DIMENSION = 'Class';

/** The function's timeout: no invocation runs longer. */
export const FUNCTION_TIMEOUT_SECONDS = 120;

/**
 * The re-check queue's timing. A batch settles after its children, so a
 * failure usually finds it still running. While other children run, their
 * events say when the last one ended; the batch is re-read only every
 * `backstopSeconds`, for the case that the last one's event was lost or
 * late (the sweep stays the backstop of the backstop). Once the last child
 * ended, it is re-read at the `settleSeconds` steps (the last one
 * repeating) until it settles: a batch settles seconds to minutes after
 * its last child, rarely in under ten. For a settle uniform over 5–120 s,
 * 10 s and then every 20 s find it 12 s after it settled at the median and
 * 21 s at worst, in 4.1 reads on average (10, 15, 20, 25, 30 took 4.0 reads
 * for 14 and 31 s). Rounds that come due together share their reads. A
 * retried batch is followed every `followSeconds` until its outcome is
 * known. SQS delays at most 900 s.
 */
export const RECHECK = {
  settleSeconds: [10, 20],
  backstopSeconds: 90,
  followSeconds: 90,
  maxDelaySeconds: 900,
  /** Receives of a message before the queue moves it to its DLQ. */
  maxReceives: 5,
  /**
   * A follow-up is queued before its RetryBuildBatch call, so a kill right
   * after the call cannot lose it; if the batch still shows the failure
   * this long after, the call was never made (or was refused) and the
   * follow-up ends.
   */
  followUnchangedSeconds: 900,
} as const;

/** The `source` of the batch-level events the service publishes. */
export const EVENT_SOURCE = SERVICE_NAME;

/** The `detail-type` of each batch-level event. */
export const BATCH_EVENTS = {
  retryIssued: 'Batch Retry Issued',
  healed: 'Batch Healed',
  failedAgain: 'Batch Failed Again',
  notRetried: 'Batch Not Retried',
  budgetExhausted: 'Batch Retry Budget Exhausted',
  circuitOpened: 'Project Circuit Opened',
  circuitClosed: 'Project Circuit Closed',
} as const;

/** A batch-level event's `detail-type`. */
export type BatchEventType = (typeof BATCH_EVENTS)[keyof typeof BATCH_EVENTS];

/** What a retried batch did next. */
export const OUTCOMES = ['healed', 'failed-again', 'stopped', 'gone'] as const;

/** An outcome of a retry. */
export type Outcome = (typeof OUTCOMES)[number];

/** The dimension that splits `RetryOutcome` by outcome. */
export const OUTCOME_DIMENSION = 'Outcome';
