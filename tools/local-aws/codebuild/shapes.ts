import { createHash, randomUUID } from 'node:crypto';
import type {
  Build,
  BuildBatch,
  BuildBatchPhase,
  BuildBatchPhaseType,
  BuildPhase,
  BuildSummary,
  EnvironmentVariable,
  PhaseContext,
  StatusType,
} from '@aws-sdk/client-codebuild';
import type { TerminalBuildStatus } from '../../../lambda/contract.js';

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
export const FAILURE_CONTEXT: Record<TerminalBuildStatus, PhaseContext> = {
  SUCCEEDED: { statusCode: '', message: '' },
  FAILED: {
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: 'Error while executing command: npm test. Reason: exit status 1',
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

/** A new project, its builds' settings fixed as a typical project's. */
export function projectRecord(
  name: string,
  variables: readonly EnvironmentVariable[],
  account: string,
) {
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
  return { name, carried, builds: 0, batches: 0 };
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
  const logGroup = `/aws/codebuild/${project.name}`;
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
    logs: {
      groupName: logGroup,
      streamName: uuid,
      deepLink: `https://console.aws.amazon.com/cloudwatch/home?region=${location.region}#logEvent:group=${logGroup};stream=${uuid}`,
    },
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
