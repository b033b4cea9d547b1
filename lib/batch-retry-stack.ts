import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  type ChoiceSetting,
  EMAIL_PATTERN,
  FAILURE_CLASSES,
  MAX_PROJECT_NAMES,
  type NumberSetting,
  PROJECT_NAME_PATTERN,
  SETTINGS,
} from '../lambda/contract.js';
import { BatchRetryService } from './batch-retry-service.js';

/**
 * The deployable stack: CloudFormation parameters mapped onto
 * {@link BatchRetryService}, so `cdk deploy --parameters MaxRetries=3` works.
 * Names, ranges, allowed values and defaults come from the contract the
 * function validates against.
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

    const maxRetries = this.numberParameter(
      SETTINGS.maxRetries,
      'Retries per batch build. 0 disables retrying but keeps observing and logging.',
    );
    const retryType = this.choiceParameter(
      SETTINGS.retryType,
      'retryType passed to RetryBuildBatch: rerun only the failed builds, or all builds.',
    );
    const projectNames = new CfnParameter(
      this,
      SETTINGS.projectNames.parameter,
      {
        type: 'CommaDelimitedList',
        default: '',
        // Checked per name; also keeps "*" and other ARN characters out of
        // the IAM policy.
        allowedPattern: `^$|${PROJECT_NAME_PATTERN}`,
        constraintDescription:
          'must be CodeBuild project names separated by commas, without spaces',
        description: `CodeBuild projects in scope, comma-separated (at most ${MAX_PROJECT_NAMES}). Empty: every project in this account and region.`,
      },
    );
    const dryRun = this.choiceParameter(
      SETTINGS.dryRun,
      'true: decide and log "would retry", never call RetryBuildBatch.',
    );
    const sweepIntervalMinutes = this.numberParameter(
      SETTINGS.sweepIntervalMinutes,
      'Minutes between reconciliation sweeps: the worst-case delay for a batch that settled without an event.',
    );
    const lookbackHours = this.numberParameter(
      SETTINGS.lookbackHours,
      'The sweep ignores batches that ended more hours ago.',
    );
    const logLevel = this.choiceParameter(
      SETTINGS.logLevel,
      'Powertools log level of the function.',
    );
    const reservedConcurrency = this.numberParameter(
      SETTINGS.reservedConcurrency,
      'Caps parallel invocations so a burst of failures cannot hammer the CodeBuild API. 0 leaves the function unreserved (new accounts cannot reserve concurrency).',
    );

    const retryOn = new CfnParameter(this, SETTINGS.retryOn.parameter, {
      type: 'CommaDelimitedList',
      default: SETTINGS.retryOn.default.join(','),
      // Checked per item.
      allowedPattern: `^(${FAILURE_CLASSES.join('|')})$`,
      constraintDescription: `must be failure classes separated by commas, without spaces: ${FAILURE_CLASSES.join(', ')}`,
      description:
        'Failure classes that may be retried; a batch is retried only when every failed build group is in one. All seven classes retry every failure.',
    });
    const { min, max } = SETTINGS.retryExitCodes;
    const retryExitCodes = new CfnParameter(
      this,
      SETTINGS.retryExitCodes.parameter,
      {
        type: 'CommaDelimitedList',
        default: SETTINGS.retryExitCodes.default.join(','),
        // 1-255, checked per item.
        allowedPattern: '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]?)$',
        constraintDescription: `must be exit codes from ${min} to ${max} separated by commas, without spaces`,
        description:
          'Exit codes that make a failed build command transient, so retryable (137: killed, usually out of memory).',
      },
    );
    const retryPatterns = new CfnParameter(
      this,
      SETTINGS.retryPatterns.parameter,
      {
        type: 'String',
        default: SETTINGS.retryPatterns.default,
        maxLength: SETTINGS.retryPatterns.maxLength,
        description:
          'An extra transient signature: a JavaScript regular expression tested against failure messages and build log tail lines. Empty: built-in signatures only.',
      },
    );
    const logTailLines = this.numberParameter(
      SETTINGS.logTailLines,
      'Build log lines read when a failed command is not decided by its exit code or message. 0 never reads build logs.',
    );

    const retryDelaySeconds = this.numberParameter(
      SETTINGS.retryDelaySeconds,
      'Seconds before a retry, doubled per attempt (at most 900), for failures an immediate retry would meet again (capacity, rate limits). 0 retries at once.',
    );

    const historyDays = this.numberParameter(
      SETTINGS.historyDays,
      'Days each retry outcome is kept for the flakiness report.',
    );
    const eventBusName = new CfnParameter(
      this,
      SETTINGS.eventBusName.parameter,
      {
        type: 'String',
        default: SETTINGS.eventBusName.default,
        allowedPattern: '^[\\w.\\-/]{1,256}$',
        constraintDescription: 'must be an EventBridge event bus name',
        description:
          'The event bus batch-level events (source codebuild-batch-retry) are published on.',
      },
    );

    const circuitBreakerThreshold = this.numberParameter(
      SETTINGS.circuitBreakerThreshold,
      "Retries in a row of one project that fail again before the project's circuit opens and its retries stop for the cooldown. 0 never opens it.",
    );
    const circuitBreakerCooldownMinutes = this.numberParameter(
      SETTINGS.circuitBreakerCooldownMinutes,
      'Minutes an open circuit holds retries back before letting one through.',
    );
    const notificationEmail = new CfnParameter(
      this,
      SETTINGS.notificationEmail.parameter,
      {
        type: 'String',
        default: SETTINGS.notificationEmail.default,
        maxLength: SETTINGS.notificationEmail.maxLength,
        allowedPattern: `^$|${EMAIL_PATTERN}`,
        constraintDescription: 'must be empty or an email address',
        description:
          "An email address for alarms and for batches that need a person (retry budget exhausted, a project's retries paused or resumed). SNS mails a confirmation link first. Empty: no subscription.",
      },
    );

    this.service = new BatchRetryService(this, 'Service', {
      maxRetries: maxRetries.valueAsNumber,
      retryType: retryType.valueAsString,
      projectNames: projectNames.valueAsList,
      dryRun: dryRun.valueAsString,
      sweepIntervalMinutes: sweepIntervalMinutes.valueAsNumber,
      lookbackHours: lookbackHours.valueAsNumber,
      logLevel: logLevel.valueAsString,
      reservedConcurrency: reservedConcurrency.valueAsNumber,
      retryOn: retryOn.valueAsList,
      retryExitCodes: retryExitCodes.valueAsList,
      retryPatterns: retryPatterns.valueAsString,
      logTailLines: logTailLines.valueAsNumber,
      retryDelaySeconds: retryDelaySeconds.valueAsNumber,
      historyDays: historyDays.valueAsNumber,
      eventBusName: eventBusName.valueAsString,
      circuitBreakerThreshold: circuitBreakerThreshold.valueAsNumber,
      circuitBreakerCooldownMinutes:
        circuitBreakerCooldownMinutes.valueAsNumber,
      notificationEmail: notificationEmail.valueAsString,
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
    new CfnOutput(this, 'NotificationTopicArn', {
      description:
        'SNS topic of the alarms and notified batch events: subscribe email, AWS Chatbot or anything else',
      value: this.service.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of the service',
      value: this.service.dashboard.dashboardName,
    });
  }

  private numberParameter(
    setting: NumberSetting,
    description: string,
  ): CfnParameter {
    return new CfnParameter(this, setting.parameter, {
      type: 'Number',
      minValue: setting.min,
      maxValue: setting.max,
      default: setting.default,
      description,
    });
  }

  private choiceParameter(
    setting: ChoiceSetting,
    description: string,
  ): CfnParameter {
    return new CfnParameter(this, setting.parameter, {
      type: 'String',
      allowedValues: [...setting.allowed],
      default: setting.default,
      description,
    });
  }
}
