import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import { WATCH_INDEX } from '../../lambda/budget-store.js';

/** Credentials the local servers accept (they do not check signatures). */
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIDLOCAL',
  secretAccessKey: 'local-secret',
};

/** dynalite on 127.0.0.1 with the service's table. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client of the test's own (the function builds its own). */
  readonly client: DynamoDBClient;
  /** Every item of the table, unmarshalled. */
  scan(): Promise<Record<string, unknown>[]>;
  /** Stops the server; `restart` brings it back on the same port and data. */
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/**
 * Starts dynalite on a free loopback port and creates the table the stack
 * defines: key `id`, the sparse `watched` index.
 *
 * @example
 * const dynamo = await startDynamo();
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
 */
export async function startDynamo(tableName = 'batch-retry'): Promise<LocalDynamo> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
  });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'watchShard', AttributeType: 'S' },
        { AttributeName: 'watchedAt', AttributeType: 'N' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: WATCH_INDEX,
          KeySchema: [
            { AttributeName: 'watchShard', KeyType: 'HASH' },
            { AttributeName: 'watchedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  let current = server;
  return {
    endpoint,
    tableName,
    client,
    async scan() {
      const { Items } = await client.send(new ScanCommand({ TableName: tableName }));
      return (Items ?? []).map((item) => unmarshall(item));
    },
    async stop() {
      current.closeAllConnections();
      await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    async restart() {
      // dynalite keeps its data in the server object's store; listening
      // again on the same port models an outage window that ends.
      current.listen(port, '127.0.0.1');
      await once(current, 'listening');
    },
  };
}
