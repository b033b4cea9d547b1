import {
  CloudWatchLogsClient,
  GetLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { FAILURES } from '../../../tools/local-aws/codebuild/emulator.js';
import {
  ACCOUNT,
  functionEnvironment,
} from '../../../tools/local-aws/environment.js';
import {
  type LocalAws,
  startLocalAws,
} from '../../../tools/local-aws/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws({ tables: [] });
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});

it("lands builds' logs in CloudWatch Logs, where the SDK finds them through its standard variable", async () => {
  const env = functionEnvironment(aws.endpoints);
  expect(env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS).toBe(aws.logs.endpoint);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

  aws.codebuild.createProject('logged-app');
  const { arn } = aws.codebuild.startBuild('logged-app');
  aws.codebuild.completeBuild(arn, 'FAILED', FAILURES.networkInLog);
  const { logs } = aws.codebuild.getBuild(arn);

  const client = new CloudWatchLogsClient({});
  try {
    const { events } = await client.send(
      new GetLogEventsCommand({
        logGroupName: logs?.groupName,
        logStreamName: logs?.streamName,
        limit: 20,
      }),
    );
    const text = events?.map((e) => e.message).join('\n');
    expect(text).toContain('getaddrinfo EAI_AGAIN registry.npmjs.org');
  } finally {
    client.destroy();
  }
  expect(aws.logs.requests.map((r) => r.operation)).toEqual(['GetLogEvents']);
});

it('serves SQS where the SDK finds it through AWS_ENDPOINT_URL_SQS', async () => {
  const env = functionEnvironment(aws.endpoints);
  expect(env.AWS_ENDPOINT_URL_SQS).toBe(aws.sqs.endpoint);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const client = new SQSClient({});
  try {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: 'recheck' }),
    );
    expect(QueueUrl).toBe(`${aws.sqs.endpoint}/${ACCOUNT}/recheck`);
  } finally {
    client.destroy();
  }
});

it('serves EventBridge where the SDK finds it through AWS_ENDPOINT_URL_EVENTBRIDGE', async () => {
  const env = functionEnvironment(aws.endpoints);
  expect(env.AWS_ENDPOINT_URL_EVENTBRIDGE).toBe(aws.events.endpoint);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const client = new EventBridgeClient({});
  try {
    const { Entries } = await client.send(
      new PutEventsCommand({
        Entries: [{ Source: 'batch-retry', DetailType: 'Probe', Detail: '{}' }],
      }),
    );
    expect(aws.events.events).toMatchObject([
      { id: Entries?.[0].EventId, source: 'batch-retry', account: ACCOUNT },
    ]);
  } finally {
    client.destroy();
  }
});
