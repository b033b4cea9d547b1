import type { Config } from './config.js';
import {
  BOOLEAN_VALUES,
  FAILURE_CLASSES,
  type FailureClass,
  PROJECT_TAGS,
  RETRY_TYPES,
  type RetryType,
  SETTINGS,
} from './contract.js';

/** The retry policy of one project: the stack's, overridden by its tags. */
export interface ProjectPolicy {
  /** False when the project opted out with its `enabled` tag. */
  readonly enabled: boolean;
  readonly maxRetries: number;
  readonly retryOn: readonly FailureClass[];
  readonly retryType: RetryType;
  /** Delay before the first retry, doubled per attempt; 0 retries at once. */
  readonly retryDelaySeconds: number;
}

/** A project tag whose value was ignored, and why. */
export interface TagProblem {
  readonly tag: string;
  readonly problem: string;
}

type Parsed<T> = { readonly value: T } | { readonly problem: string };

/**
 * The stack's policy, before any project tag.
 *
 * @example
 * stackPolicy(config).maxRetries; // MaxRetries
 */
export function stackPolicy(config: Config): ProjectPolicy {
  return {
    enabled: true,
    maxRetries: config.maxRetries,
    retryOn: config.retryOn,
    retryType: config.retryType,
    retryDelaySeconds: config.retryDelaySeconds,
  };
}

/**
 * A project's policy from its tags (key → value). An invalid value is
 * reported as a problem and the stack's setting applies instead: a typo in
 * one project's tag must not stop its retries or fail the invocation.
 *
 * @example
 * projectPolicy(config, { 'codebuild-batch-retry:max-retries': '5' });
 */
export function projectPolicy(
  config: Config,
  tags: Readonly<Record<string, string>>,
): { readonly policy: ProjectPolicy; readonly problems: TagProblem[] } {
  const problems: TagProblem[] = [];
  const read = <T>(
    tag: string,
    parse: (raw: string) => Parsed<T>,
    fallback: T,
  ): T => {
    const raw = tags[tag];
    if (raw === undefined) return fallback;
    const parsed = parse(raw.trim());
    if ('value' in parsed) return parsed.value;
    problems.push({ tag, problem: parsed.problem });
    return fallback;
  };
  const base = stackPolicy(config);
  const policy: ProjectPolicy = {
    enabled: read(PROJECT_TAGS.enabled, parseEnabled, base.enabled),
    maxRetries: read(PROJECT_TAGS.maxRetries, parseMaxRetries, base.maxRetries),
    retryOn: read(PROJECT_TAGS.retryOn, parseRetryOn, base.retryOn),
    retryType: read(PROJECT_TAGS.retryType, parseRetryType, base.retryType),
    retryDelaySeconds: read(
      PROJECT_TAGS.retryDelaySeconds,
      parseRetryDelay,
      base.retryDelaySeconds,
    ),
  };
  return { policy, problems };
}

function parseEnabled(raw: string): Parsed<boolean> {
  return (BOOLEAN_VALUES as readonly string[]).includes(raw)
    ? { value: raw === 'true' }
    : { problem: 'must be "true" or "false"' };
}

const wholeNumber =
  ({ min, max }: { readonly min: number; readonly max: number }) =>
  (raw: string): Parsed<number> => {
    const value = Number(raw);
    return /^\d+$/.test(raw) && value >= min && value <= max
      ? { value }
      : { problem: `must be a whole number from ${min} to ${max}` };
  };
const parseMaxRetries = wholeNumber(SETTINGS.maxRetries);
const parseRetryDelay = wholeNumber(SETTINGS.retryDelaySeconds);

function parseRetryOn(raw: string): Parsed<readonly FailureClass[]> {
  const items = raw.split(/\s+/).filter((item) => item.length > 0);
  const known = (item: string): item is FailureClass =>
    (FAILURE_CLASSES as readonly string[]).includes(item);
  return items.length > 0 && items.every(known)
    ? { value: [...new Set(items)] as FailureClass[] }
    : {
        problem: `must list classes from ${FAILURE_CLASSES.join(' ')}, space-separated`,
      };
}

function parseRetryType(raw: string): Parsed<RetryType> {
  return (RETRY_TYPES as readonly string[]).includes(raw)
    ? { value: raw as RetryType }
    : { problem: `must be one of ${RETRY_TYPES.join(', ')}` };
}
