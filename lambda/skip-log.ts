import { isRoutineSkip, type SkipReason } from './decision.js';
import { logger } from './logger.js';
import { countSkip } from './metrics.js';

/**
 * Logs a skip and counts it in `Skipped`. Routine skips (see
 * `isRoutineSkip`) are logged at DEBUG, the rest at INFO.
 *
 * @example
 * recordSkip('Ignored build', 'standalone-build', { buildArn });
 */
export function recordSkip(
  message: string,
  reason: SkipReason,
  attributes: Record<string, unknown>,
): void {
  const line = { ...attributes, decision: 'skip', reason };
  if (isRoutineSkip(reason)) logger.debug(message, line);
  else logger.info(message, line);
  countSkip(reason);
}
