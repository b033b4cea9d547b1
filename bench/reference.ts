// The reference handler: the floor plus the libraries the service is built
// on (Powertools Logger, Idempotency and Batch, lib-dynamodb) in a plain handler,
// without validation, metrics or decisions. What the function adds over it
// is what the bench holds to its targets. Bundled like the function.
import {
  BatchProcessor,
  EventType,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import * as idempotency from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import * as documents from '@aws-sdk/lib-dynamodb';
import { ENV, SERVICE_NAME } from '../lambda/contract.js';
import { type Call, COMMANDS, clients } from './floor.js';

const logger = new Logger({ serviceName: SERVICE_NAME });
const documentClient = documents.DynamoDBDocumentClient.from(clients.dynamodb);
const DOCUMENT_COMMANDS: Record<string, new (input: never) => never> = {
  GetItem: documents.GetCommand,
  BatchGetItem: documents.BatchGetCommand,
  BatchWriteItem: documents.BatchWriteCommand,
  PutItem: documents.PutCommand,
  UpdateItem: documents.UpdateCommand,
  DeleteItem: documents.DeleteCommand,
  Query: documents.QueryCommand,
} as never;
const config = new idempotency.IdempotencyConfig({ eventKeyJmesPath: 'token' });
const retryOnce = idempotency.makeIdempotent(
  async (retry: { id: string; token: string }) => {
    const command = new COMMANDS.codebuild.RetryBuildBatch({
      id: retry.id,
    } as never);
    return { retried: Boolean(await clients.codebuild.send(command)) };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: process.env[ENV.tableName] ?? 'table',
      awsSdkV3Client: clients.dynamodb,
    }),
    config,
    dataIndexArgument: 0,
  },
);

const queueProcessor = new BatchProcessor(EventType.SQS);

/**
 * Sends DynamoDB calls as documents, retries once, logs one line; queue
 * records each log one line, their failures reported per item.
 */
export async function handler(
  event: {
    calls: Call[];
    retry?: { id: string; token: string };
    Records?: unknown[];
  },
  context: { awsRequestId?: string },
): Promise<unknown> {
  logger.addContext(context as never);
  if (event.Records) {
    return processPartialResponse(
      event as never,
      async () => logger.info('Handled record'),
      queueProcessor,
    );
  }
  config.registerLambdaContext(context as never);
  for (const { operation, input } of event.calls) {
    await documentClient.send(new DOCUMENT_COMMANDS[operation](input as never));
  }
  const result = event.retry && (await retryOnce(event.retry));
  logger.info('Handled event', { calls: event.calls.length });
  return result;
}
