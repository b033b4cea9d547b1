// The floor: only the SDK clients the function uses, created at module
// scope as the function creates them, with one command per IAM action the
// stack grants, and a handler that sends the calls it is given with nothing
// in between. Bundled like the function; never deployed.
import {
  BatchGetBuildBatchesCommand,
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildBatchesCommand,
  ListBuildBatchesForProjectCommand,
  RetryBuildBatchCommand,
} from '@aws-sdk/client-codebuild';
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

type Command = new (input: never) => unknown;

/** The clients, by IAM service prefix. */
export const clients = {
  codebuild: new CodeBuildClient({}),
  dynamodb: new DynamoDBClient({}),
};

/** Every command the function may send, by service and IAM action. */
export const COMMANDS: Record<keyof typeof clients, Record<string, Command>> = {
  codebuild: {
    BatchGetBuilds: BatchGetBuildsCommand,
    BatchGetBuildBatches: BatchGetBuildBatchesCommand,
    RetryBuildBatch: RetryBuildBatchCommand,
    ListBuildBatchesForProject: ListBuildBatchesForProjectCommand,
    ListBuildBatches: ListBuildBatchesCommand,
  } as Record<string, Command>,
  dynamodb: {
    GetItem: GetItemCommand,
    BatchGetItem: BatchGetItemCommand,
    PutItem: PutItemCommand,
    UpdateItem: UpdateItemCommand,
    DeleteItem: DeleteItemCommand,
    Query: QueryCommand,
  } as Record<string, Command>,
};

/** A remote call for the floor's handler. */
export interface Call {
  readonly service: keyof typeof clients;
  readonly operation: string;
  readonly input: object;
}

/** Sends `event.calls` in order. */
export async function handler(event: { calls?: Call[] }): Promise<unknown[]> {
  const outputs = [];
  for (const { service, operation, input } of event.calls ?? []) {
    const client = clients[service] as { send(c: unknown): Promise<unknown> };
    outputs.push(
      await client.send(new COMMANDS[service][operation](input as never)),
    );
  }
  return outputs;
}
