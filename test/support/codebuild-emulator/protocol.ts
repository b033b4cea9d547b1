import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from './faults.js';
import type { Operation } from './operations.js';
import { ApiError, type ArrivalRecord, type RequestRecord } from './types.js';

/** `X-Amz-Target` prefix of CodeBuild's JSON 1.1 API. */
export const TARGET_PREFIX = 'CodeBuild_20161006.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * Converts a value to what the JSON 1.1 protocol puts on the wire: `Date`s
 * become epoch seconds (fractional), `undefined` members are left out.
 */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) out[key] = toWire(member);
    }
    return out;
  }
  return value;
}

export interface ProtocolContext {
  readonly now: () => number;
  /** Receives each request as it arrives. */
  readonly arrivals: ArrivalRecord[];
  /** Receives each request when it is answered. */
  readonly requests: RequestRecord[];
  readonly faults: FaultInjector;
  readonly operations: Readonly<Record<string, Operation>>;
}

/** A running server and how to stop it. */
export interface RunningServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Serves the JSON 1.1 protocol for `context` on 127.0.0.1. */
export async function serve(
  context: ProtocolContext,
  port = 0,
): Promise<RunningServer> {
  const sleepers = new Set<() => void>();
  let stopped = false;
  /** Resolves `true` after `ms`, or `false` as soon as the server stops. */
  const sleep = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        sleepers.delete(wake);
        resolve(!stopped);
      }, ms);
      sleepers.add(wake);
    });

  const server: Server = createServer((req, res) => {
    handle(context, req, res, sleep).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        reply(res, 500, {
          __type: 'InternalFailure',
          message: String(error),
        });
      }
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { port: actual } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${actual}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const wake of [...sleepers]) wake();
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

function reply(res: ServerResponse, status: number, payload: unknown): void {
  if (res.destroyed) return;
  const body = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(body);
}

async function handle(
  context: ProtocolContext,
  req: IncomingMessage,
  res: ServerResponse,
  sleep: (ms: number) => Promise<boolean>,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith(TARGET_PREFIX)
    ? target.slice(TARGET_PREFIX.length)
    : target;
  let input: unknown;
  try {
    input = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    input = text;
  }
  context.arrivals.push({ operation, input, at: context.now() });

  const send = (status: number, payload: unknown, errorType?: string) => {
    context.requests.push({
      operation,
      input,
      status,
      ...(errorType ? { errorType } : {}),
      at: context.now(),
    });
    reply(res, status, payload);
  };
  const fail = (error: ApiError) =>
    send(
      error.status,
      { __type: error.type, message: error.message },
      error.type,
    );

  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    return fail(
      new ApiError(
        'UnknownOperationException',
        'Only POST / is supported',
        404,
      ),
    );
  }
  const run = target.startsWith(TARGET_PREFIX)
    ? context.operations[operation]
    : undefined;
  if (!run) {
    return fail(
      new ApiError(
        'UnknownOperationException',
        target
          ? `Unknown or unsupported operation: ${target}`
          : 'Missing X-Amz-Target header',
      ),
    );
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail(
      new ApiError(
        'SerializationException',
        'Request body is not a JSON object',
      ),
    );
  }
  const latency = context.faults.latencyFor(operation);
  if (latency > 0 && !(await sleep(latency))) return;
  const injected = context.faults.take(operation);
  if (injected) return fail(injected);
  try {
    send(200, toWire(run(input as Record<string, unknown>)));
  } catch (error) {
    if (error instanceof ApiError) return fail(error);
    fail(new ApiError('InternalFailure', String(error), 500));
  }
}
