import type { BuildPhaseType } from '@aws-sdk/client-codebuild';

/**
 * Where and how a build failed, as CodeBuild reports it: the first failed
 * phase, its context, and what the build's own commands printed (`log`).
 */
export type BuildFailure = {
  readonly phase: BuildPhaseType;
  readonly statusCode: string;
  readonly message: string;
  readonly log?: readonly string[];
};

const command = (cmd: string, exit: number) =>
  `Error while executing command: ${cmd}. Reason: exit status ${exit}`;
const unablePull = `Unable to pull customer's container image. CannotPullContainerError: Error response from daemon:`;

/**
 * Failures seen in the wild, by name: the same status code can mean a
 * transient or a permanent cause, only the message (or the log) tells.
 */
export const FAILURES = deepFreeze({
  testFailure: {
    phase: 'BUILD',
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: command('npm test', 1),
    log: [
      '> web-app@1.0.0 test',
      '> jest --ci',
      'FAIL src/checkout.test.ts',
      '  ● checkout › applies the discount code',
      '    Expected: 90',
      '    Received: 100',
      'Tests:       1 failed, 41 passed, 42 total',
    ],
  },
  outOfMemory: {
    phase: 'BUILD',
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: command('npm test', 137),
    log: [
      '> web-app@1.0.0 test',
      '> jest --ci',
      'PASS src/cart.test.ts',
      'Killed',
    ],
  },
  networkInLog: {
    phase: 'BUILD',
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: command('npm ci', 1),
    log: [
      'npm ERR! code EAI_AGAIN',
      'npm ERR! network request to https://registry.npmjs.org/jest failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org',
      'npm ERR! A complete log of this run can be found in: /root/.npm/_logs/2026-11-20T09_40_58_123Z-debug-0.log',
    ],
  },
  pullRateLimit: {
    phase: 'PROVISIONING',
    statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
    message: `${unablePull} toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit`,
  },
  missingImage: {
    phase: 'PROVISIONING',
    statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
    message: `${unablePull} pull access denied for example/web-app-build, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
  },
  containerDead: {
    phase: 'PROVISIONING',
    statusCode: 'CLIENT_ERROR',
    message:
      'Build container found dead before completing the build. Build container died because it was out of memory, or the Docker image is not supported. ErrorCode: 500',
  },
  vpcError: {
    phase: 'PROVISIONING',
    statusCode: 'VPC_CLIENT_ERROR',
    message: 'Unexpected EC2 error: UnauthorizedOperation',
  },
  insufficientSubnet: {
    phase: 'QUEUED',
    statusCode: 'INSUFFICIENT_SUBNET',
    message:
      'Build failed to start. The subnet subnet-0a1b2c3d4e5f60718 has insufficient free IP addresses.',
  },
  brokenBuildspec: {
    phase: 'DOWNLOAD_SOURCE',
    statusCode: 'YAML_FILE_ERROR',
    message: 'YAML file does not exist',
  },
  sourceUnavailable: {
    phase: 'DOWNLOAD_SOURCE',
    statusCode: 'CLIENT_ERROR',
    message:
      'error while downloading source: GitHub responded 503 Service Unavailable for https://github.com/example/web-app.git, please try again later',
  },
  sourceMissing: {
    phase: 'DOWNLOAD_SOURCE',
    statusCode: 'CLIENT_ERROR',
    message:
      'repository not found for primary source and source version refs/heads/main',
  },
  noArtifacts: {
    phase: 'UPLOAD_ARTIFACTS',
    statusCode: 'CLIENT_ERROR',
    message: 'no matching artifact paths found',
    log: [
      'Expanding base directory path: dist',
      'Assembling file list',
      'Expanding dist',
      'Skipping invalid file path dist',
    ],
  },
} satisfies Record<string, BuildFailure>);

/** The name of a preset in {@link FAILURES}. */
export type FailureName = keyof typeof FAILURES;

function deepFreeze<T extends object>(table: T): Readonly<T> {
  for (const value of Object.values(table)) {
    if (typeof value === 'object' && value !== null) deepFreeze(value);
  }
  return Object.freeze(table);
}
