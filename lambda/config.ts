import * as z from 'zod/mini';
import {
  BOOLEAN_VALUES,
  ENV,
  FAILURE_CLASSES,
  type FailureClass,
  MAX_PROJECT_NAMES,
  type NumberSetting,
  PROJECT_NAME_PATTERN,
  RETRY_TYPES,
  type RetryType,
  SETTINGS,
} from './contract.js';
import { InvalidConfigError } from './errors.js';

const projectName = z
  .string()
  .check(
    z.regex(
      new RegExp(PROJECT_NAME_PATTERN),
      'is not a CodeBuild project name',
    ),
  );

const wholeNumber = ({ min, max, default: fallback }: NumberSetting) =>
  z._default(
    z.pipe(
      z
        .string()
        .check(
          z.regex(
            /^\s*\d+\s*$/,
            `must be a whole number from ${min} to ${max}`,
          ),
        ),
      z.pipe(
        z.transform((raw: string) => Number(raw.trim())),
        z
          .number()
          .check(
            z.gte(min, `must be at least ${min}`),
            z.lte(max, `must be at most ${max}`),
          ),
      ),
    ),
    fallback,
  );

/** A comma-separated list, trimmed, empty items dropped. */
const commaList = z.transform((raw: string) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0),
);

const exitCode = ({ min, max } = SETTINGS.retryExitCodes) =>
  z.pipe(
    z
      .string()
      .check(z.regex(/^\d+$/, `must list whole numbers from ${min} to ${max}`)),
    z.pipe(
      z.transform(Number),
      z
        .number()
        .check(
          z.gte(min, `must list whole numbers from ${min} to ${max}`),
          z.lte(max, `must list whole numbers from ${min} to ${max}`),
        ),
    ),
  );

const retryPattern = z.pipe(
  z
    .string()
    .check(
      z.maxLength(
        SETTINGS.retryPatterns.maxLength,
        `must be at most ${SETTINGS.retryPatterns.maxLength} characters`,
      ),
    ),
  z.transform((source: string, ctx) => {
    try {
      return new RegExp(source);
    } catch (error) {
      ctx.issues.push({
        code: 'custom',
        input: source,
        message: `is not a JavaScript regular expression (${(error as Error).message})`,
      });
      return z.NEVER;
    }
  }),
);

// zod/mini rather than zod's classic API: the same validation at a fraction
// of the bundle size, which the function pays for on every cold start.
const schema = z.object({
  [ENV.tableName]: z
    .string({ error: 'must name the DynamoDB table' })
    .check(z.minLength(1, 'must name the DynamoDB table')),
  [ENV.maxRetries]: wholeNumber(SETTINGS.maxRetries),
  [ENV.retryType]: z._default(
    z.enum(RETRY_TYPES, { error: `must be one of ${RETRY_TYPES.join(', ')}` }),
    SETTINGS.retryType.default,
  ),
  [ENV.projectNames]: z._default(
    z.pipe(
      z.string(),
      z.pipe(
        z.transform((raw: string) =>
          raw
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name.length > 0),
        ),
        z
          .array(projectName)
          .check(
            z.maxLength(
              MAX_PROJECT_NAMES,
              `must list at most ${MAX_PROJECT_NAMES} projects`,
            ),
          ),
      ),
    ),
    [],
  ),
  [ENV.dryRun]: z._default(
    z.pipe(
      z.enum(BOOLEAN_VALUES, { error: 'must be "true" or "false"' }),
      z.transform((flag: 'true' | 'false') => flag === 'true'),
    ),
    (SETTINGS.dryRun.default as string) === 'true',
  ),
  [ENV.lookbackHours]: wholeNumber(SETTINGS.lookbackHours),
  [ENV.retryOn]: z._default(
    z.pipe(
      z.string(),
      z.pipe(
        commaList,
        z.array(
          z.enum(FAILURE_CLASSES, {
            error: `must list classes from ${FAILURE_CLASSES.join(', ')}`,
          }),
        ),
      ),
    ),
    [...SETTINGS.retryOn.default],
  ),
  [ENV.retryExitCodes]: z._default(
    z.pipe(z.string(), z.pipe(commaList, z.array(exitCode()))),
    [...SETTINGS.retryExitCodes.default],
  ),
  [ENV.retryPatterns]: z.optional(retryPattern),
  [ENV.logTailLines]: wholeNumber(SETTINGS.logTailLines),
  [ENV.retryDelaySeconds]: wholeNumber(SETTINGS.retryDelaySeconds),
  [ENV.historyDays]: wholeNumber(SETTINGS.historyDays),
  [ENV.circuitBreakerThreshold]: wholeNumber(SETTINGS.circuitBreakerThreshold),
  [ENV.circuitBreakerCooldownMinutes]: wholeNumber(
    SETTINGS.circuitBreakerCooldownMinutes,
  ),
  [ENV.eventBusName]: z._default(
    z
      .string()
      .check(
        z.regex(
          /^[\w.\-/:]{1,256}$/,
          'must be an EventBridge event bus name or ARN',
        ),
      ),
    SETTINGS.eventBusName.default,
  ),
  [ENV.recheckQueueUrl]: z.optional(
    z.string().check(z.regex(/^https?:\/\/\S+$/, 'must be an SQS queue URL')),
  ),
});

/** The variables {@link loadConfig} reads (the Powertools ones are not). */
const READ = Object.keys(schema.shape);

/** The function's validated configuration. */
export interface Config {
  /** DynamoDB table holding retry budgets, watches and idempotency records. */
  readonly tableName: string;
  /** Retries allowed per batch; 0 observes without retrying. */
  readonly maxRetries: number;
  /** Passed to RetryBuildBatch. */
  readonly retryType: RetryType;
  /** Projects in scope; empty means every project. */
  readonly projectNames: readonly string[];
  /** Decide and log, never call RetryBuildBatch. */
  readonly dryRun: boolean;
  /** The sweep ignores batches that ended longer ago than this. */
  readonly lookbackHours: number;
  /** Failure classes that may be retried (a project tag may override). */
  readonly retryOn: readonly FailureClass[];
  /** Exit codes that make a failed command `transient`. */
  readonly retryExitCodes: readonly number[];
  /** An extra transient signature over context messages and log tails. */
  readonly retryPattern?: RegExp;
  /** Log lines to read when a failed command is not decided otherwise. */
  readonly logTailLines: number;
  /** Delay before a retry, doubled per attempt (a project tag may override). */
  readonly retryDelaySeconds: number;
  /**
   * The re-check queue: settling batches are re-read and delayed retries
   * made through it. Without it only the sweep re-reads batches.
   */
  readonly recheckQueueUrl?: string;
  /** Days an outcome history item is kept. */
  readonly historyDays: number;
  /** The event bus batch-level events go to. */
  readonly eventBusName: string;
  /** Consecutive failed-again retries that open a project's circuit; 0 never. */
  readonly circuitBreakerThreshold: number;
  /** How long an open circuit holds retries back before one probe. */
  readonly circuitBreakerCooldownMinutes: number;
}

/**
 * Validates the function's configuration from environment variables.
 *
 * Throws {@link InvalidConfigError} naming every bad setting, so a broken
 * deployment fails at cold start instead of misbehaving later.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty value means "not set" (PROJECT_NAMES is empty for "all").
  const present = Object.fromEntries(
    READ.filter((name) => env[name] !== undefined && env[name] !== '').map(
      (name) => [name, env[name]],
    ),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${String(issue.path[0] ?? 'config')} ${issue.message}`,
    );
    throw new InvalidConfigError([...new Set(problems)]);
  }
  const c = result.data;
  if (c[ENV.retryDelaySeconds] > 0 && !c[ENV.recheckQueueUrl]) {
    throw new InvalidConfigError([
      `${ENV.retryDelaySeconds} needs ${ENV.recheckQueueUrl}: delayed retries wait on the re-check queue`,
    ]);
  }
  return Object.freeze({
    tableName: c[ENV.tableName],
    maxRetries: c[ENV.maxRetries],
    retryType: c[ENV.retryType],
    projectNames: Object.freeze([...new Set(c[ENV.projectNames])]),
    dryRun: c[ENV.dryRun],
    lookbackHours: c[ENV.lookbackHours],
    retryOn: Object.freeze([...new Set(c[ENV.retryOn])]),
    retryExitCodes: Object.freeze([...new Set(c[ENV.retryExitCodes])]),
    ...(c[ENV.retryPatterns] ? { retryPattern: c[ENV.retryPatterns] } : {}),
    logTailLines: c[ENV.logTailLines],
    retryDelaySeconds: c[ENV.retryDelaySeconds],
    historyDays: c[ENV.historyDays],
    eventBusName: c[ENV.eventBusName],
    circuitBreakerThreshold: c[ENV.circuitBreakerThreshold],
    circuitBreakerCooldownMinutes: c[ENV.circuitBreakerCooldownMinutes],
    ...(c[ENV.recheckQueueUrl]
      ? { recheckQueueUrl: c[ENV.recheckQueueUrl] }
      : {}),
  });
}
