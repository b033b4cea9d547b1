import * as z from 'zod/mini';
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
  .check(
    z.regex(
      /^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/,
      'is not a CodeBuild project name',
    ),
  );

const intIn = (min: number, max: number) =>
  z.pipe(
    z
      .string()
      .check(
        z.regex(/^\s*\d+\s*$/, `must be a whole number from ${min} to ${max}`),
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
  );

// zod/mini rather than zod's classic API: the same validation at a fraction
// of the bundle size, which the function pays for on every cold start.
const schema = z.object({
  [ENV.tableName]: z
    .string({ error: 'must name the DynamoDB table' })
    .check(z.minLength(1, 'must name the DynamoDB table')),
  [ENV.maxRetries]: z._default(intIn(0, 10), 2),
  [ENV.retryType]: z._default(
    z.enum(RETRY_TYPES, { error: `must be one of ${RETRY_TYPES.join(', ')}` }),
    'RETRY_FAILED_BUILDS',
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
      z.enum(['true', 'false'], { error: 'must be "true" or "false"' }),
      z.transform((flag: 'true' | 'false') => flag === 'true'),
    ),
    false,
  ),
  [ENV.lookbackHours]: z._default(intIn(1, 168), 24),
  [ENV.sweepIntervalMinutes]: z._default(intIn(1, 60), 5),
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
