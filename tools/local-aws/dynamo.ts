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
  type CreateTableCommandInput,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import type { TableSpec } from './deployment.js';
import { CREDENTIALS, REGION } from './environment.js';
import { serviceTable } from './synth.js';

/** One DynamoDB API request, as dynalite received it. */
export interface DynamoRequest {
  /** `PutItem`, `UpdateItem`, … */
  readonly operation: string;
  /** The wire-format (low-level) request body. */
  readonly input: Record<string, unknown>;
}

/** dynalite on 127.0.0.1. */
export interface LocalDynamo {
  readonly endpoint: string;
  /** The first table's name (`''` when started without tables). */
  readonly tableName: string;
  /** A client of the caller's own (functions build their own). */
  readonly client: DynamoDBClient;
  /** Every item of the table (default {@link tableName}), unmarshalled. */
  scan(tableName?: string): Promise<Record<string, unknown>[]>;
  /** Every request dynalite received, oldest first (including the scans). */
  readonly requests: DynamoRequest[];
  /** Stops the server for good. */
  stop(): Promise<void>;
  /**
   * Starts an outage: connections to the endpoint are refused (and open ones
   * cut) until {@link LocalDynamo.resume}; the data survives.
   */
  interrupt(): Promise<void>;
  /** Ends the outage on the same endpoint. */
  resume(): Promise<void>;
}

/**
 * Creates a table of the template on a local DynamoDB. dynalite has no TTL
 * deletion and no global-table replicas; the key schema, attribute
 * definitions, indexes and billing mode are what the function depends on.
 */
export async function createTable(
  client: DynamoDBClient,
  spec: TableSpec,
): Promise<void> {
  const throughput =
    spec.billingMode === 'PAY_PER_REQUEST'
      ? undefined
      : { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  const indexes = spec.globalSecondaryIndexes;
  const input = {
    TableName: spec.name,
    BillingMode: throughput ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    AttributeDefinitions: [...spec.attributeDefinitions],
    KeySchema: [...spec.keySchema],
    ProvisionedThroughput: throughput,
    GlobalSecondaryIndexes:
      indexes.length === 0
        ? undefined
        : indexes.map((g) => ({ ...g, ProvisionedThroughput: throughput })),
  } as CreateTableCommandInput;
  await client.send(new CreateTableCommand(input));
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
): Promise<LocalDynamo> {
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
  const relay = new TcpRelay((server.address() as AddressInfo).port);
  const port = await relay.listen(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  for (const spec of tables) await createTable(client, spec);
  const tableName = tables[0]?.name ?? '';
  return {
    endpoint,
    tableName,
    client,
    requests,
    async scan(name = tableName) {
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
    async stop() {
      client.destroy();
      await relay.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    interrupt: () => relay.close(),
    async resume() {
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

/** Forwards loopback TCP connections to a local port. */
class TcpRelay {
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #server?: ReturnType<typeof createServer>;

  constructor(target: number) {
    this.#target = target;
  }

  async listen(port: number): Promise<number> {
    const server = createServer((client) => {
      const upstream = connect(this.#target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}
