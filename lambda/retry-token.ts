import { createHash } from 'node:crypto';

/**
 * The RetryBuildBatch idempotency token for one retry attempt of one failure.
 *
 * Derived only from the batch ARN, the attempt number the budget reserved and
 * the failure it was reserved for, so every duplicate delivery of the same
 * failure (and a redelivery after a crash) sends the same token, while a new
 * failure after a retry sends a new one.
 *
 * @example
 * retryToken(batchArn, 1, failureKey(batch)); // 'cbr-1-3b6f…' (68 chars)
 */
export function retryToken(
  batchArn: string,
  attempt: number,
  failure: string,
): string {
  const digest = createHash('sha256')
    .update(`${batchArn}\n${attempt}\n${failure}`)
    .digest('hex');
  return `cbr-${attempt}-${digest}`;
}
