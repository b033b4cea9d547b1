/**
 * AWS's JSON 1.1 (or 1.0) protocol on 127.0.0.1, shared by the local
 * services: `POST /` with `X-Amz-Target: <prefix>.<Operation>`, `Date`s as
 * epoch seconds, errors as `{"__type", "message"}`, injected faults and
 * latency, and request logs.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultInjector, type FaultKind } from './faults.js';

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

/** Where a server records what it saw and answered. */
export interface RequestLog {
  readonly arrivals: ArrivalRecord[];
  readonly requests: RequestRecord[];
}

/** A JSON object body, as the operations receive it. */
export type Input = Record<string, unknown>;

/**
 * A validation check answering `errorType` (the service's name for bad
 * input) with AWS's wording when `ok` is false.
 */
export const checker =
  (errorType: string) =>
  (ok: boolean, field: string, value: unknown, rule: string): void => {
    if (ok) return;
    throw new ApiError(
      errorType,
      `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${rule}`,
    );
  };

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

/** What {@link serveJson} serves. */
export interface ServeOptions {
  /** `X-Amz-Target` prefix, e.g. `CodeBuild_20161006`. */
  readonly target: string;
  /** The protocol's version, in the content type; default `1.1`. */
  readonly jsonVersion?: '1.0' | '1.1';
  /** Headers added to an error answer, e.g. SQS's `x-amzn-query-error`. */
  readonly errorHeaders?: (error: ApiError) => Record<string, string>;
  /** The operations served, by name; they throw {@link ApiError}s. */
  readonly operations: Readonly<Record<string, (input: Input) => unknown>>;
  readonly log: RequestLog;
  readonly now: () => number;
  readonly faults: FaultInjector;
}

/**
 * Serves the operations on a free loopback port; `stop` closes keep-alive
 * connections and drops requests waiting out injected latency.
 */
export async function serveJson(options: ServeOptions) {
  const { operations: table, log, now, faults, errorHeaders } = options;
  const contentType = `application/x-amz-json-${options.jsonVersion ?? '1.1'}`;
  const prefix = `${options.target}.`;
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
    const send = (status: number, payload: unknown, error?: ApiError) => {
      if (res.destroyed) return;
      const body = JSON.stringify(payload);
      res.writeHead(status, {
        ...(error && errorHeaders?.(error)),
        'content-type': contentType,
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
    reply: (status: number, payload: unknown, error?: ApiError) => void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(prefix)
      ? target.slice(prefix.length)
      : target;
    let input: unknown;
    try {
      input = body.trim() === '' ? {} : JSON.parse(body);
    } catch {
      input = body;
    }
    log.arrivals.push({ operation, input, at: now() });

    const send = (status: number, payload: unknown, error?: ApiError) => {
      const record = { operation, input, status, at: now() };
      log.requests.push(error ? { ...record, errorType: error.type } : record);
      reply(status, payload, error);
    };
    const fail = (error: ApiError) =>
      send(error.status, { __type: error.type, message: error.message }, error);
    const unknown = (message: string, status?: number) =>
      fail(new ApiError('UnknownOperationException', message, status));

    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      return unknown('Only POST / is supported', 404);
    }
    const run = target.startsWith(prefix) ? table[operation] : undefined;
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
    if (injected && !injected.afterActing) return fail(injected.error);
    try {
      const output = toWire(run(input as Input));
      if (injected) return fail(injected.error);
      send(200, output);
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

/**
 * What every local service built on {@link serveJson} shares: its request
 * logs, its clock and faults, and starting and stopping its server.
 * Subclasses add their state and operations and start with {@link listen}.
 */
export abstract class LocalService implements RequestLog {
  /** Every request answered so far, in answer order. */
  readonly requests: RequestRecord[] = [];
  /** Every request as it arrived, before latency and faults. */
  readonly arrivals: ArrivalRecord[] = [];
  protected readonly faults = new FaultInjector();
  #server?: Awaited<ReturnType<typeof serveJson>>;

  /** `now` is the service's clock (ms since the epoch). */
  protected constructor(protected readonly now: () => number) {}

  /** Serves the service on a free loopback port. */
  protected async listen(
    options: Omit<ServeOptions, 'log' | 'now' | 'faults'>,
  ): Promise<void> {
    this.#server = await serveJson({
      ...options,
      log: this,
      now: this.now,
      faults: this.faults,
    });
  }

  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  get endpoint(): string {
    return this.#server?.endpoint ?? '';
  }

  /** Stops the server, dropping requests still waiting out latency. */
  async stop(): Promise<void> {
    await this.#server?.stop();
  }

  /** Answers the next `count` requests of `operation` (`'*'`: any) with `kind`. */
  failNext(operation: string, count: number, kind: FaultKind): void {
    this.faults.failNext(operation, count, kind);
  }

  /** Empties the request logs. */
  resetLog(): void {
    this.requests.length = 0;
    this.arrivals.length = 0;
  }
}
