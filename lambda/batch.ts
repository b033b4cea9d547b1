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
  /** When the batch last settled; absent while it runs. */
  readonly endTime?: Date;
  /** How many phases the batch has recorded; grows with every retry. */
  readonly phaseCount: number;
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

/** What a build state event's build turned out to be (BatchGetBuilds). */
export type BuildLookup =
  | { readonly kind: 'batch-child'; readonly batchArn: string }
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
}
