import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './contract.js';

/**
 * The one logger. Level comes from POWERTOOLS_LOG_LEVEL (the stack's
 * LogLevel parameter). Raw events are never passed to it.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });
