import {
  CfnCondition,
  type Duration,
  Fn,
  type RemovalPolicy,
  Token,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  BATCH_EVENTS,
  type BatchEventType,
  EVENT_SOURCE,
  SERVICE_NAME,
} from '../../lambda/contract.js';

/**
 * The notification topic, encrypted and TLS-only.
 *
 * Encrypted with a customer managed key, not the AWS managed `alias/aws/sns`:
 * the AWS managed key's policy cannot be changed, and lets neither
 * EventBridge nor CloudWatch alarms use it, so both would fail to publish
 * (EventBridge counts a FailedInvocation, the alarm's history says "Failed
 * to execute action"). This key's policy lets those two services encrypt
 * for the topic; EventBridge's grant comes with the rule targets
 * ({@link notifyOnBatchEvents}). Rotated yearly; about 1 USD a month.
 *
 * @example
 * const topic = createTopic(this, RemovalPolicy.RETAIN);
 */
export function createTopic(
  scope: Construct,
  removalPolicy: RemovalPolicy,
): sns.Topic {
  const key = new kms.Key(scope, 'TopicKey', {
    description: `${SERVICE_NAME} notifications topic`,
    enableKeyRotation: true,
    removalPolicy,
  });
  const topic = new sns.Topic(scope, 'Topic', {
    // The sender's name of the emails.
    displayName: SERVICE_NAME,
    masterKey: key,
    enforceSSL: true,
  });
  // Alarms of this account and region only. A topic with a policy of its
  // own loses SNS's default one, so CloudWatch is named explicitly.
  const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsPublish',
      principals: [cloudWatch],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        ArnLike: {
          'aws:SourceArn': Fn.sub(
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax
            'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*',
          ),
        },
      },
    }),
  );
  key.grant(cloudWatch, 'kms:Decrypt', 'kms:GenerateDataKey*');
  return topic;
}

/**
 * Subscribes `email` to the topic: now for a literal address, never for an
 * empty one, and through a condition for a token (the `NotificationEmail`
 * parameter), so an empty parameter creates no subscription. SNS mails a
 * confirmation link first; nothing arrives until it is followed. Messages
 * SNS cannot deliver go to `deadLetterQueue`.
 */
export function subscribeEmail(
  scope: Construct,
  topic: sns.ITopic,
  email: string | undefined,
  deadLetterQueue: sqs.IQueue,
): void {
  if (email === undefined) return;
  const literal = !Token.isUnresolved(email);
  if (literal && email === '') return;
  const subscription = new sns.Subscription(scope, 'EmailSubscription', {
    topic,
    protocol: sns.SubscriptionProtocol.EMAIL,
    endpoint: email,
    deadLetterQueue,
  });
  if (literal) return;
  const notify = new CfnCondition(scope, 'NotifyByEmail', {
    expression: Fn.conditionNot(Fn.conditionEquals(email, '')),
  });
  (subscription.node.defaultChild as sns.CfnSubscription).cfnOptions.condition =
    notify;
}

const detail = (field: string) =>
  events.EventField.fromPath(`$.detail.${field}`);

/**
 * The batch-level events a person should hear about, and each one's email
 * text: a first line that reads as a subject (naming the project and what
 * happened), then the batch, the failed groups' classes and the console
 * link. A field missing from an event leaves its line empty after the
 * label (EventBridge drops a variable whose path is not in the event).
 */
const NOTIFIED: readonly {
  readonly id: string;
  readonly detailType: BatchEventType;
  readonly description: string;
  readonly lines: readonly string[];
}[] = [
  {
    id: 'BudgetExhaustedNotification',
    detailType: BATCH_EVENTS.budgetExhausted,
    description:
      'A batch failed again with no retry budget left: the topic tells a person',
    lines: [
      `${SERVICE_NAME}: ${detail('projectName')} batch gave up after ${detail('attempt')} of ${detail('maxRetries')} retries`,
      `Batch: ${detail('batchArn')}`,
      `Failed groups' classes: ${detail('failedGroups[*].class')}`,
      `Console: ${detail('consoleUrl')}`,
      'Retries stop here: the batch fails for a reason a retry does not fix.',
    ],
  },
  {
    id: 'CircuitOpenedNotification',
    detailType: BATCH_EVENTS.circuitOpened,
    description:
      "A project's retries keep failing again, so its retries are paused: the topic tells a person",
    lines: [
      `${SERVICE_NAME}: retries of ${detail('projectName')} paused (circuit opened)`,
      `Batch: ${detail('batchArn')}`,
      `Failed groups' classes: ${detail('failedGroups[*].class')}`,
      `Console: ${detail('consoleUrl')}`,
      "Failed batches of this project are not retried until the circuit closes; the project's builds need a look.",
    ],
  },
  {
    id: 'CircuitClosedNotification',
    detailType: BATCH_EVENTS.circuitClosed,
    description:
      "A project's retries resume after a pause: the topic tells a person",
    lines: [
      `${SERVICE_NAME}: retries of ${detail('projectName')} resumed (circuit closed)`,
      `Batch: ${detail('batchArn')}`,
      `Console: ${detail('consoleUrl')}`,
    ],
  },
];

/** Where a rule target's undeliverable events go, and how hard it tries. */
export interface NotificationTargetOptions {
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * One rule per notified detail-type, on the bus the function publishes to,
 * each sending its email text to the topic. The `SnsTopic` target adds the
 * topic policy statement and the key grant that let EventBridge publish;
 * they name no rule, because EventBridge does not support conditions in
 * SNS topic policies (and a role on the target fails with encrypted
 * topics, says its guide).
 *
 * Plain text, not AWS Chatbot's custom notification JSON
 * (`{"version":"1.0","source":"custom","content":{...}}`): the topic's first
 * reader is an email inbox, where that JSON would arrive raw. Chatbot
 * subscribed to the topic still renders the alarms; to see these events in
 * Slack as well, add a rule of your own on the same bus and pattern with
 * the custom format, targeting a topic only Chatbot reads. One topic cannot
 * serve both: EventBridge cannot set message attributes, and a body filter
 * policy never matches plain text, so the email subscription could not
 * tell the two formats apart.
 *
 * Limits of EventBridge as the publisher, worth knowing when reading the
 * mail: the subject is always SNS's default ("AWS Notification Message"),
 * since an EventBridge target cannot set SNS's `Subject`; and a text
 * template is JSON, one string per line, so each line arrives in double
 * quotes (the CDK's `fromMultilineText`; a single string would show its
 * line breaks as `\n`).
 */
export function notifyOnBatchEvents(
  scope: Construct,
  topic: sns.ITopic,
  eventBusName: string,
  options: NotificationTargetOptions,
): events.Rule[] {
  const eventBus = events.EventBus.fromEventBusName(
    scope,
    'NotificationEventBus',
    eventBusName,
  );
  return NOTIFIED.map(
    ({ id, detailType, description, lines }) =>
      new events.Rule(scope, id, {
        description,
        eventBus,
        eventPattern: { source: [EVENT_SOURCE], detailType: [detailType] },
        targets: [
          new targets.SnsTopic(topic, {
            ...options,
            message: events.RuleTargetInput.fromMultilineText(lines.join('\n')),
          }),
        ],
      }),
  );
}
