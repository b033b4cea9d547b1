import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  FAILURE_CLASS_DIMENSION,
  type FailureClass,
  METRIC,
  METRIC_NAMESPACE,
  type MetricName,
  OUTCOME_DIMENSION,
  type Outcome,
  SERVICE_NAME,
  SKIP_REASON_DIMENSION,
} from './contract.js';
import type { SkipReason } from './decision.js';

/** The one metrics buffer, flushed at the end of every invocation. */
export const metrics = new Metrics({
  namespace: METRIC_NAMESPACE,
  serviceName: SERVICE_NAME,
});

// One single-metric instance for every skip: it publishes on addMetric and
// then clears its dimensions, so reusing it is safe and spares a Metrics
// construction (config and environment lookups) on the most common path.
const skips = metrics.singleMetric();
const classes = metrics.singleMetric();
const outcomes = metrics.singleMetric();

/**
 * Counts occurrences of a metric.
 *
 * @example
 * count(METRIC.RetryIssued);
 */
export function count(name: MetricName, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/**
 * Counts a skip under its `Reason` dimension, in its own EMF blob so the
 * dimension does not leak onto the invocation's other metrics.
 *
 * @example
 * countSkip('out-of-scope');
 */
export function countSkip(reason: SkipReason): void {
  skips.addDimension(SKIP_REASON_DIMENSION, reason);
  skips.addMetric(METRIC.Skipped, MetricUnit.Count, 1);
}

/**
 * Counts `name` under a failure class's `Class` dimension, in its own EMF
 * blob like {@link countSkip}.
 *
 * @example
 * countClass(METRIC.NotRetryable, 'script');
 */
export function countClass(
  name: typeof METRIC.NotRetryable | typeof METRIC.FailureClassified,
  failureClass: FailureClass,
): void {
  classes.addDimension(FAILURE_CLASS_DIMENSION, failureClass);
  classes.addMetric(name, MetricUnit.Count, 1);
}

/**
 * Counts a retry's outcome under its `Outcome` dimension.
 *
 * @example
 * countOutcome('healed');
 */
export function countOutcome(outcome: Outcome): void {
  outcomes.addDimension(OUTCOME_DIMENSION, outcome);
  outcomes.addMetric(METRIC.RetryOutcome, MetricUnit.Count, 1);
}

/**
 * Records a duration in seconds (a distribution: p50 and p95 on the
 * dashboard).
 *
 * @example
 * measureSeconds(METRIC.FailureToRetrySeconds, 12);
 */
export function measureSeconds(
  name: typeof METRIC.FailureToRetrySeconds,
  seconds: number,
): void {
  metrics.addMetric(name, MetricUnit.Seconds, seconds);
}
