/**
 * The emulated AWS services, both on 127.0.0.1: the project's CodeBuild
 * emulator (on the simulated clock) and dynalite as DynamoDB.
 */
import { join } from 'node:path';
import { CodeBuildEmulator } from '../test/support/codebuild-emulator.js';
import {
  type LocalDynaliteServer,
  startDynalite,
  TEST_CREDENTIALS,
} from '../test/support/dynamo.js';
import type { SimClock } from './clock.js';
import { SCRATCH } from './deployment.js';

/** The running services. */
export interface LocalServices {
  readonly emulator: CodeBuildEmulator;
  readonly dynamo: LocalDynaliteServer;
  stop(): Promise<void>;
}

/** The simulated account and region. */
export const REGION = 'eu-west-1';
export const ACCOUNT = '111122223333';

/**
 * Variables every execution environment gets besides the template's: the
 * region and dummy credentials Lambda would provide, and nothing that lets
 * the SDK read the machine's own AWS configuration.
 */
export const AWS_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  AWS_REGION: REGION,
  AWS_DEFAULT_REGION: REGION,
  AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
  AWS_SESSION_TOKEN: 'local-session',
  AWS_CONFIG_FILE: join(SCRATCH, 'sim', 'no-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(SCRATCH, 'sim', 'no-aws-credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  HOME: join(SCRATCH, 'home'),
  PATH: process.env.PATH ?? '/usr/bin:/bin',
};

/** Starts CodeBuild (on `clock`) and DynamoDB. */
export async function startLocalServices(
  clock: SimClock,
): Promise<LocalServices> {
  const [emulator, dynamo] = await Promise.all([
    CodeBuildEmulator.start({
      now: clock.now,
      region: REGION,
      account: ACCOUNT,
    }),
    startDynalite(),
  ]);
  return {
    emulator,
    dynamo,
    async stop() {
      await Promise.all([emulator.stop(), dynamo.stop()]);
    },
  };
}
