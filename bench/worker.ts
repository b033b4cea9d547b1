// A Lambda-like process: loads bundles as execution environments (one
// module instance each, so each has its own SDK clients, sockets and retry
// quota) and invokes them, one event at a time per environment, on request
// from the parent over IPC. Its stdout/stderr (the function's logs) go to
// /dev/null; their bytes are counted. Built by run.ts into plain JS and run
// with plain `node` and the template's environment (NODE_OPTIONS included).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Messages from the parent. */
export type Request =
  | {
      readonly type: 'load';
      readonly id: number;
      readonly key: string;
      readonly bundle: string;
      /** Set only while the module is imported (config is read then). */
      readonly importEnv?: Readonly<Record<string, string>>;
    }
  | {
      readonly type: 'invoke';
      readonly id: number;
      readonly key: string;
      readonly event: unknown;
    }
  | { readonly type: 'stats'; readonly id: number };

/** Answers to the parent. */
export type Reply =
  | { readonly type: 'loaded'; readonly id: number; readonly ms: number }
  | {
      readonly type: 'invoked';
      readonly id: number;
      readonly ms: number;
      readonly ok: boolean;
      readonly result?: unknown;
      readonly error?: string;
      readonly logBytes: number;
    }
  | {
      readonly type: 'stats';
      readonly id: number;
      /** Peak resident set size of the process so far. */
      readonly maxRssMb: number;
      readonly rssMb: number;
    }
  | { readonly type: 'failed'; readonly id: number; readonly error: string };

const timeoutMs = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 120) * 1000;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench';
const handlers = new Map<string, Handler>();

let logBytes = 0;
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logBytes +=
      typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

/** The context object Lambda passes, with the function's timeout. */
function context() {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:111122223333:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '256',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

const send = (reply: Reply) => process.send?.(reply);

async function handle(request: Request): Promise<Reply> {
  switch (request.type) {
    case 'load': {
      const saved = { ...process.env };
      Object.assign(process.env, request.importEnv ?? {});
      const started = performance.now();
      try {
        const url = `${pathToFileURL(request.bundle).href}?env=${encodeURIComponent(request.key)}`;
        const module = (await import(url)) as { handler?: Handler };
        if (typeof module.handler !== 'function') {
          throw new Error(`${request.bundle} exports no handler`);
        }
        handlers.set(request.key, module.handler);
      } finally {
        for (const name of Object.keys(request.importEnv ?? {})) {
          if (name in saved) process.env[name] = saved[name];
          else delete process.env[name];
        }
      }
      return {
        type: 'loaded',
        id: request.id,
        ms: performance.now() - started,
      };
    }
    case 'invoke': {
      const handler = handlers.get(request.key);
      if (!handler) throw new Error(`no environment ${request.key}`);
      const bytesBefore = logBytes;
      const started = performance.now();
      try {
        const result = await handler(request.event, context());
        const ms = performance.now() - started;
        return {
          type: 'invoked',
          id: request.id,
          ms,
          ok: true,
          result,
          logBytes: logBytes - bytesBefore,
        };
      } catch (error) {
        const ms = performance.now() - started;
        return {
          type: 'invoked',
          id: request.id,
          ms,
          ok: false,
          error: error instanceof Error ? error.name : String(error),
          logBytes: logBytes - bytesBefore,
        };
      }
    }
    case 'stats':
      return {
        type: 'stats',
        id: request.id,
        maxRssMb: peakRssMb(),
        rssMb: process.memoryUsage.rss() / 2 ** 20,
      };
  }
}

/**
 * Peak RSS of this process's own memory. Not `resourceUsage().maxRSS`: Linux
 * carries the parent's peak across fork and exec into it, so every child of
 * the bench would report at least the bench's own RSS. VmHWM belongs to the
 * address space exec created.
 */
function peakRssMb(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = status.match(/^VmHWM:\s+(\d+) kB/m)?.[1];
    if (kb) return Number(kb) / 1024;
  } catch {
    // Not Linux: fall back below.
  }
  return process.resourceUsage().maxRSS / 1024;
}

process.on('message', (request: Request) => {
  handle(request).then(send, (error: unknown) =>
    send({
      type: 'failed',
      id: request.id,
      error:
        error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
});
process.on('disconnect', () => process.exit(0));
