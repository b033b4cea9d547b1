/**
 * dynalite, a DynamoDB API server, on 127.0.0.1 with tables as the
 * synthesized template defines them.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import type { TableSpec } from './deployment.js';
import { CREDENTIALS, REGION } from './environment.js';
import { serviceTable } from './synth.js';

/** One DynamoDB API request as dynalite received it: `PutItem`, … and body. */
export interface DynamoRequest {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** dynalite on 127.0.0.1, see {@link startDynamo}. */
export type LocalDynamo = Awaited<ReturnType<typeof startDynamo>>;

/**
 * Creates a table of the template on a local DynamoDB. dynalite has no TTL
 * deletion and no global-table replicas; the key schema, attribute
 * definitions, indexes and billing mode are what the function depends on.
 */
export async function createTable(
  client: DynamoDBClient,
  spec: TableSpec,
): Promise<void> {
  const onDemand = spec.billingMode === 'PAY_PER_REQUEST';
  const throughput = onDemand
    ? undefined
    : { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  const indexes = spec.globalSecondaryIndexes.map((g) => ({
    ...g,
    ProvisionedThroughput: throughput,
  }));
  await client.send(
    new CreateTableCommand({
      TableName: spec.name,
      BillingMode: onDemand ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      AttributeDefinitions: [...spec.attributeDefinitions],
      KeySchema: [...spec.keySchema],
      ProvisionedThroughput: throughput,
      GlobalSecondaryIndexes: indexes.length === 0 ? undefined : indexes,
    }),
  );
}

/**
 * Starts dynalite on a free loopback port with `tables` created, by
 * default the service's table from the synthesized template.
 *
 * @example
 * const dynamo = await startDynamo();
 * const items = await dynamo.scan();
 */
export async function startDynamo(
  options: { readonly tables?: readonly TableSpec[] } = {},
) {
  const tables = options.tables ?? [await serviceTable()];
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const requests = recordRequests(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // Clients reach dynalite through a loopback TCP relay, so an outage can be
  // staged by closing the relay while dynalite (and its data) lives on.
  const relay = tcpRelay((server.address() as AddressInfo).port);
  const port = await relay.listen(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = CREDENTIALS;
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials });
  for (const spec of tables) await createTable(client, spec);
  const tableName = tables[0]?.name ?? '';
  return {
    endpoint,
    /** The first table's name (`''` when started without tables). */
    tableName,
    /** A client of the caller's own (functions build their own). */
    client,
    /** Every request dynalite received, oldest first (including scans). */
    requests,
    /** Every item of the table (default {@link tableName}), unmarshalled. */
    async scan(name = tableName): Promise<Record<string, unknown>[]> {
      const items: Record<string, unknown>[] = [];
      let cursor: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({ TableName: name, ExclusiveStartKey: cursor }),
        );
        for (const item of page.Items ?? []) items.push(unmarshall(item));
        cursor = page.LastEvaluatedKey;
      } while (cursor);
      return items;
    },
    /** Stops the server for good. */
    async stop(): Promise<void> {
      client.destroy();
      await relay.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    /** Refuses (and cuts) connections until {@link resume}; data survives. */
    interrupt: (): Promise<void> => relay.close(),
    /** Ends the outage on the same endpoint. */
    async resume(): Promise<void> {
      await relay.listen(port);
    },
  };
}

/** Records every request the server receives, body included. */
function recordRequests(server: Server): DynamoRequest[] {
  const requests: DynamoRequest[] = [];
  server.on('request', (req) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        // Not JSON: the operation name alone is still worth counting.
      }
      requests.push({ operation: target.split('.').pop() ?? target, input });
    });
  });
  return requests;
}

/** Forwards loopback TCP connections to a local port while listening. */
function tcpRelay(target: number) {
  const sockets = new Set<Socket>();
  let server: ReturnType<typeof createServer> | undefined;
  return {
    async listen(port: number): Promise<number> {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
      return (server.address() as AddressInfo).port;
    },
    async close(): Promise<void> {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      if (closing) await new Promise((resolve) => closing.close(resolve));
    },
  };
}
