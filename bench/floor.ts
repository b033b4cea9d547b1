// The floor: only the SDK clients the function uses, created at module
// scope, with one command per IAM action the stack grants, and a handler
// that sends the call it is given. Bundled like the function, never deployed.
import * as logs from '@aws-sdk/client-cloudwatch-logs';
import * as codebuild from '@aws-sdk/client-codebuild';
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as events from '@aws-sdk/client-eventbridge';
import * as sqs from '@aws-sdk/client-sqs';

type Command = new (input: never) => never;

/** The clients, by IAM service prefix. */
export const clients = {
  codebuild: new codebuild.CodeBuildClient({}),
  dynamodb: new dynamodb.DynamoDBClient({}),
  logs: new logs.CloudWatchLogsClient({}),
  sqs: new sqs.SQSClient({}),
  events: new events.EventBridgeClient({}),
};

/** Every command the function may send, by service and IAM action. */
export const COMMANDS: Record<string, Record<string, Command>> = {
  codebuild: {
    BatchGetBuilds: codebuild.BatchGetBuildsCommand,
    BatchGetBuildBatches: codebuild.BatchGetBuildBatchesCommand,
    RetryBuildBatch: codebuild.RetryBuildBatchCommand,
    ListBuildBatchesForProject: codebuild.ListBuildBatchesForProjectCommand,
    ListBuildBatches: codebuild.ListBuildBatchesCommand,
    BatchGetProjects: codebuild.BatchGetProjectsCommand,
  } as never,
  dynamodb: {
    GetItem: dynamodb.GetItemCommand,
    BatchGetItem: dynamodb.BatchGetItemCommand,
    BatchWriteItem: dynamodb.BatchWriteItemCommand,
    PutItem: dynamodb.PutItemCommand,
    UpdateItem: dynamodb.UpdateItemCommand,
    DeleteItem: dynamodb.DeleteItemCommand,
    Query: dynamodb.QueryCommand,
  } as never,
  logs: { GetLogEvents: logs.GetLogEventsCommand } as never,
  events: { PutEvents: events.PutEventsCommand } as never,
  sqs: {
    SendMessage: sqs.SendMessageCommand,
    ReceiveMessage: sqs.ReceiveMessageCommand,
    DeleteMessage: sqs.DeleteMessageCommand,
    ChangeMessageVisibility: sqs.ChangeMessageVisibilityCommand,
    GetQueueAttributes: sqs.GetQueueAttributesCommand,
    GetQueueUrl: sqs.GetQueueUrlCommand,
  } as never,
};

/** A remote call: service, IAM action and the SDK input. */
export interface Call {
  readonly service: keyof typeof clients;
  readonly operation: string;
  readonly input: object;
}

/** Sends one call, with nothing around it. */
export const handler = ({ service, operation, input }: Call) =>
  (clients[service] as { send(command: never): Promise<unknown> }).send(
    new COMMANDS[service][operation](input as never),
  );
