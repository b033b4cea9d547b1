import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { FAILURE_CLASSES } from '../../lambda/contract.js';
import type { BatchRetryService } from '../batch-retry-service.js';

const WIDTH = 8;
const HEIGHT = 6;

/**
 * The service at a glance: what it retried and how that went, what it
 * would not retry and why, how fast it reacts, and whether anything is
 * stuck. Three rows of three graphs, then the alarms.
 *
 * No per-project widgets: the function's metrics carry no project
 * dimension, because each project would multiply every metric into custom
 * metrics paid for monthly, for accounts with any number of projects. The
 * batch-level events and the outcome history items name the project.
 */
export function createDashboard(
  scope: Construct,
  service: BatchRetryService,
  dashboardName: string,
  alarms: readonly cloudwatch.IAlarm[],
): cloudwatch.Dashboard {
  const graph = (
    title: string,
    left: cloudwatch.IMetric[],
    props: Partial<cloudwatch.GraphWidgetProps> = {},
  ) =>
    new cloudwatch.GraphWidget({
      title,
      left,
      width: WIDTH,
      height: HEIGHT,
      ...props,
    });
  const queueMax = { statistic: cloudwatch.Stats.MAXIMUM };

  return new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName,
    defaultInterval: Duration.days(7),
    widgets: [
      [
        graph('Retries issued', [
          service.metricRetries({ label: 'RetryIssued' }),
        ]),
        graph('Retried batches: healed or failed again', [
          service.metricOutcomes('healed', { label: 'healed' }),
          service.metricOutcomes('failed-again', { label: 'failed again' }),
        ]),
        graph('Heal rate (%, hourly)', [service.metricHealRate()], {
          leftYAxis: { min: 0, max: 100, showUnits: false },
        }),
      ],
      [
        graph(
          'Not retried, by failure class',
          FAILURE_CLASSES.map((cls) =>
            service.metricNotRetryable(cls, { label: cls }),
          ),
          { stacked: true },
        ),
        graph('Retry budget exhausted', [
          service.metricBudgetExhausted({ label: 'BudgetExhausted' }),
        ]),
        graph('Failure to retry (seconds)', [
          service.metricFailureToRetry('p50', { label: 'p50' }),
          service.metricFailureToRetry('p95', { label: 'p95' }),
        ]),
      ],
      [
        graph('Dead-letter queues (messages)', [
          service.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            ...queueMax,
            label: 'events, invocations, notifications',
          }),
          service.recheckDeadLetterQueue.metricApproximateNumberOfMessagesVisible(
            { ...queueMax, label: 're-checks' },
          ),
        ]),
        graph('Re-check queue: oldest message (seconds)', [
          service.recheckQueue.metricApproximateAgeOfOldestMessage({
            ...queueMax,
            label: 'oldest message age',
          }),
        ]),
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: [...alarms],
          width: WIDTH,
          height: HEIGHT,
        }),
      ],
    ],
  });
}
