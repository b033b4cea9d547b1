import { Token } from 'aws-cdk-lib';
import {
  type ChoiceSetting,
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
