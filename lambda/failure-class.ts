import type {
  BuildView,
  FailedGroup,
  PhaseContextView,
  PhaseView,
} from './batch.js';
import type { FailureClass } from './contract.js';
import {
  CONFIGURATION_MESSAGE,
  CONFIGURATION_STATUS_CODES,
  IMAGE_DENIED_MESSAGE,
  PULL_IMAGE_STATUS_CODE,
  transientSignature,
} from './signatures.js';

// The failure classifier: pure functions from CodeBuild's build data (and,
// when asked, the tail of a build's log) to a failure class.

/** What the classifier needs from the policy. */
export interface ClassifierPolicy {
  /** Exit codes that make a failed command `transient`. */
  readonly retryExitCodes: readonly number[];
  /** An extra transient signature (RetryPatterns); reported as `RetryPatterns`. */
  readonly retryPattern?: RegExp;
}

/** The class of one failed group's build, and the evidence for it. */
export interface Classification {
  /** The group's identifier; `''` for a batch that failed before any build. */
  readonly identifier: string;
  readonly class: FailureClass;
  /** The first failed phase, if any. */
  readonly phase?: string;
  /** That phase's context status code, if any. */
  readonly statusCode?: string;
  /** The exit code of a failed command, from its context message. */
  readonly exitCode?: number;
  /** The name of the signature that matched (built-in or `RetryPatterns`). */
  readonly signature?: string;
  /**
   * True when the class is `script` from the messages alone and reading the
   * build's log tail could still make it `transient`.
   */
  readonly logTailWouldHelp?: boolean;
}

/** Phases that run the buildspec's commands. */
export const COMMAND_PHASES: ReadonlySet<string> = new Set([
  'INSTALL',
  'PRE_BUILD',
  'BUILD',
  'POST_BUILD',
]);

/** Phases whose failure is CodeBuild's or its capacity's, not the build's. */
export const INFRASTRUCTURE_PHASES: ReadonlySet<string> = new Set([
  'SUBMITTED',
  'QUEUED',
  'PROVISIONING',
  'UPLOAD_ARTIFACTS',
  'FINALIZING',
]);

// Phase statuses are parsed leniently (CLIENT_ERROR and RETRY occur), so a
// phase failed unless it says it succeeded or is still running.
const NOT_FAILED: ReadonlySet<string> = new Set(['SUCCEEDED', 'IN_PROGRESS']);

/**
 * Whether a phase failed: any status but SUCCEEDED or IN_PROGRESS (STOPPED
 * included: it is where the build ended). A phase without a status failed
 * if a context carries a status code, since successful phases carry none.
 */
export function isFailedPhase(phase: PhaseView): boolean {
  if (phase.status) return !NOT_FAILED.has(phase.status);
  return phase.contexts.some((c) => Boolean(c.statusCode));
}

/**
 * The exit code of a failed command, from the last `Reason: exit status N`
 * among the messages: no API field carries it.
 */
export function exitCodeOf(messages: readonly string[]): number | undefined {
  const m = /^[\s\S]*Reason: exit status (\d+)/.exec(messages.join('\n'));
  return m ? Number(m[1]) : undefined;
}

/**
 * Classifies one failed group's build: the first class whose rule applies
 * (see FAILURE_CLASSES and docs/FAILURE-CLASSES.md). `build` is undefined
 * when CodeBuild no longer knows it (`unknown`). `logTail` is given only once
 * the caller read it.
 */
export function classifyBuild(
  group: FailedGroup,
  build: BuildView | undefined,
  policy: ClassifierPolicy,
  logTail?: readonly string[],
): Classification {
  if (!build) return { identifier: group.identifier, class: 'unknown' };
  const { phase, evidence, signature, configuration } = examine(
    build.phases,
    policy,
  );
  const exitCode = exitCodeOf(messagesOf(phase));
  const as = (cls: FailureClass, more: Partial<Classification> = {}) =>
    withoutUndefined({
      identifier: group.identifier,
      class: cls,
      ...evidence,
      exitCode,
      ...more,
    });
  if (configuration) return as('configuration');
  if (build.status === 'TIMED_OUT') return as('timeout');
  if (build.status === 'FAULT' || INFRASTRUCTURE_PHASES.has(phase?.type ?? ''))
    return as('infrastructure', { signature });
  if (phase?.type === 'DOWNLOAD_SOURCE') return as('source', { signature });
  if (!phase || !COMMAND_PHASES.has(phase.type)) return as('unknown');
  if (exitCode !== undefined && policy.retryExitCodes.includes(exitCode))
    return as('transient');
  if (signature) return as('transient', { signature });
  if (logTail) {
    const inLog = firstSignature(logTail, policy.retryPattern);
    return inLog ? as('transient', { signature: inLog }) : as('script');
  }
  // Only the log can still show a transient cause; say whether reading it
  // is possible, so the caller pays for GetLogEvents only when it can help.
  return as('script', build.logs ? { logTailWouldHelp: true } : {});
}

/**
 * Classifies a batch that failed with no failed group, from its own phases:
 * `configuration` for a broken batch buildspec, else `unknown`.
 */
export function classifyBatchPhases(
  phases: BuildView['phases'],
  policy: ClassifierPolicy,
): Classification {
  const { evidence, signature, configuration } = examine(phases, policy);
  const cls = configuration ? 'configuration' : 'unknown';
  return withoutUndefined({
    identifier: '',
    class: cls,
    ...evidence,
    ...(configuration ? {} : { signature }),
  });
}

// The first failed phase and what its contexts say. Only that phase counts:
// later failures (POST_BUILD, UPLOAD_ARTIFACTS after BUILD) are consequences.
function examine(phases: readonly PhaseView[], policy: ClassifierPolicy) {
  const phase = phases.find(isFailedPhase);
  const contexts = phase?.contexts ?? [];
  return {
    phase,
    evidence: {
      phase: phase?.type,
      statusCode: contexts.find((c) => c.statusCode)?.statusCode,
    },
    signature: firstSignature(messagesOf(phase), policy.retryPattern),
    configuration: contexts.some(isConfigurationContext),
  };
}

function isConfigurationContext(context: PhaseContextView): boolean {
  const { statusCode = '', message = '' } = context;
  if (CONFIGURATION_STATUS_CODES.has(statusCode)) return true;
  // A command's message quotes the command, which is the user's free text.
  if (statusCode === 'COMMAND_EXECUTION_ERROR') return false;
  if (CONFIGURATION_MESSAGE.test(message)) return true;
  const pull =
    statusCode === PULL_IMAGE_STATUS_CODE ||
    message.includes('CannotPullContainerError');
  // A rate limit or a network error while pulling says nothing of the image.
  return (
    pull && IMAGE_DENIED_MESSAGE.test(message) && !transientSignature(message)
  );
}

function messagesOf(phase: PhaseView | undefined): string[] {
  return (phase?.contexts ?? []).flatMap((c) => (c.message ? [c.message] : []));
}

function firstSignature(texts: readonly string[], extra?: RegExp) {
  for (const text of texts) {
    const name = transientSignature(text, extra);
    if (name) return name;
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined),
  ) as T;
}
