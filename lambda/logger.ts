import { Logger } from '@aws-lambda-powertools/logger';
import { isRoutineSkip } from './decision.js';

/** Service name on every log line and metric. */
export const SERVICE_NAME = 'codebuild-batch-retry';

/**
 * The one logger. Level comes from POWERTOOLS_LOG_LEVEL (the stack's
 * LogLevel parameter). Raw events are never passed to it.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/**
 * Logs a skip: at DEBUG when the reason is routine, at INFO otherwise
 * (see `isRoutineSkip`). `attributes` carries the decision and reason.
 *
 * @example
 * logSkip('Ignored build', { buildArn, decision: 'skip', reason });
 */
export function logSkip(
  message: string,
  attributes: { readonly reason: string } & Record<string, unknown>,
): void {
  if (isRoutineSkip(attributes.reason)) logger.debug(message, attributes);
  else logger.info(message, attributes);
}
