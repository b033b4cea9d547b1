import type { BuildView, FailedGroup } from './batch.js';
import type { FailureClass } from './contract.js';

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

/**
 * Classifies one failed group's build: the first class whose rule applies
 * (see FAILURE_CLASSES). `build` is undefined when CodeBuild no longer knows
 * it (`unknown`). `logTail` is given only once the caller read it.
 */
export declare function classifyBuild(
  group: FailedGroup,
  build: BuildView | undefined,
  policy: ClassifierPolicy,
  logTail?: readonly string[],
): Classification;

/**
 * Classifies a batch that failed with no failed group, from the batch's
 * own phases (a broken batch buildspec is `configuration`).
 */
export declare function classifyBatchPhases(
  phases: BuildView['phases'],
  policy: ClassifierPolicy,
): Classification;
