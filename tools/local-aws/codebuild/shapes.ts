import { createHash, randomUUID } from 'node:crypto';
import type {
  BuildBatchPhase,
  BuildBatchPhaseType,
  BuildPhase,
  BuildSummary,
  ProjectEnvironment,
  ProjectSource,
  StatusType,
} from '@aws-sdk/client-codebuild';
import type { BatchSnapshot, BuildSnapshot, ProjectOptions } from './types.js';

// The resources' shapes: what responses carry that a caller or an event
// reads, in the SDK's types.

/** Where resources live. */
export interface Location {
  readonly region: string;
  readonly account: string;
}

/** A project and its counters. */
export interface ProjectRecord {
  readonly name: string;
  readonly arn: string;
  readonly environment: ProjectEnvironment;
  readonly source: ProjectSource;
  readonly sourceVersion: string;
  readonly resolvedSourceVersion: string;
  readonly serviceRole: string;
  /** Builds started so far (the last `buildNumber`). */
  builds: number;
  /** Batches started so far (the last `buildBatchNumber`). */
  batches: number;
}

/** Phase context of a build that ended with each non-success status. */
export const FAILURE_CONTEXT: Readonly<
  Record<string, { statusCode: string; message: string }>
> = {
  FAILED: {
    statusCode: 'COMMAND_EXECUTION_ERROR',
    message: 'Error while executing command: npm test. Reason: exit status 1',
  },
  FAULT: { statusCode: 'CLIENT_ERROR', message: 'Internal service error' },
  TIMED_OUT: { statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out.' },
  STOPPED: { statusCode: 'BUILD_STOPPED', message: 'Build was stopped.' },
};

const seconds = (from: Date, to: Date) =>
  Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));

/** A phase that started and ended at `at`. */
export function donePhase<T extends BuildPhase | BuildBatchPhase>(
  phaseType: T['phaseType'],
  at: Date,
  phaseStatus: StatusType = 'SUCCEEDED',
  contexts = [{ statusCode: '', message: '' }],
): T {
  return {
    phaseType,
    phaseStatus,
    startTime: at,
    endTime: at,
    durationInSeconds: 0,
    contexts,
  } as T;
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
  phase.durationInSeconds = seconds(phase.startTime ?? at, at);
}

/** A new project, its builds' settings fixed as a typical project's. */
export function projectRecord(
  name: string,
  options: ProjectOptions,
  { region, account }: Location,
): ProjectRecord {
  const sourceVersion = 'refs/heads/main';
  return {
    name,
    arn: `arn:aws:codebuild:${region}:${account}:project/${name}`,
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
      computeType: 'BUILD_GENERAL1_MEDIUM',
      environmentVariables: (options.environmentVariables ?? []).map((v) => ({
        name: v.name,
        value: v.value,
        type: (v.type ?? 'PLAINTEXT') as 'PLAINTEXT',
      })),
      privilegedMode: false,
      imagePullCredentialsType: 'CODEBUILD',
    },
    source: {
      type: 'GITHUB',
      location: `https://github.com/example/${name}.git`,
      gitCloneDepth: 1,
      insecureSsl: false,
      reportBuildStatus: false,
    },
    sourceVersion,
    resolvedSourceVersion: createHash('sha1')
      .update(`${name}@${sourceVersion}`)
      .digest('hex'),
    serviceRole: `arn:aws:iam::${account}:role/${name}-service-role`,
    builds: 0,
    batches: 0,
  };
}

/** A build's or batch's ARN. */
export const arnOf = (
  { region, account }: Location,
  kind: 'build' | 'build-batch',
  id: string,
) => `arn:aws:codebuild:${region}:${account}:${kind}/${id}`;

/** What a project's builds and batches all carry. */
function fromProject(project: ProjectRecord) {
  return {
    projectName: project.name,
    sourceVersion: project.sourceVersion,
    resolvedSourceVersion: project.resolvedSourceVersion,
    source: structuredClone(project.source),
    environment: structuredClone(project.environment),
    serviceRole: project.serviceRole,
    queuedTimeoutInMinutes: 480,
  };
}

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
    ...fromProject(project),
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
  return {
    arn: build.arn,
    requestedOn: build.startTime,
    buildStatus: build.buildStatus,
  };
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
    ...fromProject(project),
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
