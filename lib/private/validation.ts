import { Token } from 'aws-cdk-lib';
import {
  type ChoiceSetting,
  EMAIL_PATTERN,
  FAILURE_CLASSES,
  type NumberSetting,
  PROJECT_NAME_PATTERN,
  SETTINGS,
} from '../../lambda/contract.js';
import type { BatchRetryServiceProps } from '../batch-retry-service.js';
import { InvalidPropsError } from '../errors.js';

const RANGES: readonly [keyof BatchRetryServiceProps, NumberSetting][] = [
  ['maxRetries', SETTINGS.maxRetries],
  ['sweepIntervalMinutes', SETTINGS.sweepIntervalMinutes],
  ['lookbackHours', SETTINGS.lookbackHours],
  ['reservedConcurrency', SETTINGS.reservedConcurrency],
  ['logTailLines', SETTINGS.logTailLines],
  ['retryDelaySeconds', SETTINGS.retryDelaySeconds],
  ['historyDays', SETTINGS.historyDays],
  ['circuitBreakerThreshold', SETTINGS.circuitBreakerThreshold],
  ['circuitBreakerCooldownMinutes', SETTINGS.circuitBreakerCooldownMinutes],
];

const CHOICES: readonly [keyof BatchRetryServiceProps, ChoiceSetting][] = [
  ['retryType', SETTINGS.retryType],
  ['logLevel', SETTINGS.logLevel],
  ['dryRun', SETTINGS.dryRun],
];

/**
 * Rejects out-of-range literal props at synth with an
 * {@link InvalidPropsError}; tokens (parameters) are CloudFormation's to
 * check.
 */
export function validateProps(
  props: BatchRetryServiceProps,
  projectNames: string[],
): void {
  for (const [name, { min, max }] of RANGES) {
    const value = props[name];
    if (typeof value !== 'number' || Token.isUnresolved(value)) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidPropsError(
        name,
        `must be a whole number from ${min} to ${max}`,
      );
    }
  }
  for (const [name, { allowed }] of CHOICES) {
    const value = props[name];
    if (value === undefined || typeof value === 'boolean') continue;
    if (Token.isUnresolved(value)) continue;
    if (!allowed.includes(String(value))) {
      throw new InvalidPropsError(name, `must be one of ${allowed.join(', ')}`);
    }
  }
  validateLists(props);
  const email = props.notificationEmail;
  if (
    email !== undefined &&
    email !== '' &&
    !Token.isUnresolved(email) &&
    !new RegExp(EMAIL_PATTERN).test(email)
  ) {
    throw new InvalidPropsError(
      'notificationEmail',
      'must be empty or an email address',
    );
  }
  if (!Token.isUnresolved(projectNames)) {
    const pattern = new RegExp(PROJECT_NAME_PATTERN);
    const bad = projectNames.filter(
      (name) => !Token.isUnresolved(name) && !pattern.test(name),
    );
    if (bad.length > 0) {
      throw new InvalidPropsError(
        'projectNames',
        `has invalid CodeBuild project names: ${bad.join(', ')}`,
      );
    }
  }
}

function validateLists(props: BatchRetryServiceProps): void {
  const literal = <T>(items: T[] | undefined): T[] =>
    items === undefined || Token.isUnresolved(items)
      ? []
      : items.filter((item) => !Token.isUnresolved(item));
  const classes: readonly string[] = FAILURE_CLASSES;
  const unknown = literal(props.retryOn).filter((c) => !classes.includes(c));
  if (unknown.length > 0) {
    throw new InvalidPropsError(
      'retryOn',
      `has unknown failure classes: ${unknown.join(', ')} (allowed: ${classes.join(', ')})`,
    );
  }
  const { min, max } = SETTINGS.retryExitCodes;
  const badCodes = literal(props.retryExitCodes).filter((code) => {
    const n = Number(code);
    return !Number.isInteger(n) || n < min || n > max;
  });
  if (badCodes.length > 0) {
    throw new InvalidPropsError(
      'retryExitCodes',
      `must be whole numbers from ${min} to ${max} (got ${badCodes.join(', ')})`,
    );
  }
  const pattern = props.retryPatterns;
  if (pattern === undefined || Token.isUnresolved(pattern)) return;
  const { maxLength } = SETTINGS.retryPatterns;
  if (pattern.length > maxLength) {
    throw new InvalidPropsError(
      'retryPatterns',
      `must be at most ${maxLength} characters`,
    );
  }
  try {
    new RegExp(pattern);
  } catch (error) {
    throw new InvalidPropsError(
      'retryPatterns',
      `is not a JavaScript regular expression (${(error as Error).message})`,
    );
  }
}
