import { randomUUID } from 'node:crypto';
import type { Build, BuildPhase } from '@aws-sdk/client-codebuild';
import {
  BUILD_STATE_CHANGE,
  type TerminalBuildStatus,
} from '../../../lambda/contract.js';

/**
 * `CodeBuild Build State Change` as EventBridge delivers it. It carries no
 * batch ARN, and environment variable values are plaintext.
 */
export type BuildStateChangeEvent = ReturnType<typeof buildStateChangeEvent>;

const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');

/** `Nov 20, 2026 9:32:15 AM` (UTC): the dates inside CodeBuild's events. */
function eventDate(date: Date): string {
  const hours = date.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${hours % 12 || 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

function eventPhase(phase: BuildPhase) {
  const start = {
    'phase-type': phase.phaseType ?? '',
    'start-time': eventDate(phase.startTime ?? new Date(0)),
  };
  if (phase.phaseType === 'COMPLETED') return start;
  const contexts = (phase.contexts ?? [])
    .filter((c) => c.statusCode || c.message)
    .map((c) => `${c.statusCode ?? ''}: ${c.message ?? ''}`);
  const duration = phase.durationInSeconds;
  return {
    ...start,
    ...(phase.phaseStatus && { 'phase-status': phase.phaseStatus }),
    ...(contexts.length > 0 && { 'phase-context': contexts }),
    ...(phase.endTime && { 'end-time': eventDate(phase.endTime) }),
    ...(duration !== undefined && { 'duration-in-seconds': duration }),
  };
}

/**
 * `[CODE: message]` of the phase a build failed in, the first that did:
 * later phases (POST_BUILD after BUILD) can fail too but are not the cause.
 * `[: ]` when none failed (a stopped or successful build).
 */
function failedContext(phases: readonly BuildPhase[]): string {
  const failed = phases.find((p) => FAILED.includes(p.phaseStatus ?? ''));
  const context = failed?.contexts?.[0];
  return `[${context?.statusCode ?? ''}: ${context?.message ?? ''}]`;
}

const FAILED: readonly string[] = ['FAILED', 'FAULT', 'TIMED_OUT'];

/**
 * The `CodeBuild Build State Change` event of a build that just reached a
 * terminal status (see `test/fixtures/events/build-state-failed.json`).
 */
export function buildStateChangeEvent(
  build: Build,
  context: { account: string; region: string; at: Date },
) {
  const env = build.environment;
  const arn = build.arn ?? '';
  return {
    version: '0' as const,
    id: randomUUID(),
    'detail-type': BUILD_STATE_CHANGE,
    source: 'aws.codebuild' as const,
    account: context.account,
    // EventBridge's `time` has no milliseconds: `2026-11-20T09:41:07Z`.
    time: context.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: context.region,
    resources: [arn],
    detail: {
      'build-status': build.buildStatus as TerminalBuildStatus,
      'project-name': build.projectName ?? '',
      'build-id': arn,
      'additional-information': {
        environment: {
          image: env?.image ?? '',
          'privileged-mode': env?.privilegedMode ?? false,
          'compute-type': env?.computeType ?? '',
          type: env?.type ?? '',
          'environment-variables': (env?.environmentVariables ?? []).map(
            (v) => ({
              name: v.name ?? '',
              type: v.type ?? 'PLAINTEXT',
              value: v.value ?? '',
            }),
          ),
        },
        'timeout-in-minutes': build.timeoutInMinutes ?? 60,
        'build-complete': true as const,
        initiator: build.initiator ?? '',
        'build-start-time': eventDate(build.startTime ?? context.at),
        source: {
          location: build.source?.location ?? '',
          type: build.source?.type ?? '',
        },
        'source-version': build.sourceVersion ?? '',
        logs: {
          'group-name': build.logs?.groupName ?? '',
          'stream-name': build.logs?.streamName ?? '',
          'deep-link': build.logs?.deepLink ?? '',
        },
        phases: (build.phases ?? []).map(eventPhase),
        'queued-timeout-in-minutes': build.queuedTimeoutInMinutes ?? 480,
      },
      'current-phase': 'COMPLETED' as const,
      'current-phase-context': failedContext(build.phases ?? []),
      version: '1' as const,
    },
  };
}
