/**
 * CodeBuild's JSON 1.1 protocol on 127.0.0.1: `POST /` with `X-Amz-Target:
 * CodeBuild_20161006.<Operation>`, epoch-second timestamps, errors as
 * `{"__type", "message"}`, and each operation's input validation.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatusType } from '@aws-sdk/client-codebuild';
import {
  RETRY_TYPES,
  type RetryType,
  TERMINAL_BUILD_STATUSES,
} from '../../../lambda/contract.js';
import type { FaultInjector } from './faults.js';

const TARGET_PREFIX = 'CodeBuild_20161006.';
const MAX_IDS = 100;
const SORT_ORDERS = ['ASCENDING', 'DESCENDING'] as const;
const STATUSES: readonly StatusType[] = [
  ...TERMINAL_BUILD_STATUSES,
  'IN_PROGRESS',
];

/** An error the API answers with (`__type`, message, HTTP status). */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

/** A request as it arrived, before latency and faults. */
export interface ArrivalRecord {
  /** Operation from `X-Amz-Target` (the raw header if it lacks the prefix). */
  readonly operation: string;
  /** The parsed JSON body (the raw text if it is not JSON). */
  readonly input: unknown;
  /** Emulator clock (ms) when the request arrived. */
  readonly at: number;
}

/** A request the emulator answered, with its HTTP status and error `__type`. */
export interface RequestRecord extends ArrivalRecord {
  readonly status: number;
  readonly errorType?: string;
}

/** Parameters of a list call, already validated. */
export interface ListParams {
  projectName?: string;
  status?: StatusType;
  sortOrder: (typeof SORT_ORDERS)[number];
  maxResults: number;
  nextToken?: string;
}

/** The state behind the operations served, and the request logs. */
export interface CodeBuildApi {
  readonly arrivals: ArrivalRecord[];
  readonly requests: RequestRecord[];
  batchGetBuilds(ids: readonly string[]): unknown;
  batchGetBuildBatches(ids: readonly string[]): unknown;
  retryBuildBatch(id: string, type?: RetryType, token?: string): unknown;
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
  const rule = 'Member must not be null';
  check(value !== undefined || !required, field, value, rule);
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
function operations(api: CodeBuildApi): Record<string, (i: Input) => unknown> {
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

/** A value as JSON 1.1 sends it: `Date`s as epoch seconds, no `undefined`. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) =>
      v === undefined ? [] : [[k, toWire(v)]],
    ),
  );
}

/**
 * Serves the protocol for `api` on a free loopback port; `stop` closes
 * keep-alive connections and drops requests waiting out injected latency.
 */
export async function serve(
  api: CodeBuildApi,
  now: () => number,
  faults: FaultInjector,
) {
  const table = operations(api);
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
    const send = (status: number, payload: unknown) => {
      if (res.destroyed) return;
      const body = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(body),
        'x-amzn-requestid': randomUUID(),
      });
      res.end(body);
    };
    handle(req, send).catch((error: unknown) => {
      if (!res.headersSent) {
        send(500, { __type: 'InternalFailure', message: String(error) });
      }
    });
  });

  /** Answers one request: checks, latency, injected faults, the operation. */
  async function handle(
    req: IncomingMessage,
    reply: (status: number, payload: unknown) => void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : target;
    let input: unknown;
    try {
      input = body.trim() === '' ? {} : JSON.parse(body);
    } catch {
      input = body;
    }
    api.arrivals.push({ operation, input, at: now() });

    const send = (status: number, payload: unknown, errorType?: string) => {
      const record = { operation, input, status, at: now() };
      api.requests.push(errorType ? { ...record, errorType } : record);
      reply(status, payload);
    };
    const fail = (error: ApiError) =>
      send(
        error.status,
        { __type: error.type, message: error.message },
        error.type,
      );
    const unknown = (message: string, status?: number) =>
      fail(new ApiError('UnknownOperationException', message, status));

    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      return unknown('Only POST / is supported', 404);
    }
    const run = target.startsWith(TARGET_PREFIX) ? table[operation] : undefined;
    if (!run) {
      return unknown(
        target
          ? `Unknown or unsupported operation: ${target}`
          : 'Missing X-Amz-Target header',
      );
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      const message = 'Request body is not a JSON object';
      return fail(new ApiError('SerializationException', message));
    }
    const latency = faults.latencyFor(operation);
    if (latency > 0 && !(await sleep(latency))) return;
    const injected = faults.take(operation);
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
