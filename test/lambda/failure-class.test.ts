import { describe, expect, it } from 'vitest';
import type { BuildView, FailedGroup, PhaseView } from '../../lambda/batch.js';
import { FAILURE_CLASSES } from '../../lambda/contract.js';
import {
  type Classification,
  type ClassifierPolicy,
  classifyBatchPhases,
  classifyBuild,
  exitCodeOf,
  isFailedPhase,
} from '../../lambda/failure-class.js';

const policy: ClassifierPolicy = { retryExitCodes: [137] };
const group: FailedGroup = {
  identifier: 'linux_x86',
  buildArn: 'arn:aws:codebuild:eu-west-1:111122223333:build/web:4b1d',
  buildStatus: 'FAILED',
};
const logs = { groupName: '/aws/codebuild/web', streamName: '4b1d' };

const ORDER = [
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'DOWNLOAD_SOURCE',
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
  'COMPLETED',
];

/** A failed phase: its status, then its one context's code and message. */
type Failure = readonly [
  status?: string,
  statusCode?: string,
  message?: string,
];

/**
 * A build's phases as BatchGetBuilds reports them: every phase up to the
 * first failure succeeded, later phases appear only if listed (POST_BUILD
 * and UPLOAD_ARTIFACTS still run after BUILD fails), and FINALIZING and
 * COMPLETED (which has no status) close the list.
 */
function phasesOf(failures: Record<string, Failure>): PhaseView[] {
  const first = ORDER.findIndex((type) => type in failures);
  return ORDER.filter(
    (type, i) =>
      first < 0 ||
      i <= first ||
      type in failures ||
      type === 'FINALIZING' ||
      type === 'COMPLETED',
  ).map((type): PhaseView => {
    if (type === 'COMPLETED') return { type, contexts: [] };
    const failure = failures[type];
    if (!failure) return { type, status: 'SUCCEEDED', contexts: [{}] };
    const [status, statusCode, message] = failure;
    return {
      type,
      ...(status ? { status } : {}),
      contexts: [
        {
          ...(statusCode ? { statusCode } : {}),
          ...(message ? { message } : {}),
        },
      ],
    };
  });
}

function build(
  status: string,
  failures: Record<string, Failure>,
  withLogs = true,
): BuildView {
  return {
    arn: group.buildArn ?? '',
    status,
    phases: phasesOf(failures),
    ...(withLogs ? { logs } : {}),
  };
}

const command = (cmd: string, code: number): Failure => [
  'FAILED',
  'COMMAND_EXECUTION_ERROR',
  `Error while executing command: ${cmd}. Reason: exit status ${code}`,
];

const RATE_LIMIT =
  'CannotPullContainerError: Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit';

interface Row {
  readonly name: string;
  readonly build: BuildView | undefined;
  readonly expected: Omit<Classification, 'identifier'>;
  readonly tail?: readonly string[];
  readonly policy?: ClassifierPolicy;
}

const rows: readonly Row[] = [
  // configuration
  {
    name: 'YAML_FILE_ERROR in DOWNLOAD_SOURCE',
    build: build('FAILED', {
      DOWNLOAD_SOURCE: [
        'FAILED',
        'YAML_FILE_ERROR',
        'Phase context status code: YAML_FILE_ERROR Message: wrong number of container tags, expected 1',
      ],
    }),
    expected: {
      class: 'configuration',
      phase: 'DOWNLOAD_SOURCE',
      statusCode: 'YAML_FILE_ERROR',
    },
  },
  {
    name: 'a missing buildspec',
    build: build('FAILED', {
      DOWNLOAD_SOURCE: [
        'CLIENT_ERROR',
        'YAML_FILE_ERROR',
        'stat /codebuild/output/src2913/src/buildspec.yml: no such file or directory',
      ],
    }),
    expected: {
      class: 'configuration',
      phase: 'DOWNLOAD_SOURCE',
      statusCode: 'YAML_FILE_ERROR',
    },
  },
  {
    name: 'VPC_CLIENT_ERROR in PROVISIONING (not infrastructure)',
    build: build(
      'FAILED',
      {
        PROVISIONING: [
          'FAILED',
          'VPC_CLIENT_ERROR',
          'Unexpected EC2 error: UnauthorizedOperation',
        ],
      },
      false,
    ),
    expected: {
      class: 'configuration',
      phase: 'PROVISIONING',
      statusCode: 'VPC_CLIENT_ERROR',
    },
  },
  {
    name: 'an image that does not exist',
    build: build(
      'FAILED',
      {
        PROVISIONING: [
          'FAILED',
          'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
          "Unable to pull customer's container image. CannotPullContainerError: Error response from daemon: pull access denied for acme/builder, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
        ],
      },
      false,
    ),
    expected: {
      class: 'configuration',
      phase: 'PROVISIONING',
      statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
    },
  },
  {
    name: 'an image tag that does not exist, in a FAULT build',
    build: build(
      'FAULT',
      {
        PROVISIONING: [
          'FAULT',
          'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
          'CannotPullContainerError: Error response from daemon: manifest for 111122223333.dkr.ecr.eu-west-1.amazonaws.com/builder:v9 not found: manifest unknown: Requested image not found',
        ],
      },
      false,
    ),
    expected: {
      class: 'configuration',
      phase: 'PROVISIONING',
      statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
    },
  },
  {
    name: 'an ECR image the service role may not pull',
    build: build(
      'FAILED',
      {
        PROVISIONING: [
          'FAILED',
          'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
          "Unable to pull customer's container image. AccessDeniedException: User: arn:aws:sts::111122223333:assumed-role/codebuild-web-service-role/AWSCodeBuild-4b1d is not authorized to perform: ecr:BatchGetImage",
        ],
      },
      false,
    ),
    expected: {
      class: 'configuration',
      phase: 'PROVISIONING',
      statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
    },
  },
  {
    name: '"no matching artifact paths found" in UPLOAD_ARTIFACTS',
    build: build('FAILED', {
      UPLOAD_ARTIFACTS: [
        'FAILED',
        'CLIENT_ERROR',
        'no matching artifact paths found',
      ],
    }),
    expected: {
      class: 'configuration',
      phase: 'UPLOAD_ARTIFACTS',
      statusCode: 'CLIENT_ERROR',
    },
  },
  {
    name: 'a TIMED_OUT build with a YAML error (configuration comes first)',
    build: build('TIMED_OUT', {
      DOWNLOAD_SOURCE: [
        'TIMED_OUT',
        'YAML_FILE_ERROR',
        'YAML_FILE_ERROR: Expected Commands[0] to be of string type: found subkeys instead at line 12',
      ],
    }),
    expected: {
      class: 'configuration',
      phase: 'DOWNLOAD_SOURCE',
      statusCode: 'YAML_FILE_ERROR',
    },
  },
  // timeout
  {
    name: 'a build timeout',
    build: build('TIMED_OUT', {
      BUILD: ['TIMED_OUT', 'BUILD_TIMED_OUT', 'Build has timed out. '],
    }),
    expected: {
      class: 'timeout',
      phase: 'BUILD',
      statusCode: 'BUILD_TIMED_OUT',
    },
  },
  {
    name: 'a queue timeout',
    build: build('TIMED_OUT', { QUEUED: ['TIMED_OUT'] }, false),
    expected: { class: 'timeout', phase: 'QUEUED' },
  },
  // infrastructure
  {
    name: 'a FAULT build with no failed phase',
    build: build('FAULT', {}),
    expected: { class: 'infrastructure' },
  },
  {
    name: 'a FAULT build that failed in BUILD',
    build: build('FAULT', { BUILD: ['FAULT', 'INTERNAL_ERROR'] }),
    expected: {
      class: 'infrastructure',
      phase: 'BUILD',
      statusCode: 'INTERNAL_ERROR',
    },
  },
  {
    name: 'the pull rate limit in PROVISIONING, with its signature',
    build: build(
      'FAILED',
      {
        PROVISIONING: [
          'FAILED',
          'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
          RATE_LIMIT,
        ],
      },
      false,
    ),
    expected: {
      class: 'infrastructure',
      phase: 'PROVISIONING',
      statusCode: 'BUILD_CONTAINER_UNABLE_TO_PULL_IMAGE',
      signature: 'registry-rate-limit',
    },
  },
  {
    name: 'a dead build container in PROVISIONING',
    build: build('FAILED', {
      PROVISIONING: [
        'FAILED',
        undefined,
        'Build container found dead before completing the build. Build container died because it was out of memory, or the Docker image is not supported.',
      ],
    }),
    expected: { class: 'infrastructure', phase: 'PROVISIONING' },
  },
  {
    name: 'INSUFFICIENT_SUBNET in QUEUED',
    build: build(
      'FAILED',
      {
        QUEUED: [
          'FAILED',
          'INSUFFICIENT_SUBNET',
          'Build failed to start. The build is unable to allocate an IP address in subnet-0a1b2c3d.',
        ],
      },
      false,
    ),
    expected: {
      class: 'infrastructure',
      phase: 'QUEUED',
      statusCode: 'INSUFFICIENT_SUBNET',
    },
  },
  {
    name: 'a RETRY phase status in PROVISIONING',
    build: build('FAILED', { PROVISIONING: ['RETRY'] }),
    expected: { class: 'infrastructure', phase: 'PROVISIONING' },
  },
  {
    name: 'an S3 network error in UPLOAD_ARTIFACTS (the log tail is not read)',
    build: build('FAILED', {
      UPLOAD_ARTIFACTS: [
        'FAILED',
        'CLIENT_ERROR',
        'RequestError: send request failed caused by: Put "https://web-artifacts.s3.eu-west-1.amazonaws.com/web/dist.zip": dial tcp 52.218.1.1:443: i/o timeout',
      ],
    }),
    tail: ['fatal: early EOF'],
    expected: {
      class: 'infrastructure',
      phase: 'UPLOAD_ARTIFACTS',
      statusCode: 'CLIENT_ERROR',
      signature: 'network-timeout',
    },
  },
  {
    name: 'a failure in FINALIZING',
    build: build('FAILED', { FINALIZING: ['FAILED', 'CLIENT_ERROR'] }),
    expected: {
      class: 'infrastructure',
      phase: 'FINALIZING',
      statusCode: 'CLIENT_ERROR',
    },
  },
  // source
  {
    name: 'CLIENT_ERROR "try again later" in DOWNLOAD_SOURCE',
    build: build('FAILED', {
      DOWNLOAD_SOURCE: [
        'CLIENT_ERROR',
        'CLIENT_ERROR',
        'authorization failed for primary source and source version 3f2a9c1, please try again later',
      ],
    }),
    expected: {
      class: 'source',
      phase: 'DOWNLOAD_SOURCE',
      statusCode: 'CLIENT_ERROR',
    },
  },
  {
    name: 'a DNS failure in DOWNLOAD_SOURCE, with its signature',
    build: build('FAILED', {
      DOWNLOAD_SOURCE: [
        'FAILED',
        'CLIENT_ERROR',
        "Git clone failed: fatal: unable to access 'https://github.com/acme/web.git/': Could not resolve host: github.com",
      ],
    }),
    expected: {
      class: 'source',
      phase: 'DOWNLOAD_SOURCE',
      statusCode: 'CLIENT_ERROR',
      signature: 'dns',
    },
  },
  // transient
  {
    name: 'exit 137, in RetryExitCodes',
    build: build('FAILED', { BUILD: command('npm run build', 137) }),
    expected: {
      class: 'transient',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 137,
    },
  },
  {
    name: 'exit 1 with a signature in a context message',
    build: {
      ...build('FAILED', {}),
      phases: [
        {
          type: 'PRE_BUILD',
          status: 'FAILED',
          contexts: [
            {
              statusCode: 'COMMAND_EXECUTION_ERROR',
              message:
                'Error while executing command: aws s3 sync s3://web-fixtures fixtures. Reason: exit status 1',
            },
            {
              statusCode: 'CLIENT_ERROR',
              message:
                'RequestError: send request failed caused by: Get "https://web-fixtures.s3.amazonaws.com/": read tcp 10.0.1.5:41922->52.95.1.1:443: read: connection reset by peer',
            },
          ],
        },
      ],
    },
    expected: {
      class: 'transient',
      phase: 'PRE_BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      signature: 'connection-reset',
    },
  },
  {
    name: 'exit 1 with a matching log-tail line',
    build: build('FAILED', { INSTALL: command('npm ci', 1) }),
    tail: [
      'npm ERR! code ECONNRESET',
      'npm ERR! network aborted',
      'npm ERR! A complete log of this run can be found in: /root/.npm/_logs/2026-11-20T09_41_09_000Z-debug-0.log',
    ],
    expected: {
      class: 'transient',
      phase: 'INSTALL',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      signature: 'connection-reset',
    },
  },
  {
    name: 'exit 1 with a log-tail line matching RetryPatterns',
    build: build('FAILED', { BUILD: command('npx playwright test', 1) }),
    policy: { ...policy, retryPattern: /Browser closed unexpectedly/ },
    tail: [
      '  1) [chromium] › checkout.spec.ts:12:5 › pays',
      '    Error: browserType.launch: Browser closed unexpectedly!',
    ],
    expected: {
      class: 'transient',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      signature: 'RetryPatterns',
    },
  },
  {
    name: 'exit 1 with a context message matching RetryPatterns',
    build: build('FAILED', { BUILD: command('./gradlew check', 1) }),
    policy: { ...policy, retryPattern: /gradlew check/ },
    expected: {
      class: 'transient',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      signature: 'RetryPatterns',
    },
  },
  {
    name: 'exit 2, in custom RetryExitCodes',
    build: build('FAILED', { BUILD: command('make test', 2) }),
    policy: { retryExitCodes: [2, 137] },
    expected: {
      class: 'transient',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 2,
    },
  },
  // script
  {
    name: 'exit 1, logs readable and no tail given: reading the tail would help',
    build: build('FAILED', { BUILD: command('mvn test', 1) }),
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      logTailWouldHelp: true,
    },
  },
  {
    name: 'exit 1 with a tail of ordinary test failures',
    build: build('FAILED', { BUILD: command('mvn test', 1) }),
    tail: [
      '[ERROR] Tests run: 42, Failures: 1, Errors: 0, Skipped: 0',
      '[INFO] BUILD FAILURE',
    ],
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
    },
  },
  {
    name: 'exit 1 with an empty tail (read, nothing there)',
    build: build('FAILED', { BUILD: command('npm test', 1) }),
    tail: [],
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
    },
  },
  {
    name: 'exit 1 with no CloudWatch log',
    build: build('FAILED', { BUILD: command('npm test', 1) }, false),
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
    },
  },
  {
    name: 'exit 137 when RetryExitCodes leaves it out',
    build: build('FAILED', { BUILD: command('npm run build', 137) }, false),
    policy: { retryExitCodes: [] },
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 137,
    },
  },
  {
    name: 'BUILD, POST_BUILD and UPLOAD_ARTIFACTS failed: the first counts',
    build: build('FAILED', {
      BUILD: command('npm test', 1),
      POST_BUILD: command('./report.sh', 137),
      UPLOAD_ARTIFACTS: [
        'FAILED',
        'CLIENT_ERROR',
        'no matching artifact paths found',
      ],
    }),
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      logTailWouldHelp: true,
    },
  },
  {
    name: 'a command phase with no status but a failure context',
    build: build('FAILED', {
      BUILD: [
        undefined,
        'COMMAND_EXECUTION_ERROR',
        'Error while executing command: go test ./.... Reason: exit status 1',
      ],
    }),
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
      logTailWouldHelp: true,
    },
  },
  {
    name: 'a failed command whose text reads like a configuration error',
    build: build(
      'FAILED',
      { BUILD: command('./scripts/lint-specs.sh "invalid buildspec"', 1) },
      false,
    ),
    expected: {
      class: 'script',
      phase: 'BUILD',
      statusCode: 'COMMAND_EXECUTION_ERROR',
      exitCode: 1,
    },
  },
  // unknown
  {
    name: 'a build CodeBuild no longer knows',
    build: undefined,
    expected: { class: 'unknown' },
  },
  {
    name: 'a FAILED build with no failed phase',
    build: build('FAILED', {}),
    expected: { class: 'unknown' },
  },
  {
    name: 'a failed phase of an unexpected type',
    build: {
      ...build('FAILED', {}),
      phases: [
        { type: 'SUBMITTED', status: 'SUCCEEDED', contexts: [] },
        { type: 'WARMING_UP', status: 'FAILED', contexts: [] },
      ],
    },
    expected: { class: 'unknown', phase: 'WARMING_UP' },
  },
];

describe('classifyBuild', () => {
  it.each(rows)('$name: $expected.class', (row) => {
    expect(
      classifyBuild(group, row.build, row.policy ?? policy, row.tail),
    ).toStrictEqual({ identifier: group.identifier, ...row.expected });
  });

  it('covers every class', () => {
    const classes = new Set(rows.map((row) => row.expected.class));
    expect([...classes].sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it('marks logTailWouldHelp only on script with logs and no tail', () => {
    for (const row of rows) {
      const wouldHelp =
        row.expected.class === 'script' &&
        row.build?.logs !== undefined &&
        row.tail === undefined;
      expect(row.expected.logTailWouldHelp === true).toBe(wouldHelp);
    }
  });

  it('leaves a global RetryPatterns RegExp usable call after call', () => {
    const retryPattern = /Browser closed unexpectedly/g;
    const flaky = build('FAILED', { BUILD: command('npx playwright test', 1) });
    const tail = ['Error: Browser closed unexpectedly!'];
    for (let i = 0; i < 3; i++) {
      expect(
        classifyBuild(group, flaky, { ...policy, retryPattern }, tail)
          .signature,
      ).toBe('RetryPatterns');
    }
    expect(retryPattern.lastIndex).toBe(0);
  });
});

describe('classifyBatchPhases', () => {
  const batchPhases = (batchspec: PhaseView): PhaseView[] => [
    { type: 'SUBMITTED', status: 'SUCCEEDED', contexts: [] },
    batchspec,
    { type: 'FAILED', contexts: [] },
  ];

  it('is configuration for a batch buildspec that does not parse', () => {
    const phases = batchPhases({
      type: 'DOWNLOAD_BATCHSPEC',
      status: 'FAILED',
      contexts: [
        {
          statusCode: 'YAML_FILE_ERROR',
          message: 'YAML_FILE_ERROR: Expected BuildGraph to be of list type',
        },
      ],
    });
    expect(classifyBatchPhases(phases, policy)).toStrictEqual({
      identifier: '',
      class: 'configuration',
      phase: 'DOWNLOAD_BATCHSPEC',
      statusCode: 'YAML_FILE_ERROR',
    });
  });

  it('is unknown for any other batch failure, with what evidence there is', () => {
    const phases = batchPhases({
      type: 'DOWNLOAD_BATCHSPEC',
      status: 'CLIENT_ERROR',
      contexts: [
        {
          statusCode: 'CLIENT_ERROR',
          message:
            "Git clone failed: fatal: unable to access 'https://github.com/acme/web.git/': Could not resolve host: github.com",
        },
      ],
    });
    expect(classifyBatchPhases(phases, policy)).toStrictEqual({
      identifier: '',
      class: 'unknown',
      phase: 'DOWNLOAD_BATCHSPEC',
      statusCode: 'CLIENT_ERROR',
      signature: 'dns',
    });
  });

  it('is unknown with no failed phase at all', () => {
    expect(classifyBatchPhases([], policy)).toStrictEqual({
      identifier: '',
      class: 'unknown',
    });
  });
});

describe('isFailedPhase', () => {
  const phase = (status?: string, statusCode?: string): PhaseView => ({
    type: 'BUILD',
    ...(status ? { status } : {}),
    contexts: statusCode ? [{ statusCode }] : [{}],
  });

  it.each(['FAILED', 'FAULT', 'TIMED_OUT', 'CLIENT_ERROR', 'RETRY', 'STOPPED'])(
    'counts %s as failed',
    (status) => expect(isFailedPhase(phase(status))).toBe(true),
  );

  it('counts SUCCEEDED and IN_PROGRESS as not failed, whatever the context', () => {
    expect(isFailedPhase(phase('SUCCEEDED'))).toBe(false);
    expect(isFailedPhase(phase('IN_PROGRESS', 'COMMAND_EXECUTION_ERROR'))).toBe(
      false,
    );
  });

  it('judges a phase without a status by its contexts', () => {
    expect(isFailedPhase(phase(undefined, 'COMMAND_EXECUTION_ERROR'))).toBe(
      true,
    );
    expect(isFailedPhase(phase())).toBe(false);
    expect(isFailedPhase({ type: 'COMPLETED', contexts: [] })).toBe(false);
  });
});

describe('exitCodeOf', () => {
  it('reads the exit status of the last failed command', () => {
    expect(
      exitCodeOf([
        'Error while executing command: npm test. Reason: exit status 1',
      ]),
    ).toBe(1);
    expect(
      exitCodeOf([
        'Error while executing command: npm test. Reason: exit status 1',
        'Error while executing command: echo "Reason: exit status 9"; ./e2e.sh. Reason: exit status 143',
      ]),
    ).toBe(143);
  });

  it('is undefined without one', () => {
    expect(exitCodeOf(['Build has timed out. '])).toBeUndefined();
    expect(exitCodeOf([])).toBeUndefined();
  });
});
