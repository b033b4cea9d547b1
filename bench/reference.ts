// The reference handler: the floor plus the libraries the service is built
// on (Powertools Logger and Idempotency, lib-dynamodb), in a plain handler
// with no validation, metrics or decisions. What the function adds over it
// is what the bench holds to its targets. Bundled like the function.
import {
  IdempotencyConfig,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  BatchGetCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ENV, SERVICE_NAME } from '../lambda/contract.js';
import { type Call, COMMANDS, clients } from './floor.js';

const logger = new Logger({ serviceName: SERVICE_NAME });
const documents = DynamoDBDocumentClient.from(clients.dynamodb, {
  marshallOptions: { removeUndefinedValues: true },
});
const DOCUMENT_COMMANDS: Record<string, new (input: never) => never> = {
  GetItem: GetCommand,
  BatchGetItem: BatchGetCommand,
  PutItem: PutCommand,
  UpdateItem: UpdateCommand,
  DeleteItem: DeleteCommand,
  Query: QueryCommand,
} as never;
const config = new IdempotencyConfig({ eventKeyJmesPath: 'token' });
const retryOnce = makeIdempotent(
  async (request: { id: string; token: string }) => {
    const output = await clients.codebuild.send(
      new COMMANDS.codebuild.RetryBuildBatch({
        id: request.id,
      } as never) as never,
    );
    // The stored result must be plain data (the SDK's output holds Dates).
    return {
      retried: (output as { buildBatch?: object }).buildBatch !== undefined,
    };
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

/**
 * Sends `event.calls` (DynamoDB ones in document form, through lib-dynamodb),
 * then retries `event.retry` at most once, and logs one line.
 */
export async function handler(
  event: { calls?: Call[]; retry?: { id: string; token: string } },
  context: { awsRequestId?: string },
): Promise<unknown> {
  logger.addContext(context as never);
  config.registerLambdaContext(context as never);
  for (const { service, operation, input } of event.calls ?? []) {
    if (service === 'dynamodb') {
      await documents.send(new DOCUMENT_COMMANDS[operation](input as never));
    } else {
      await clients.codebuild.send(
        new COMMANDS.codebuild[operation](input as never) as never,
      );
    }
  }
  const result = event.retry ? await retryOnce(event.retry) : undefined;
  logger.info('Handled event', { calls: event.calls?.length ?? 0 });
  return result;
}
