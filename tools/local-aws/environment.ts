import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The gitignored folder every local run writes into (never `~`). */
export const SCRATCH = join(PROJECT_ROOT, '.scratch');

/** HOME of every local run: aws-cdk-lib's cache, no `~/.aws` files. */
export const SCRATCH_HOME = join(SCRATCH, 'home');

/** The local account and region. */
export const REGION = 'eu-west-1';
export const ACCOUNT = '111122223333';

/** Credentials the local servers accept (they do not check signatures). */
export const CREDENTIALS = {
  accessKeyId: 'AKIDLOCAL',
  secretAccessKey: 'local-secret',
  sessionToken: 'local-session',
} as const;

/** Where the SDK finds the local services. */
export interface Endpoints {
  readonly codebuild: string;
  readonly logs: string;
  readonly dynamodb: string;
  readonly events: string;
  readonly sqs: string;
}

/**
 * The variables a function gets on local AWS besides its template's: the
 * region and dummy credentials Lambda would provide, the SDK's standard
 * `AWS_ENDPOINT_URL_*` variables (when `endpoints` is given), and nothing
 * that lets the SDK read the machine's own AWS configuration.
 *
 * @example
 * const env = { ...fn.environment, ...functionEnvironment(aws.endpoints) };
 */
export function functionEnvironment(
  endpoints?: Endpoints,
): Record<string, string> {
  return {
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: CREDENTIALS.sessionToken,
    AWS_CONFIG_FILE: join(SCRATCH, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(SCRATCH, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // Node 20 here; Lambda's runtime is newer and prints no such warning.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    HOME: SCRATCH_HOME,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...(endpoints && {
      AWS_ENDPOINT_URL_CODEBUILD: endpoints.codebuild,
      // From the client's serviceId, "CloudWatch Logs".
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoints.logs,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      // From the client's serviceId, "EventBridge".
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.events,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    }),
  };
}
