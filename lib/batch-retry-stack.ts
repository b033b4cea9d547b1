import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RETRY_TYPES } from '../lambda/config.js';
import {
  BatchRetryService,
  LOG_LEVELS,
  MAX_PROJECT_NAMES,
  PROJECT_NAME_PATTERN,
} from './batch-retry-service.js';

/**
 * The deployable stack: CloudFormation parameters mapped onto
 * {@link BatchRetryService}, so `cdk deploy --parameters MaxRetries=3` works.
 */
export class BatchRetryStack extends Stack {
  /** The service this stack deploys. */
  public readonly service: BatchRetryService;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, {
      description:
        'codebuild-batch-retry: retries failed CodeBuild batch builds within a retry budget',
      ...props,
    });

    const maxRetries = new CfnParameter(this, 'MaxRetries', {
      type: 'Number',
      minValue: 0,
      maxValue: 10,
      default: 2,
      description:
        'Retries per batch build. 0 disables retrying but keeps observing and logging.',
    });
    const retryType = new CfnParameter(this, 'RetryType', {
      type: 'String',
      allowedValues: [...RETRY_TYPES],
      default: 'RETRY_FAILED_BUILDS',
      description:
        'retryType passed to RetryBuildBatch: rerun only the failed builds, or all builds.',
    });
    const projectNames = new CfnParameter(this, 'ProjectNames', {
      type: 'CommaDelimitedList',
      default: '',
      // Checked per name; also keeps "*" and other ARN characters out of
      // the IAM policy.
      allowedPattern: `^$|${PROJECT_NAME_PATTERN}`,
      constraintDescription:
        'must be CodeBuild project names separated by commas, without spaces',
      description: `CodeBuild projects in scope, comma-separated (at most ${MAX_PROJECT_NAMES}). Empty: every project in this account and region.`,
    });
    const dryRun = new CfnParameter(this, 'DryRun', {
      type: 'String',
      allowedValues: ['true', 'false'],
      default: 'false',
      description:
        'true: decide and log "would retry", never call RetryBuildBatch.',
    });
    const sweepIntervalMinutes = new CfnParameter(
      this,
      'SweepIntervalMinutes',
      {
        type: 'Number',
        minValue: 1,
        maxValue: 60,
        default: 5,
        description:
          'Minutes between reconciliation sweeps: the worst-case delay for a batch that settled without an event.',
      },
    );
    const lookbackHours = new CfnParameter(this, 'LookbackHours', {
      type: 'Number',
      minValue: 1,
      maxValue: 168,
      default: 24,
      description: 'The sweep ignores batches that ended more hours ago.',
    });
    const logLevel = new CfnParameter(this, 'LogLevel', {
      type: 'String',
      allowedValues: [...LOG_LEVELS],
      default: 'INFO',
      description: 'Powertools log level of the function.',
    });
    const reservedConcurrency = new CfnParameter(this, 'ReservedConcurrency', {
      type: 'Number',
      minValue: 0,
      maxValue: 1000,
      default: 0,
      description:
        'Caps parallel invocations so a burst of failures cannot hammer the CodeBuild API. 0 leaves the function unreserved (new accounts cannot reserve concurrency).',
    });

    this.service = new BatchRetryService(this, 'Service', {
      maxRetries: maxRetries.valueAsNumber,
      retryType: retryType.valueAsString,
      projectNames: projectNames.valueAsList,
      dryRun: dryRun.valueAsString,
      sweepIntervalMinutes: sweepIntervalMinutes.valueAsNumber,
      lookbackHours: lookbackHours.valueAsNumber,
      logLevel: logLevel.valueAsString,
      reservedConcurrency: reservedConcurrency.valueAsNumber,
    });

    new CfnOutput(this, 'TableName', {
      description:
        'DynamoDB table with retry budgets, watches and idempotency records',
      value: this.service.table.tableName,
    });
    new CfnOutput(this, 'FunctionName', {
      description: 'The retry function',
      value: this.service.handler.functionName,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Events and invocations that failed after all retries',
      value: this.service.deadLetterQueue.queueUrl,
    });
  }
}
