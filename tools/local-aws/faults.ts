import { ApiError } from './wire-server.js';

/**
 * An injected error: `throttle` is HTTP 400 `ThrottlingException` "Rate
 * exceeded", `server-error` HTTP 500 `InternalFailure`, otherwise the given
 * `__type` and HTTP status. With `afterActing`, the service acts on the
 * request and then answers the error: the answer was lost on the way back.
 */
export type FaultKind =
  | 'throttle'
  | 'server-error'
  | { type: string; status: number; message?: string; afterActing?: boolean };

/** An error to answer, and whether the service acts on the request first. */
export interface InjectedFault {
  readonly error: ApiError;
  readonly afterActing: boolean;
}

/**
 * Random faults: shares (0–1) of requests answered with `ThrottlingException`
 * or HTTP 500 `InternalFailure` after `latencyMs`, limited to `operations`
 * (default all), drawn from `random` (default `Math.random`).
 */
export interface FaultConfig {
  throttleRate?: number;
  serverErrorRate?: number;
  latencyMs?: number;
  operations?: readonly string[];
  random?: () => number;
}

function toError(kind: FaultKind): ApiError {
  if (kind === 'throttle') {
    return new ApiError('ThrottlingException', 'Rate exceeded');
  }
  if (kind === 'server-error') {
    const message =
      'The request processing has failed because of an unknown error, exception or failure.';
    return new ApiError('InternalFailure', message, 500);
  }
  const message = kind.message ?? `Injected ${kind.type}`;
  return new ApiError(kind.type, message, kind.status);
}

/**
 * Decides, per request, whether to delay it and whether to answer it with an
 * injected error: queued {@link FaultInjector.failNext} faults first, then the
 * random rates of {@link FaultInjector.set}.
 */
export class FaultInjector {
  #config: FaultConfig = {};
  readonly #queued: { operation: string; kind: FaultKind }[] = [];
  /** Injected `ThrottlingException`s so far. */
  throttled = 0;

  /** Replaces the random fault configuration (`{}` turns it off). */
  set(config: FaultConfig): void {
    for (const rate of [config.throttleRate, config.serverErrorRate]) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
        throw new Error('fault rates must be between 0 and 1');
      }
    }
    this.#config = { ...config };
  }

  /** Queues `count` error responses for `operation` (`*`: any operation). */
  failNext(operation: string, count: number, kind: FaultKind): void {
    if (!Number.isInteger(count) || count < 0) {
      throw new Error('count must be a non-negative integer');
    }
    for (let i = 0; i < count; i++) this.#queued.push({ operation, kind });
  }

  #applies(operation: string): boolean {
    const ops = this.#config.operations;
    return ops === undefined || ops.includes(operation);
  }

  /** Delay (ms) to apply before processing a request of `operation`. */
  latencyFor(operation: string): number {
    return this.#applies(operation) ? (this.#config.latencyMs ?? 0) : 0;
  }

  /** The injected fault for this request, if any (and counts throttles). */
  take(operation: string): InjectedFault | undefined {
    const index = this.#queued.findIndex(
      (q) => q.operation === operation || q.operation === '*',
    );
    const { throttleRate = 0, serverErrorRate = 0 } = this.#config;
    let kind = this.#queued.splice(index, index >= 0 ? 1 : 0)[0]?.kind;
    if (!kind && this.#applies(operation) && throttleRate + serverErrorRate) {
      const draw = (this.#config.random ?? Math.random)();
      if (draw < throttleRate) kind = 'throttle';
      else if (draw < throttleRate + serverErrorRate) kind = 'server-error';
    }
    if (!kind) return undefined;
    const error = toError(kind);
    if (error.type === 'ThrottlingException') this.throttled += 1;
    const afterActing = typeof kind === 'object' && kind.afterActing === true;
    return { error, afterActing };
  }
}
