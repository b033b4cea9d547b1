import { z } from 'zod';
import { InvalidConfigError } from './errors.js';

/**
 * The environment variables the function reads, in one place. The stack sets
 * each of them from a CloudFormation parameter or a resource reference.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  maxRetries: 'MAX_RETRIES',
  retryType: 'RETRY_TYPE',
  projectNames: 'PROJECT_NAMES',
  dryRun: 'DRY_RUN',
  lookbackHours: 'LOOKBACK_HOURS',
  sweepIntervalMinutes: 'SWEEP_INTERVAL_MINUTES',
} as const;

/** The values RetryBuildBatch accepts for `retryType`. */
export const RETRY_TYPES = ['RETRY_FAILED_BUILDS', 'RETRY_ALL_BUILDS'] as const;

/**
 * How many project names the stack can scope IAM to when `ProjectNames` is a
 * CloudFormation list parameter. CloudFormation cannot map over a list and
 * `Fn::Join`'s delimiter must be a literal, so project ARNs are built slot by
 * slot with `Fn::Select`; names beyond this many would get no permissions,
 * so the function refuses them at cold start.
 */
export const MAX_PROJECT_NAMES = 20;

/** A CodeBuild project name: 2-255 characters, letters, digits, `-` and `_`. */
const projectName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/,
    'is not a CodeBuild project name',
  );

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    );

const schema = z.object({
  [ENV.tableName]: z.string().trim().min(1, 'must name the DynamoDB table'),
  [ENV.maxRetries]: intIn(0, 10).default(2),
  [ENV.retryType]: z.enum(RETRY_TYPES).default('RETRY_FAILED_BUILDS'),
  [ENV.projectNames]: z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name.length > 0),
    )
    .pipe(
      z
        .array(projectName)
        .max(
          MAX_PROJECT_NAMES,
          `must list at most ${MAX_PROJECT_NAMES} projects`,
        ),
    ),
  [ENV.dryRun]: z
    .enum(['true', 'false'], { message: 'must be "true" or "false"' })
    .default('false')
    .transform((flag) => flag === 'true'),
  [ENV.lookbackHours]: intIn(1, 168).default(24),
  [ENV.sweepIntervalMinutes]: intIn(1, 60).default(5),
});

/** The function's validated configuration. */
export interface Config {
  /** DynamoDB table holding retry budgets, watches and idempotency records. */
  readonly tableName: string;
  /** Retries allowed per batch; 0 observes without retrying. */
  readonly maxRetries: number;
  /** Passed to RetryBuildBatch. */
  readonly retryType: (typeof RETRY_TYPES)[number];
  /** Projects in scope; empty means every project. */
  readonly projectNames: readonly string[];
  /** Decide and log, never call RetryBuildBatch. */
  readonly dryRun: boolean;
  /** The sweep ignores batches that ended longer ago than this. */
  readonly lookbackHours: number;
  /** How often the sweep runs; bounds how long a watched batch waits. */
  readonly sweepIntervalMinutes: number;
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
  const present = Object.fromEntries(
    Object.values(ENV)
      .filter((name) => env[name] !== undefined && env[name] !== '')
      .map((name) => [name, env[name]]),
  );
  // PROJECT_NAMES may legitimately be empty: an empty list means "all".
  const result = schema.safeParse(present);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${String(issue.path[0] ?? 'config')} ${issue.message}`,
    );
    throw new InvalidConfigError(problems);
  }
  const c = result.data;
  return Object.freeze({
    tableName: c[ENV.tableName],
    maxRetries: c[ENV.maxRetries],
    retryType: c[ENV.retryType],
    projectNames: Object.freeze([...new Set(c[ENV.projectNames])]),
    dryRun: c[ENV.dryRun],
    lookbackHours: c[ENV.lookbackHours],
    sweepIntervalMinutes: c[ENV.sweepIntervalMinutes],
  });
}
