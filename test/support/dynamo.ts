import { once } from 'node:events';
import type { Server } from 'node:http';
import {
  type AddressInfo,
  connect,
  createServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import { TABLE } from '../../lambda/contract.js';

/** Credentials the local servers accept (they do not check signatures). */
export const TEST_CREDENTIALS = {
  accessKeyId: 'AKIDLOCAL',
  secretAccessKey: 'local-secret',
};

/** One DynamoDB API request, as dynalite received it. */
export interface DynamoRequest {
  /** `PutItem`, `UpdateItem`, … */
  readonly operation: string;
  /** The wire-format (low-level) request body. */
  readonly input: Record<string, unknown>;
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

/** dynalite on 127.0.0.1 with the service's table. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly tableName: string;
  /** A client of the test's own (the function builds its own). */
  readonly client: DynamoDBClient;
  /** Every item of the table, unmarshalled. */
  scan(): Promise<Record<string, unknown>[]>;
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
 * Starts dynalite on a free loopback port and creates the table the stack
 * defines: key `id`, the sparse `watched` index.
 *
 * @example
 * const dynamo = await startDynamo();
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
 */
export async function startDynamo(
  tableName = 'batch-retry',
): Promise<LocalDynamo> {
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
          IndexName: TABLE.watchIndex,
          KeySchema: [
            { AttributeName: 'watchShard', KeyType: 'HASH' },
            { AttributeName: 'watchedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  return {
    endpoint,
    tableName,
    client,
    requests,
    async scan() {
      const { Items } = await client.send(
        new ScanCommand({ TableName: tableName }),
      );
      return (Items ?? []).map((item) => unmarshall(item));
    },
    async stop() {
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

/** Forwards loopback TCP connections to a local port. */
class TcpRelay {
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #server?: NetServer;

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
    if (server)
      await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** dynalite on 127.0.0.1 without any table (callers create their own). */
export interface LocalDynaliteServer {
  readonly endpoint: string;
  /** A client of the caller's own (functions build their own). */
  readonly client: DynamoDBClient;
  /** Every item of `tableName`, unmarshalled (all pages). */
  scan(tableName: string): Promise<Record<string, unknown>[]>;
  /** Stops the server for good. */
  stop(): Promise<void>;
  /** Starts an outage (see {@link LocalDynamo.interrupt}). */
  interrupt(): Promise<void>;
  /** Ends the outage on the same endpoint. */
  resume(): Promise<void>;
}

/**
 * Starts dynalite behind the same loopback relay as {@link startDynamo}, but
 * creates no table: for callers that create tables from a template.
 *
 * @example
 * const dynamo = await startDynalite();
 * await dynamo.client.send(new CreateTableCommand(fromTemplate));
 */
export async function startDynalite(): Promise<LocalDynaliteServer> {
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const relay = new TcpRelay((server.address() as AddressInfo).port);
  const port = await relay.listen(0);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
  });
  return {
    endpoint,
    client,
    async scan(tableName) {
      const items: Record<string, unknown>[] = [];
      let cursor: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({ TableName: tableName, ExclusiveStartKey: cursor }),
        );
        for (const item of page.Items ?? []) items.push(unmarshall(item));
        cursor = page.LastEvaluatedKey;
      } while (cursor);
      return items;
    },
    async stop() {
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
