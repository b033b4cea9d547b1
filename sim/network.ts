/**
 * The network between the function and the local services.
 *
 * Every Lambda execution environment gets its own endpoint on 127.0.0.1; its
 * `AWS_ENDPOINT_URL_CODEBUILD`, `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` and
 * `AWS_ENDPOINT_URL_DYNAMODB` and `AWS_ENDPOINT_URL_SQS` all point there, and
 * the endpoint forwards each request, by its `X-Amz-Target`, to the
 * CodeBuild, CloudWatch Logs, SQS or EventBridge emulator or to dynalite. Knowing which environment talks
 * lets it count calls, throttle DynamoDB, pass a DynamoDB outage through as
 * a reset connection, and kill the environment at a precise point of the
 * conversation (after CodeBuild accepted RetryBuildBatch and before the
 * function sees the answer, for example).
 */
import { once } from 'node:events';
import {
  Agent,
  createServer,
  type IncomingHttpHeaders,
  request,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Random } from './random.js';

/** Where an invocation can be killed. */
export const CRASH_POINTS = [
  /** After BatchGetBuilds answered, before the batch is read. */
  'after-lookup',
  /** After the budget reservation was written, before its answer arrives. */
  'after-reserve',
  /** After reserving, before RetryBuildBatch is sent. */
  'before-retry-call',
  /** CodeBuild accepted RetryBuildBatch; the answer never arrives. */
  'during-retry-call',
  /** RetryBuildBatch answered; killed before the idempotency record is completed. */
  'after-retry-call',
] as const;

/** One of {@link CRASH_POINTS}. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** One API call seen on the wire. */
export interface CallRecord {
  readonly service: 'codebuild' | 'logs' | 'dynamodb' | 'sqs' | 'events';
  readonly operation: string;
  /** The invocation the environment was running when it made the call. */
  readonly requestId?: string;
  /** RetryBuildBatch only: the batch's id (or ARN), as sent. */
  readonly batchId?: string;
  /**
   * CodeBuild only: what the call is about, as sent — the `ids` of
   * BatchGetBuildBatches and BatchGetBuilds, the `id` of RetryBuildBatch,
   * the `names` of BatchGetProjects (the figures attribute a queue
   * invocation's calls to its messages with them).
   */
  readonly subjects?: readonly string[];
  readonly status: number;
  /** The error type of a failed call (e.g. ThrottlingException). */
  readonly errorType?: string;
  /** Set when the network itself produced the outcome. */
  readonly injected?: 'throttle' | 'outage' | 'crash';
  /** CloudWatch Logs only: the answer (build logs can hold secrets). */
  readonly answer?: string;
}

/** Options of {@link Network}. */
export interface NetworkOptions {
  readonly codebuildEndpoint: string;
  readonly logsEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly eventsEndpoint: string;
  readonly random: Random;
  /** Probability that a DynamoDB call is answered with a throttling error. */
  readonly dynamodbThrottleRate?: number;
  readonly onCall?: (call: CallRecord) => void;
}

/**
 * An environment's endpoint: its URL, `arm` (which crash points kill the
 * next invocation, and what to do when one does), `sever` (cut every request
 * from now on: the environment died) and `close`.
 */
export type Endpoint = Awaited<ReturnType<Network['open']>>;

const SERVICES: Readonly<Record<string, CallRecord['service']>> = {
  CodeBuild_20161006: 'codebuild',
  Logs_20140328: 'logs',
  DynamoDB_20120810: 'dynamodb',
  AmazonSQS: 'sqs',
  AWSEvents: 'events',
};

/** What DynamoDB answers when throttled, as the SDK expects it. */
const THROTTLED = {
  __type:
    'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message:
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
};

/**
 * The per-environment endpoints and their faults.
 *
 * @example
 * const network = new Network({ codebuildEndpoint, logsEndpoint, dynamodbEndpoint, random });
 * const endpoint = await network.open();
 */
export class Network {
  readonly #o: NetworkOptions;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 256 });
  readonly #endpoints = new Set<{ close(): Promise<void> }>();

  constructor(options: NetworkOptions) {
    this.#o = options;
  }

  /** Opens an endpoint for one execution environment. */
  async open() {
    const options = this.#o;
    const sockets = new Set<Socket>();
    let severed = false;
    let kills: ((point: CrashPoint) => boolean) | undefined;
    let onCrash: ((point: CrashPoint) => void) | undefined;
    let retryAnswered = false;
    let requestId: string | undefined;

    const fire = (point: CrashPoint): boolean => {
      if (severed || !kills?.(point)) return false;
      kills = undefined;
      severed = true;
      onCrash?.(point);
      return true;
    };

    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const cut = () => void req.socket.destroy();
      if (severed) return cut();
      const [prefix = '', operation = '?'] = String(
        req.headers['x-amz-target'] ?? '',
      ).split('.');
      const service = SERVICES[prefix];
      if (!service) {
        res.writeHead(400).end('{"__type":"UnknownOperationException"}');
        return;
      }
      const batchId =
        operation === 'RetryBuildBatch'
          ? String(JSON.parse(body.toString('utf8')).id)
          : undefined;
      const subjects = service === 'codebuild' ? subjectsOf(body) : undefined;
      const record = (status: number, extra: Partial<CallRecord> = {}) =>
        options.onCall?.({
          ...{ service, operation, status, requestId, batchId, subjects },
          ...extra,
        });

      // Kill points before the request leaves.
      if (
        (operation === 'BatchGetBuildBatches' && fire('after-lookup')) ||
        (operation === 'RetryBuildBatch' && fire('before-retry-call')) ||
        (service === 'dynamodb' && retryAnswered && fire('after-retry-call'))
      ) {
        record(0, { injected: 'crash' });
        return cut();
      }
      if (
        service === 'dynamodb' &&
        options.random.chance(options.dynamodbThrottleRate ?? 0)
      ) {
        const errorType = 'ProvisionedThroughputExceededException';
        record(400, { errorType, injected: 'throttle' });
        res.writeHead(400, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': 'sim-throttle',
        });
        res.end(JSON.stringify(THROTTLED));
        return;
      }

      let answer: Answer;
      try {
        const base = options[`${service}Endpoint`];
        answer = await this.#forward(new URL(req.url ?? '/', base), req, body);
      } catch {
        // The service is down: the client sees its connection reset.
        record(0, { injected: 'outage', errorType: 'ECONNRESET' });
        return cut();
      }

      // Kill points after the service acted, before the answer arrives.
      const accepted = answer.status === 200;
      if (
        (accepted &&
          operation === 'RetryBuildBatch' &&
          fire('during-retry-call')) ||
        (accepted &&
          operation === 'UpdateItem' &&
          body.includes('if_not_exists(retries') &&
          fire('after-reserve'))
      ) {
        record(answer.status, { injected: 'crash' });
        return cut();
      }
      if (operation === 'RetryBuildBatch') retryAnswered = true;

      record(answer.status, {
        errorType: answer.status >= 300 ? errorTypeOf(answer.body) : undefined,
        ...(service === 'logs' && { answer: answer.body.toString('utf8') }),
      });
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');

    const sever = () => {
      severed = true;
      for (const socket of sockets) socket.destroy();
    };
    const endpoint = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      arm: (
        decide: ((point: CrashPoint) => boolean) | undefined,
        callback: (point: CrashPoint) => void,
        invocation?: string,
      ) => {
        requestId = invocation;
        kills = decide;
        onCrash = callback;
        retryAnswered = false;
      },
      sever,
      close: async () => {
        sever();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        this.#endpoints.delete(endpoint);
      },
    };
    this.#endpoints.add(endpoint);
    return endpoint;
  }

  /** Closes every endpoint still open. */
  async close(): Promise<void> {
    await Promise.all([...this.#endpoints].map((e) => e.close()));
    this.#agent.destroy();
  }

  #forward(
    url: URL,
    { method, headers }: { method?: string; headers: IncomingHttpHeaders },
    body: Buffer,
  ): Promise<Answer> {
    const agent = this.#agent;
    return new Promise((resolve, reject) => {
      const upstream = request(
        url,
        {
          method,
          agent,
          headers: { ...hopByHopRemoved(headers), host: url.host },
        },
        (response) => {
          const parts: Buffer[] = [];
          response.on('data', (part: Buffer) => parts.push(part));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 500,
              headers: hopByHopRemoved(response.headers),
              body: Buffer.concat(parts),
            }),
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

function hopByHopRemoved(headers: IncomingHttpHeaders) {
  return Object.fromEntries(
    Object.entries(headers).filter(
      (entry): entry is [string, string | string[]] =>
        entry[1] !== undefined && !HOP_BY_HOP.has(entry[0]),
    ),
  );
}

/** The ids, id or names a CodeBuild request names (none: a listing). */
function subjectsOf(body: Buffer): readonly string[] | undefined {
  try {
    const { ids, id, names } = JSON.parse(body.toString('utf8')) as {
      ids?: unknown;
      id?: unknown;
      names?: unknown;
    };
    const list = [ids, names].find(Array.isArray) ?? (id ? [id] : undefined);
    return list?.map(String);
  } catch {
    return undefined;
  }
}

function errorTypeOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { __type?: string };
    return parsed.__type?.split('#').pop();
  } catch {
    return undefined;
  }
}
