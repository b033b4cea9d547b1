import type { BuildPhase } from '@aws-sdk/client-codebuild';
import type { BuildFailure } from './failures.js';

// A build's CloudWatch log as CodeBuild's agent writes it: its own
// `[Container]` lines around what the buildspec's commands print.

/** The buildspec's commands, by phase. */
const COMMANDS: Readonly<Record<string, readonly string[]>> = {
  BUILD: ['npm ci', 'npm test'],
};
const FAILED_COMMAND =
  /^Error while executing command: (.+)\. Reason: exit status (\d+)$/;
const SRC = '/codebuild/output/src2871/src/github.com/example';

/** `2026/11/20 09:41:09.123000`, UTC, as the agent stamps its lines. */
function stamp(date: Date): string {
  const [day, time] = date.toISOString().slice(0, 23).split('T');
  return `${day.replaceAll('-', '/')} ${time}000`;
}

/**
 * The log lines of a build of `project` that went through `phases` (from
 * `PROVISIONING` on, where its stream is created); `failure`, if any,
 * names the phase whose commands printed `failure.log`.
 */
export function buildLog(
  project: string,
  phases: readonly BuildPhase[],
  failure?: BuildFailure,
): string[] {
  const lines: string[] = [];
  const say = (at: Date | undefined, text: string) =>
    lines.push(`[Container] ${stamp(at ?? new Date(0))} ${text}`);
  const start = phases[0]?.startTime;
  say(start, 'Running on CodeBuild On-demand');
  say(start, 'Waiting for agent ping');
  say(start, 'Waiting for DOWNLOAD_SOURCE');
  const ran = phases.filter((p) => p.phaseType && !AGENTLESS.has(p.phaseType));
  for (const { phaseType: type, startTime, endTime, ...phase } of ran) {
    const failed = failure !== undefined && type === failure.phase;
    if (type === 'DOWNLOAD_SOURCE') {
      say(startTime, 'Phase is DOWNLOAD_SOURCE');
      say(startTime, `CODEBUILD_SRC_DIR=${SRC}/${project}`);
      if (!failed)
        say(startTime, `YAML location is ${SRC}/${project}/buildspec.yml`);
    } else {
      say(startTime, `Entering phase ${type}`);
    }
    const match = failed ? FAILED_COMMAND.exec(failure.message) : null;
    let commands = COMMANDS[type ?? ''] ?? [];
    if (match) {
      const at = commands.indexOf(match[1]);
      commands = [...(at >= 0 ? commands.slice(0, at) : commands), match[1]];
    }
    for (const cmd of commands) say(startTime, `Running command ${cmd}`);
    if (failed) lines.push(...(failure.log ?? []));
    if (match)
      say(
        endTime,
        `Command did not exit successfully ${match[1]} exit status ${match[2]}`,
      );
    const [context] = phase.contexts ?? [];
    say(endTime, `Phase complete: ${type} State: ${phase.phaseStatus}`);
    say(
      endTime,
      `Phase context status code: ${context?.statusCode ?? ''} Message: ${context?.message ?? ''}`,
    );
  }
  return lines;
}

/** Phases the build's agent does not log. */
const AGENTLESS = new Set(
  'SUBMITTED QUEUED PROVISIONING FINALIZING COMPLETED'.split(' '),
);
