import { ApiError, type FaultConfig, type FaultKind } from './types.js';

function toError(kind: FaultKind): ApiError {
  if (kind === 'throttle') {
    return new ApiError('ThrottlingException', 'Rate exceeded', 400);
  }
  if (kind === 'server-error') {
    return new ApiError(
      'InternalFailure',
      'The request processing has failed because of an unknown error, exception or failure.',
      500,
    );
  }
  return new ApiError(
    kind.type,
    kind.message ?? `Injected ${kind.type}`,
    kind.status,
  );
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
    for (const [name, rate] of [
      ['throttleRate', config.throttleRate],
      ['serverErrorRate', config.serverErrorRate],
    ] as const) {
      if (rate !== undefined && !(rate >= 0 && rate <= 1)) {
        throw new Error(`${name} must be between 0 and 1`);
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

  /** The injected error for this request, if any (and counts it). */
  take(operation: string): ApiError | undefined {
    const error = this.#pick(operation);
    if (error?.type === 'ThrottlingException') this.throttled += 1;
    return error;
  }

  #pick(operation: string): ApiError | undefined {
    const index = this.#queued.findIndex(
      (q) => q.operation === operation || q.operation === '*',
    );
    if (index >= 0) return toError(this.#queued.splice(index, 1)[0].kind);
    if (!this.#applies(operation)) return undefined;
    const { throttleRate = 0, serverErrorRate = 0 } = this.#config;
    if (throttleRate === 0 && serverErrorRate === 0) return undefined;
    const draw = (this.#config.random ?? Math.random)();
    if (draw < throttleRate) return toError('throttle');
    if (draw < throttleRate + serverErrorRate) return toError('server-error');
    return undefined;
  }
}
