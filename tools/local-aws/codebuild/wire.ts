/**
 * CodeBuild's JSON 1.1 protocol on 127.0.0.1: `POST /` with `X-Amz-Target:
 * CodeBuild_20161006.<Operation>`, epoch-second timestamps, errors as
 * `{"__type", "message"}`, and each operation's input validation.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusType } from '@aws-sdk/client-codebuild';
import {
  RETRY_TYPES,
  type RetryType,
  TERMINAL_BUILD_STATUSES,
} from '../../../lambda/contract.js';
import type { FaultInjector } from './faults.js';
import { ApiError, type ArrivalRecord, type RequestRecord } from './types.js';

const TARGET_PREFIX = 'CodeBuild_20161006.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_IDS = 100;
const SORT_ORDERS = ['ASCENDING', 'DESCENDING'] as const;

/** Every build and batch status. */
export const STATUSES: readonly StatusType[] = [
  ...TERMINAL_BUILD_STATUSES,
  'IN_PROGRESS',
];

/** Parameters of a list call, already validated. */
export interface ListParams {
  projectName?: string;
  status?: StatusType;
  sortOrder: (typeof SORT_ORDERS)[number];
  maxResults: number;
  nextToken?: string;
}

/** The state behind the operations the emulator serves. */
export interface CodeBuildApi {
  batchGetBuilds(ids: readonly string[]): unknown;
  batchGetBuildBatches(ids: readonly string[]): unknown;
  retryBuildBatch(
    id: string,
    retryType: RetryType | undefined,
    token: string | undefined,
  ): unknown;
  listBuildBatches(params: ListParams): unknown;
}

type Input = Record<string, unknown>;

const NOT_EMPTY = 'Member must have length greater than or equal to 1';

/** Passes if `ok`, else answers InvalidInputException as CodeBuild words it. */
function check(ok: boolean, field: string, value: unknown, rule: string) {
  if (ok) return;
  throw new ApiError(
    'InvalidInputException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${rule}`,
  );
}

const nonEmpty = (v: unknown) => typeof v === 'string' && v.length > 0;

function text(input: Input, field: string, required = false) {
  const value = input[field] ?? undefined;
  check(
    value !== undefined || !required,
    field,
    value,
    'Member must not be null',
  );
  check(value === undefined || nonEmpty(value), field, value, NOT_EMPTY);
  return value as string | undefined;
}

function oneOf<T extends string>(
  value: unknown,
  field: string,
  allowed: readonly T[],
): T | undefined {
  const rule = `Member must satisfy enum value set: [${allowed.join(', ')}]`;
  check(value == null || allowed.includes(value as T), field, value, rule);
  return (value ?? undefined) as T | undefined;
}

function ids(input: Input): string[] {
  const value = input.ids as string[];
  const ok = Array.isArray(value) && value.length > 0 && value.every(nonEmpty);
  check(ok, 'ids', value, NOT_EMPTY);
  const rule = `Member must have length less than or equal to ${MAX_IDS}`;
  check(value.length <= MAX_IDS, 'ids', `[${value.length} ids]`, rule);
  return value;
}

function listParams(input: Input): ListParams {
  const { maxResults: max, filter } = input as {
    maxResults?: number;
    filter?: { status?: unknown };
  };
  const inRange =
    Number.isInteger(max) && Number(max) >= 1 && Number(max) <= MAX_IDS;
  const rule = `Member must have value between 1 and ${MAX_IDS}`;
  check(max === undefined || inRange, 'maxResults', max, rule);
  const isStructure = typeof filter === 'object' && filter !== null;
  const structure = 'Member must be a structure';
  check(filter === undefined || isStructure, 'filter', filter, structure);
  const status = oneOf(filter?.status, 'filter.status', STATUSES);
  return {
    ...(status ? { status } : {}),
    sortOrder: oneOf(input.sortOrder, 'sortOrder', SORT_ORDERS) ?? 'DESCENDING',
    maxResults: max ?? MAX_IDS,
    nextToken: text(input, 'nextToken'),
  };
}

/** The operations served, by `X-Amz-Target` operation name. */
function operations(
  api: CodeBuildApi,
): Record<string, (input: Input) => unknown> {
  return {
    BatchGetBuilds: (input) => api.batchGetBuilds(ids(input)),
    BatchGetBuildBatches: (input) => api.batchGetBuildBatches(ids(input)),
    RetryBuildBatch: (input) => ({
      buildBatch: api.retryBuildBatch(
        text(input, 'id', true) as string,
        oneOf(input.retryType, 'retryType', RETRY_TYPES),
        text(input, 'idempotencyToken'),
      ),
    }),
    ListBuildBatches: (input) => api.listBuildBatches(listParams(input)),
    ListBuildBatchesForProject: (input) =>
      api.listBuildBatches({
        ...listParams(input),
        projectName: text(input, 'projectName', true),
      }),
  };
}

/**
 * A value as the JSON 1.1 protocol puts it on the wire: `Date`s become epoch
 * seconds (fractional), `undefined` members are left out.
 */
function toWire(value: unknown): unknown {
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

/** What the server reads and appends to. */
export interface WireContext {
  readonly api: CodeBuildApi;
  readonly now: () => number;
  /** Receives each request as it arrives. */
  readonly arrivals: ArrivalRecord[];
  /** Receives each request when it is answered. */
  readonly requests: RequestRecord[];
  readonly faults: FaultInjector;
}

/** A running server and how to stop it. */
export interface RunningServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Serves the protocol for `context` on a free loopback port. */
export async function serve(context: WireContext): Promise<RunningServer> {
  const table = operations(context.api);
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

  const server = createServer((req, res) => {
    handle(context, table, req, res, sleep).catch((error: unknown) => {
      if (!res.headersSent) {
        reply(res, 500, { __type: 'InternalFailure', message: String(error) });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
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
  context: WireContext,
  table: Record<string, (input: Input) => unknown>,
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
    const at = context.now();
    context.requests.push({
      operation,
      input,
      status,
      ...(errorType ? { errorType } : {}),
      at,
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
  const run = target.startsWith(TARGET_PREFIX) ? table[operation] : undefined;
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
    send(200, toWire(run(input as Input)));
  } catch (error) {
    fail(
      error instanceof ApiError
        ? error
        : new ApiError('InternalFailure', String(error), 500),
    );
  }
}
