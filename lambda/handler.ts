import { loadConfig } from './config.js';
import { createHandler } from './create-handler.js';

/**
 * The Lambda entry point. Configuration is validated at cold start, so a bad
 * setting fails every invocation loudly (and lands in the dead-letter queue)
 * instead of retrying with wrong values.
 */
export const handler = createHandler(loadConfig(process.env));
