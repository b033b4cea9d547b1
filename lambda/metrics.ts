import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SERVICE_NAME } from './logger.js';

/** The one metrics buffer, flushed at the end of every invocation. */
export const metrics = new Metrics({
  namespace: 'CodeBuildBatchRetry',
  serviceName: SERVICE_NAME,
});

// One single-metric instance for every skip: it publishes on addMetric and
// then clears its dimensions, so reusing it is safe and spares a Metrics
// construction (config and environment lookups) on the most common path.
const skips = metrics.singleMetric();

/** Metric names, so dashboards and alarms have one list to read. */
export const METRIC = {
  retried: 'RetryIssued',
  wouldRetry: 'RetryWouldIssue',
  skipped: 'Skipped',
  watched: 'BatchWatched',
  budgetExhausted: 'BudgetExhausted',
  invalidEvent: 'InvalidEvent',
  notRetryable: 'RetryRejected',
  sweepCandidates: 'SweepCandidates',
} as const;

/**
 * Counts one occurrence of a metric.
 *
 * @example
 * count(METRIC.retried);
 */
export function count(name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/**
 * Counts a skip under a `Reason` dimension, in its own EMF blob so the
 * dimension does not leak onto the invocation's other metrics.
 *
 * @example
 * countSkip('out-of-scope');
 */
export function countSkip(reason: string): void {
  skips.addDimension('Reason', reason);
  skips.addMetric(METRIC.skipped, MetricUnit.Count, 1);
}
