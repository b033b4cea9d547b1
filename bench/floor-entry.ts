// The floor bundle: only the SDK clients the function really uses, created
// the way the function creates them. Nothing else any implementation could
// do without.
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const dynamodb = new DynamoDBClient({});
export const clients = {
  codebuild: new CodeBuildClient({}),
  dynamodb,
  document: DynamoDBDocumentClient.from(dynamodb),
};

export const handler = async (event: unknown) => event;
