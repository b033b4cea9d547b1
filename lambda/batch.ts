/**
 * The view of a CodeBuild batch build the decision needs: plain data, so the
 * decision can be tested without CodeBuild.
 */
export interface BatchView {
  readonly arn: string;
  /** `<project>:<uuid>`, the identifier RetryBuildBatch takes. */
  readonly id: string;
  readonly projectName: string;
  /** `buildBatchStatus`: IN_PROGRESS, SUCCEEDED, FAILED, FAULT, STOPPED, TIMED_OUT. */
  readonly status: string;
  /** When the batch first started (a retry keeps it). */
  readonly startTime?: Date;
  /** When the batch last settled; absent while it runs. */
  readonly endTime?: Date;
  /** How many phases the batch has recorded; grows with every retry. */
  readonly phaseCount: number;
  /**
   * Groups whose current build ended FAILED, FAULT or TIMED_OUT and that do
   * not ignore failure. STOPPED groups are collateral and left out.
   */
  readonly failedGroups: readonly FailedGroup[];
  /** ARNs of the groups' current builds still running. */
  readonly runningBuilds: readonly string[];
  /** ARNs of the groups' current builds (a retry replaces some). */
  readonly currentBuilds: readonly string[];
  /**
   * The batch's own phases, for a batch that failed before any build (its
   * batch buildspec failed in DOWNLOAD_BATCHSPEC).
   */
  readonly phases: readonly PhaseView[];
}

/** A build group whose failure fails the batch. */
export interface FailedGroup {
  readonly identifier: string;
  /** The group's current build; absent if CodeBuild did not report one. */
  readonly buildArn?: string;
  /** FAILED, FAULT or TIMED_OUT. */
  readonly buildStatus: string;
}

/** A build's or a batch's phase, parsed leniently: any status string. */
export interface PhaseView {
  /** `phaseType`, e.g. BUILD, DOWNLOAD_SOURCE, DOWNLOAD_BATCHSPEC. */
  readonly type: string;
  /** `phaseStatus`; may be absent or outside the documented enum. */
  readonly status?: string;
  readonly contexts: readonly PhaseContextView[];
}

/** One of a phase's `contexts`. */
export interface PhaseContextView {
  readonly statusCode?: string;
  readonly message?: string;
}

/** The view of a build the classifier needs (BatchGetBuilds). */
export interface BuildView {
  readonly arn: string;
  /** `buildStatus`. */
  readonly status: string;
  readonly phases: readonly PhaseView[];
  /** Where the build's log lives in CloudWatch Logs, if it has one there. */
  readonly logs?: { readonly groupName: string; readonly streamName: string };
}

/**
 * Identifies one failure of a batch. A batch retried in place keeps its ARN,
 * so the ARN alone cannot tell a duplicate of the same failure from a new
 * failure after a retry; the moment the batch settled can. Every duplicate
 * delivery reads the same `endTime`, and a retried batch that fails again
 * settles at a later one. The phase count is a tiebreaker for the
 * (undocumented) case of a FAILED batch without an end time.
 *
 * @example
 * failureKey(batch); // '2026-11-20T09:41:09.000Z/p6'
 */
export function failureKey(batch: BatchView): string {
  const settled = batch.endTime ? batch.endTime.toISOString() : 'unsettled';
  return `${settled}/p${batch.phaseCount}`;
}

/**
 * When the failure `failure` settled (epoch ms), read back from its key;
 * undefined for a batch that failed without an end time.
 *
 * @example
 * failedAtOf('2026-11-20T09:41:09.000Z/p6'); // 1763631669000
 */
export function failedAtOf(failure: string): number | undefined {
  const at = Date.parse(failure.split('/')[0] ?? '');
  return Number.isNaN(at) ? undefined : at;
}

/** What a build state event's build turned out to be (BatchGetBuilds). */
export type BuildLookup =
  | {
      readonly kind: 'batch-child';
      readonly batchArn: string;
      /** The build itself, reused when it is the batch's only failure. */
      readonly build: BuildView;
    }
  | { readonly kind: 'standalone' }
  | { readonly kind: 'not-found' };

/**
 * What the budget store knows about a batch's retries, as plain data: a
 * view of the stored record, read when it was cheap to read.
 */
export interface BudgetView {
  /** Retry attempts reserved so far. */
  readonly retries: number;
  /** The failure the latest attempt was reserved for. */
  readonly lastFailure?: string;
  /** The failure for which exhaustion was already reported. */
  readonly exhaustedFailure?: string;
  /** The failure already found not retryable (by its classes). */
  readonly declinedFailure?: string;
  /**
   * When the latest attempt's delayed retry is due (epoch ms): until then
   * the re-check queue holds it, and nothing else retries the failure.
   */
  readonly retryAfter?: number;
}
