import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { TableSpec } from './deployment.js';

/**
 * CreateTable input for the template's table definition. dynalite has no
 * TTL deletion and no global-table replicas; the key schema, attribute
 * definitions, indexes and billing mode are what the function depends on.
 */
export function createTableInput(spec: TableSpec): CreateTableCommandInput {
  const onDemand = spec.billingMode === 'PAY_PER_REQUEST';
  const throughput = onDemand
    ? undefined
    : { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  return {
    TableName: spec.name,
    BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    AttributeDefinitions: spec.attributeDefinitions.map((a) => ({
      AttributeName: a.AttributeName,
      AttributeType: a.AttributeType as 'S' | 'N' | 'B',
    })),
    KeySchema: spec.keySchema.map((k) => ({
      AttributeName: k.AttributeName,
      KeyType: k.KeyType as 'HASH' | 'RANGE',
    })),
    ...(throughput ? { ProvisionedThroughput: throughput } : {}),
    ...(spec.globalSecondaryIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: spec.globalSecondaryIndexes.map((g) => ({
            IndexName: g.IndexName,
            KeySchema: g.KeySchema.map((k) => ({
              AttributeName: k.AttributeName,
              KeyType: k.KeyType as 'HASH' | 'RANGE',
            })),
            Projection: {
              ProjectionType: g.Projection.ProjectionType as
                | 'ALL'
                | 'KEYS_ONLY'
                | 'INCLUDE',
              ...(g.Projection.NonKeyAttributes
                ? { NonKeyAttributes: g.Projection.NonKeyAttributes }
                : {}),
            },
            ...(throughput ? { ProvisionedThroughput: throughput } : {}),
          })),
        }
      : {}),
  };
}

/** Creates the template's table on a local DynamoDB. */
export async function createTable(
  client: DynamoDBClient,
  spec: TableSpec,
): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(spec)));
}
