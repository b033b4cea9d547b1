import { createHash, randomUUID } from 'node:crypto';
import type {
  Build,
  BuildBatch,
  BuildBatchPhase,
  BuildBatchPhaseType,
  BuildPhase,
  BuildPhaseType,
  BuildSummary,
  EnvironmentVariable,
  LogsConfig,
  LogsLocation,
  PhaseContext,
  Project,
  StatusType,
} from '@aws-sdk/client-codebuild';
import {
  DEFAULT_LOG_GROUP_PREFIX,
  type TerminalBuildStatus,
} from '../../../lambda/contract.js';
import type { BuildFailure } from './failures.js';

// The resources' shapes: what responses carry that a caller or an event
// reads, in the SDK's types.

/** A copy of a build as `BatchGetBuilds` returns it through the SDK. */
export type BuildSnapshot = Build &
  Required<
    Pick<
      Build,
      'id' | 'arn' | 'projectName' | 'buildNumber' | 'buildStatus' | 'phases'
    >
  >;

/** A copy of a batch as `BatchGetBuildBatches` returns it through the SDK. */
export type BatchSnapshot = BuildBatch &
  Required<
    Pick<
      BuildBatch,
      | 'id'
      | 'arn'
      | 'projectName'
      | 'buildBatchNumber'
      | 'buildBatchStatus'
      | 'phases'
      | 'buildGroups'
    >
  >;

/** Where resources live. */
export type Location = { readonly region: string; readonly account: string };

/** A project: what its builds and batches carry, and how many it started. */
export type ProjectRecord = ReturnType<typeof projectRecord>;

/** Phase context of a build that ended with each status. */
export const FAILURE_CONTEXT: Record<
  TerminalBuildStatus,
  Required<PhaseContext>
> = {
  SUCCEEDED: { statusCode: '', message: '' },
  // An out-of-memory kill, which a retry may well fix (and the stack's
  // default policy retries): a build told to fail without saying how fails
  // in a way that gets it retried. Failures a retry cannot fix are chosen
  // explicitly (see ./failures.ts).
  FAILED: {
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: 'Error while executing command: npm test. Reason: exit status 137',
  },
  FAULT: { statusCode: 'CLIENT_ERROR', message: 'Internal service error' },
  TIMED_OUT: { statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out.' },
  STOPPED: { statusCode: 'BUILD_STOPPED', message: 'Build was stopped.' },
};

/** A phase that started and ended at `at`. */
export function donePhase<T extends BuildPhase | BuildBatchPhase>(
  phaseType: T['phaseType'],
  at: Date,
  phaseStatus: StatusType = 'SUCCEEDED',
  contexts = [FAILURE_CONTEXT.SUCCEEDED],
): T {
  const done = { startTime: at, endTime: at, durationInSeconds: 0 };
  return { phaseType, phaseStatus, ...done, contexts } as T;
}

/** Ends an open phase at `at` (with `status`, if given). */
export function closePhase(
  phase: BuildPhase | BuildBatchPhase | undefined,
  at: Date,
  status?: StatusType,
): void {
  if (!phase || phase.endTime) return;
  if (status) phase.phaseStatus = status;
  phase.endTime = at;
  const ms = at.getTime() - (phase.startTime ?? at).getTime();
  phase.durationInSeconds = Math.max(0, Math.round(ms / 1000));
}

/** Whether a project's builds log to CloudWatch Logs. */
export type LogsSetting = 'cloudwatch' | 'disabled';

/** A new project, its builds' settings fixed as a typical project's. */
export function projectRecord(
  name: string,
  location: Location,
  at: Date,
  options: {
    readonly environmentVariables?: readonly EnvironmentVariable[];
    readonly logs?: LogsSetting;
    readonly tags?: Readonly<Record<string, string>>;
  },
) {
  const { account, region } = location;
  const variables = options.environmentVariables ?? [];
  const sourceVersion = 'refs/heads/main';
  const carried: Partial<Build> = {
    projectName: name,
    sourceVersion,
    resolvedSourceVersion: createHash('sha1')
      .update(`${name}@${sourceVersion}`)
      .digest('hex'),
    source: {
      type: 'GITHUB',
      location: `https://github.com/example/${name}.git`,
      gitCloneDepth: 1,
      insecureSsl: false,
      reportBuildStatus: false,
    },
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
      computeType: 'BUILD_GENERAL1_MEDIUM',
      environmentVariables: variables.map((v) => ({ type: 'PLAINTEXT', ...v })),
      privilegedMode: false,
      imagePullCredentialsType: 'CODEBUILD',
    },
    serviceRole: `arn:aws:iam::${account}:role/${name}-service-role`,
    queuedTimeoutInMinutes: 480,
  };
  return {
    name,
    arn: `arn:aws:codebuild:${region}:${account}:project/${name}`,
    carried,
    logs: options.logs ?? 'cloudwatch',
    tags: { ...options.tags },
    created: at,
    lastModified: at,
    builds: 0,
    batches: 0,
  };
}

/** A project as `BatchGetProjects` returns it. */
export function projectShape(project: ProjectRecord): Project {
  const { name, arn, carried, created, lastModified } = project;
  const { source, sourceVersion, environment, serviceRole } = carried;
  return structuredClone({
    name,
    arn,
    source,
    sourceVersion,
    artifacts: { type: 'NO_ARTIFACTS' },
    environment,
    serviceRole,
    timeoutInMinutes: 60,
    queuedTimeoutInMinutes: 480,
    tags: Object.entries(project.tags).map(([key, value]) => ({ key, value })),
    created,
    lastModified,
    badge: { badgeEnabled: false },
    logsConfig: logsConfig(project),
    projectVisibility: 'PRIVATE',
  });
}

function logsConfig(project: ProjectRecord) {
  const status = project.logs === 'disabled' ? 'DISABLED' : 'ENABLED';
  return {
    cloudWatchLogs: { status },
    s3Logs: { status: 'DISABLED' },
  } satisfies LogsConfig;
}

/**
 * Where a build of `project` logs: its stream is named after the build's
 * `uuid`, once it exists (CodeBuild creates it in `PROVISIONING`). Without
 * a stream, the console link points nowhere, as CodeBuild's does.
 */
export function logsOf(
  project: ProjectRecord,
  { region, account }: Location,
  uuid?: string,
): LogsLocation {
  const link = `https://console.aws.amazon.com/cloudwatch/home?region=${region}#logEvent`;
  const off = logsConfig(project);
  if (project.logs === 'disabled' || !uuid) {
    return { deepLink: `${link}:group=null;stream=null`, ...off };
  }
  const groupName = `${DEFAULT_LOG_GROUP_PREFIX}${project.name}`;
  return {
    groupName,
    streamName: uuid,
    deepLink: `${link}:group=${groupName};stream=${uuid}`,
    cloudWatchLogsArn: `arn:aws:logs:${region}:${account}:log-group:${groupName}:log-stream:${uuid}`,
    ...off,
  };
}

const PHASES = `SUBMITTED QUEUED PROVISIONING DOWNLOAD_SOURCE INSTALL PRE_BUILD
  BUILD POST_BUILD UPLOAD_ARTIFACTS`.split(/\s+/) as readonly BuildPhaseType[];
const at = (type: BuildPhaseType) => PHASES.indexOf(type);

/**
 * The phases of a build that ran from `start` to `end` and ended with
 * `status`, failing in `failure.phase` (`BUILD` when it succeeded), which
 * takes all the time. As CodeBuild does, `POST_BUILD` and
 * `UPLOAD_ARTIFACTS` still run after a command phase failed; phases between
 * the failed one and those are skipped.
 */
export function endedPhases(
  start: Date,
  end: Date,
  status: TerminalBuildStatus,
  failure?: Pick<BuildFailure, 'phase' | 'statusCode' | 'message'>,
): BuildPhase[] {
  const stop = at(failure?.phase ?? 'BUILD');
  const { statusCode, message } = failure ?? FAILURE_CONTEXT.SUCCEEDED;
  const contexts = [{ statusCode, message }];
  const failed: BuildPhase = {
    phaseType: PHASES[stop],
    startTime: start,
    contexts,
  };
  closePhase(failed, end, failure ? status : 'SUCCEEDED');
  const commandFailed =
    status === 'FAILED' && stop >= at('INSTALL') && stop <= at('POST_BUILD');
  const after =
    !failure || commandFailed
      ? PHASES.slice(Math.max(stop + 1, at('POST_BUILD')))
      : [];
  return [
    ...PHASES.slice(0, stop).map((t) => donePhase<BuildPhase>(t, start)),
    failed,
    ...[...after, 'FINALIZING' as const].map((t) =>
      donePhase<BuildPhase>(t, end),
    ),
    { phaseType: 'COMPLETED', startTime: end },
  ];
}

/** A build's or batch's ARN. */
export const arnOf = (
  { region, account }: Location,
  kind: 'build' | 'build-batch',
  id: string,
) => `arn:aws:codebuild:${region}:${account}:${kind}/${id}`;

/**
 * A new running build, `buildNumber` = `project.builds`: a batch child when
 * `batch` is given (with `buildBatchArn`), otherwise standalone.
 */
export function buildShape(
  project: ProjectRecord,
  location: Location,
  at: Date,
  batch?: BatchSnapshot,
): BuildSnapshot {
  const uuid = randomUUID();
  const id = `${project.name}:${uuid}`;
  const batchUuid = batch?.id.split(':').at(-1) ?? '';
  return {
    ...structuredClone(project.carried),
    projectName: project.name,
    id,
    arn: arnOf(location, 'build', id),
    buildNumber: project.builds,
    startTime: at,
    currentPhase: 'BUILD',
    buildStatus: 'IN_PROGRESS',
    phases: [
      ...(
        ['SUBMITTED', 'QUEUED', 'PROVISIONING', 'DOWNLOAD_SOURCE'] as const
      ).map((type) => donePhase<BuildPhase>(type, at)),
      { phaseType: 'BUILD', startTime: at },
    ],
    logs: logsOf(project, location, uuid),
    timeoutInMinutes: 60,
    buildComplete: false,
    initiator: batch
      ? `${project.name}-batch-role/AWSCodeBuild-${batchUuid.slice(0, 8)}`
      : 'test-user',
    ...(batch ? { buildBatchArn: batch.arn } : {}),
  };
}

/** A group's summary of `build`. */
export function summaryOf(build: BuildSnapshot): BuildSummary {
  const { arn, startTime: requestedOn, buildStatus } = build;
  return { arn, requestedOn, buildStatus };
}

/**
 * A new `IN_PROGRESS` batch without groups, `buildBatchNumber` =
 * `project.batches`, whose `donePhases` succeeded; once the batch buildspec
 * is read (`DOWNLOAD_BATCHSPEC`), an open `IN_PROGRESS` phase follows.
 */
export function batchShape(
  project: ProjectRecord,
  location: Location,
  at: Date,
  donePhases: readonly BuildBatchPhaseType[],
): BatchSnapshot {
  const id = `${project.name}:${randomUUID()}`;
  const phases = donePhases.map((type) => donePhase<BuildBatchPhase>(type, at));
  if (donePhases.includes('DOWNLOAD_BATCHSPEC')) {
    phases.push({ phaseType: 'IN_PROGRESS', startTime: at });
  }
  return {
    ...structuredClone(project.carried),
    projectName: project.name,
    id,
    arn: arnOf(location, 'build-batch', id),
    startTime: at,
    currentPhase: 'IN_PROGRESS',
    buildBatchStatus: 'IN_PROGRESS',
    phases,
    buildTimeoutInMinutes: 60,
    complete: false,
    initiator: 'test-user',
    buildBatchNumber: project.batches,
    buildGroups: [],
  };
}
