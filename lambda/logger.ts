import { Logger } from '@aws-lambda-powertools/logger';

/** Service name on every log line and metric. */
export const SERVICE_NAME = 'codebuild-batch-retry';

/**
 * The one logger. Level comes from POWERTOOLS_LOG_LEVEL (the stack's
 * LogLevel parameter). Raw events are never passed to it.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });
