/**
 * Lambda's asynchronous invocation, as the template configures it: a queue;
 * execution environments (worker threads that imported the bundled asset
 * once) running one invocation at a time, idle ones reused at random and
 * reclaimed after 30 idle minutes, each frozen between invocations (see
 * lambda-worker.mjs); at most the reserved (or the account's) concurrency,
 * events finding no capacity retried after 1 s, doubling to 5 minutes;
 * failed or killed invocations retried `MaximumRetryAttempts` times, one and
 * then two minutes later; events older than `MaximumEventAgeInSeconds`
 * discarded; both sent to the dead-letter queue with Lambda's record. Each
 * invocation's deadline is the template's Timeout after its start.
 */
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { Deployment } from '../tools/local-aws/deployment.js';
import type { SimClock } from './clock.js';
import type { CrashPoint, Endpoint, Network } from './network.js';
import { type Random, uuidAt } from './random.js';
import type { Scheduler } from './scheduler.js';

/** An event in the function's asynchronous queue. */
export interface QueuedEvent {
  readonly seq: number;
  readonly payload: unknown;
  readonly enqueuedAt: number;
  /** Invocations made so far. */
  attempts: number;
  /** Times it found no capacity. */
  throttles: number;
}

/** The error of a failed invocation, as Lambda reports it. */
export interface InvocationError {
  readonly errorType: string;
  readonly errorMessage: string;
}

/** One invocation, for figures and tests. */
export interface InvocationRecord {
  readonly requestId: string;
  readonly event: QueuedEvent;
  readonly coldStart: boolean;
  readonly startedAt: number;
  readonly outcome: 'ok' | 'error' | 'killed';
  readonly result?: unknown;
  readonly error?: InvocationError;
  readonly crashPoint?: CrashPoint;
}

/** A message in the dead-letter queue (Lambda's on-failure record). */
export interface DeadLetter {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: 'RetriesExhausted' | 'EventAgeExceeded';
    readonly approximateInvokeCount: number;
  };
  readonly requestPayload: unknown;
  readonly responsePayload?: InvocationError;
}

/** Decides, per invocation, at which crash points it reached it is killed. */
export type CrashPlan = (invocation: {
  readonly event: QueuedEvent;
  readonly attempt: number;
}) => ((point: CrashPoint) => boolean) | undefined;

/** Options of {@link LambdaRuntime}. */
export interface LambdaRuntimeOptions {
  readonly deployment: Deployment;
  readonly clock: SimClock;
  readonly scheduler: Scheduler;
  readonly network: Network;
  readonly random: Random;
  /** Concurrency when the function has no reserved concurrency. */
  readonly accountConcurrency: number;
  /** Variables besides the template's (region, credentials). */
  readonly baseEnvironment: Readonly<Record<string, string>>;
  /** Variables naming an environment's endpoint `url` (a queue's URL). */
  readonly endpointEnvironment?: (url: string) => Record<string, string>;
  /** Real-time factor for timers inside environments (SDK backoff). Default 0.05. */
  readonly timerScale?: number;
  readonly crashPlan?: CrashPlan;
  readonly onInvocation?: (record: InvocationRecord) => void;
  readonly onDeadLetter?: (message: DeadLetter) => void;
  /** Every line an environment writes to stdout or stderr. */
  readonly onLog?: (line: string) => void;
}

/** Lambda's waits before the first and second asynchronous retry. */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;
/** Lambda reclaims an environment idle this long. */
const IDLE_LIFETIME_MS = 30 * 60_000;
/** Wall-clock time after which an invocation counts as hung. */
const WATCHDOG_MS = 60_000;

const WORKER_URL = new URL('./lambda-worker.mjs', import.meta.url);

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly error: InvocationError;
      readonly died: boolean;
      readonly crashPoint?: CrashPoint;
    };

interface WorkerMessage {
  readonly type: 'ready' | 'result' | 'crashed';
  readonly id?: number;
  readonly ok?: boolean;
  readonly value?: unknown;
  readonly error?: InvocationError;
}

const exited = (errorMessage: string): InvocationError => ({
  errorType: 'Runtime.ExitError',
  errorMessage,
});

/** One execution environment: an endpoint and a worker thread. */
class ExecutionEnvironment {
  /** Resolves once the bundle is imported (the cold start is over). */
  readonly ready: Promise<void>;
  busy = false;
  /** Simulated time of the last invocation's end. */
  idleSince = 0;
  dead = false;
  readonly #freeze = new Int32Array(new SharedArrayBuffer(4));
  #worker?: Worker;
  #endpoint?: Endpoint;
  #pending?: { id: number; resolve: (outcome: Outcome) => void };
  #nextId = 0;

  constructor(
    readonly id: string,
    endpoint: Promise<Endpoint>,
    spawn: (url: string, freeze: SharedArrayBuffer) => Worker,
    onLog: (line: string) => void,
  ) {
    this.ready = endpoint.then((opened) => {
      this.#endpoint = opened;
      if (this.dead) throw new Error('environment ended before it started');
      const worker = spawn(
        opened.url,
        this.#freeze.buffer as SharedArrayBuffer,
      );
      this.#worker = worker;
      for (const input of [worker.stdout, worker.stderr]) {
        createInterface({ input }).on('line', (line) => line && onLog(line));
      }
      worker.on('message', (message: WorkerMessage) => this.#answer(message));
      worker.on('error', (error) => this.kill(exited(String(error))));
      worker.on('exit', () => this.kill(exited('Runtime exited')));
      return new Promise<void>((resolve, reject) => {
        worker.on(
          'message',
          (m: WorkerMessage) => m.type === 'ready' && resolve(),
        );
        worker.once('error', reject);
        worker.once('exit', () => reject(new Error('worker exited')));
      });
    });
    // Failures surface through invoke(); never as unhandled rejections.
    this.ready.catch(() => undefined);
  }

  #answer(message: WorkerMessage): void {
    const pending = this.#pending;
    if (!pending || message.id !== pending.id) return;
    const error = message.error as InvocationError;
    if (message.type === 'crashed') this.kill(error);
    if (message.type !== 'result') return;
    this.#pending = undefined;
    pending.resolve(
      message.ok
        ? { ok: true, value: message.value }
        : { ok: false, error, died: false },
    );
  }

  async invoke(
    event: unknown,
    requestId: string,
    deadlineMs: number,
    kills: ((point: CrashPoint) => boolean) | undefined,
  ): Promise<Outcome> {
    await this.ready;
    const id = ++this.#nextId;
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        this.kill({
          errorType: 'Sandbox.Timedout',
          errorMessage: `no answer after ${WATCHDOG_MS} ms of wall-clock time`,
        });
      }, WATCHDOG_MS);
      this.#pending = {
        id,
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      if (this.dead) return this.kill(exited('dead'));
      this.#endpoint?.arm(
        kills,
        (point) => {
          const message = `RequestId: ${requestId} Error: Runtime exited (killed at ${point})`;
          this.kill(exited(message), point);
        },
        requestId,
      );
      // Thaw: whatever the last invocation left running resumes now.
      Atomics.add(this.#freeze, 0, 1);
      Atomics.notify(this.#freeze, 0);
      this.#worker?.postMessage({
        type: 'invoke',
        id,
        event,
        requestId,
        deadlineMs,
      });
    });
  }

  /** Ends the environment now; a pending invocation fails. */
  kill(error: InvocationError, crashPoint?: CrashPoint): void {
    if (!this.dead) {
      this.dead = true;
      this.#endpoint?.sever();
      void this.#worker?.terminate();
    }
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve({ ok: false, error, died: true, crashPoint });
  }

  async close(): Promise<void> {
    this.dead = true;
    await this.ready.catch(() => undefined);
    await this.#worker?.terminate();
    await this.#endpoint?.close();
  }
}

/**
 * Runs the bundled function with Lambda's asynchronous invocation semantics.
 *
 * @example
 * const lambda = new LambdaRuntime({ deployment, clock, scheduler, network, ... });
 * lambda.invokeAsync(event);
 */
export class LambdaRuntime {
  readonly #o: LambdaRuntimeOptions;
  readonly #environments: ExecutionEnvironment[] = [];
  readonly #closed: Promise<void>[] = [];
  #seq = 0;
  #requests = 0;
  /** Events accepted and not yet finished (succeeded or dead-lettered). */
  outstanding = 0;
  readonly stats = {
    coldStarts: 0,
    /** Asynchronous retries Lambda made after a failed invocation. */
    retried: 0,
    /** Times an event found no capacity. */
    throttled: 0,
    maxConcurrency: 0,
    /** Environments reclaimed after staying idle. */
    reclaimed: 0,
  };

  constructor(options: LambdaRuntimeOptions) {
    this.#o = options;
  }

  /** Puts an event in the asynchronous queue (the Invoke API, Event type). */
  invokeAsync(payload: unknown): void {
    const enqueuedAt = this.#o.clock.now();
    const event = {
      seq: ++this.#seq,
      payload,
      enqueuedAt,
      attempts: 0,
      throttles: 0,
    };
    this.outstanding++;
    this.#o.scheduler.at(enqueuedAt, () => this.#dispatch(event));
  }

  /** Ends every environment. */
  async close(): Promise<void> {
    // Let the last log lines cross from the workers.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([
      ...this.#environments.map((env) => env.close()),
      ...this.#closed,
    ]);
    this.#environments.length = 0;
  }

  /**
   * Holds an environment for one synchronous invocation (RequestResponse,
   * as an event source mapping makes it): `invoke` runs it and gives its
   * record, `release` gives the environment back unused. Undefined when no
   * capacity is free.
   */
  reserve() {
    const { clock } = this.#o;
    const event = { seq: ++this.#seq, enqueuedAt: clock.now() };
    const slot = this.#acquire({
      ...event,
      payload: undefined,
      attempts: 0,
      throttles: 0,
    });
    if (!slot) return undefined;
    const [env, coldStart] = slot;
    return {
      invoke: (payload: unknown) =>
        this.#execute(
          { ...event, payload, attempts: 0, throttles: 0 },
          env,
          coldStart,
        ),
      release: () => {
        env.busy = false;
        env.idleSince = clock.now();
      },
    };
  }

  get #concurrency(): number {
    const reserved = this.#o.deployment.fn.reservedConcurrency;
    return reserved ?? this.#o.accountConcurrency;
  }

  #dispatch(event: QueuedEvent): Promise<void> | undefined {
    const { clock, deployment, scheduler } = this.#o;
    const now = clock.now();
    const maxAgeMs = deployment.asyncInvoke.maximumEventAgeSeconds * 1000;
    if (now - event.enqueuedAt > maxAgeMs) {
      this.#deadLetter(event, 'EventAgeExceeded');
      return undefined;
    }
    const slot = this.#acquire(event);
    if (!slot) {
      // Throttled: retried after 1 s, doubling, at most 5 minutes.
      this.stats.throttled++;
      const delay = Math.min(1_000 * 2 ** event.throttles++, 300_000);
      scheduler.after(delay, () => this.#dispatch(event));
      return undefined;
    }
    return this.#run(event, ...slot);
  }

  /** An idle environment (at random), a new one, or none within the concurrency. */
  #acquire(event: QueuedEvent): [ExecutionEnvironment, boolean] | undefined {
    const { clock, random } = this.#o;
    const now = clock.now();
    const busy = this.#environments.filter((e) => !e.dead && e.busy).length;
    for (const env of [...this.#environments]) {
      if (!env.dead && !env.busy && now - env.idleSince >= IDLE_LIFETIME_MS) {
        this.stats.reclaimed++;
        this.#retire(env);
      }
    }
    const idle = this.#environments.filter((e) => !e.dead && !e.busy);
    let env =
      idle[
        random.intAt(0, idle.length - 1, 'reuse', event.seq, event.attempts)
      ];
    if (!env && busy >= this.#concurrency) return undefined;
    const coldStart = !env;
    env ??= this.#startEnvironment();
    env.busy = true;
    this.stats.maxConcurrency = Math.max(this.stats.maxConcurrency, busy + 1);
    return [env, coldStart];
  }

  #retire(env: ExecutionEnvironment): void {
    const index = this.#environments.indexOf(env);
    if (index >= 0) this.#environments.splice(index, 1);
    this.#closed.push(env.close().catch(() => undefined));
  }

  #startEnvironment(): ExecutionEnvironment {
    const { deployment, clock, network, baseEnvironment } = this.#o;
    const id = `env-${++this.stats.coldStarts}`;
    const { fn } = deployment;
    const logStreamName = `2026/11/16/[$LATEST]${id}`;
    const spawn = (url: string, freezeBuffer: SharedArrayBuffer) =>
      new Worker(WORKER_URL, {
        workerData: {
          clockBuffer: clock.buffer,
          freezeBuffer,
          timerScale: this.#o.timerScale ?? 0.05,
          codeDirectory: fn.codeDirectory,
          handler: fn.handler,
          functionName: fn.name,
          functionArn: fn.arn,
          memoryMb: fn.memoryMb,
          logGroupName: fn.logGroupName,
          logStreamName,
        },
        env: {
          ...fn.environment,
          ...baseEnvironment,
          AWS_LAMBDA_FUNCTION_NAME: fn.name,
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
          AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName,
          AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
          LAMBDA_TASK_ROOT: fn.codeDirectory,
          _HANDLER: fn.handler,
          TZ: ':UTC',
          // The SDK's standard variables: the only way the function learns
          // where CodeBuild, CloudWatch Logs, DynamoDB and SQS are.
          AWS_ENDPOINT_URL_CODEBUILD: url,
          AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: url,
          AWS_ENDPOINT_URL_SQS: url,
          AWS_ENDPOINT_URL_EVENTBRIDGE: url,
          AWS_ENDPOINT_URL_DYNAMODB: url,
          ...this.#o.endpointEnvironment?.(url),
        },
        stdout: true,
        stderr: true,
        execArgv: [],
      });
    const env = new ExecutionEnvironment(id, network.open(), spawn, (line) =>
      this.#o.onLog?.(line),
    );
    this.#environments.push(env);
    return env;
  }

  async #run(
    event: QueuedEvent,
    env: ExecutionEnvironment,
    coldStart: boolean,
  ): Promise<void> {
    const record = await this.#execute(event, env, coldStart);
    const { deployment, scheduler } = this.#o;
    if (record.outcome === 'ok') {
      this.outstanding--;
    } else if (event.attempts > deployment.asyncInvoke.maximumRetryAttempts) {
      const { error, requestId } = record;
      this.#deadLetter(event, 'RetriesExhausted', error, requestId);
    } else {
      this.stats.retried++;
      const delay = ASYNC_RETRY_DELAYS_MS[Math.min(event.attempts - 1, 1)];
      scheduler.after(delay as number, () => this.#dispatch(event));
    }
  }

  async #execute(
    event: QueuedEvent,
    env: ExecutionEnvironment,
    coldStart: boolean,
  ): Promise<InvocationRecord> {
    const { clock, deployment, random } = this.#o;
    const startedAt = clock.now();
    const attempt = ++event.attempts;
    const requestId = uuidAt(random, 'request', ++this.#requests);
    const kills = this.#o.crashPlan?.({ event, attempt });
    const deadline = startedAt + deployment.fn.timeoutSeconds * 1000;
    const outcome: Outcome = await env
      .invoke(event.payload, requestId, deadline, kills)
      .catch((error) => {
        const failed = {
          errorType: 'Runtime.InitError',
          errorMessage: String(error),
        };
        env.kill(failed);
        return { ok: false, died: true, error: failed };
      });
    env.busy = false;
    env.idleSince = clock.now();
    if (env.dead) this.#retire(env);

    const record: InvocationRecord = {
      requestId,
      event,
      coldStart,
      startedAt,
      outcome: outcome.ok ? 'ok' : outcome.died ? 'killed' : 'error',
      ...(outcome.ok
        ? { result: outcome.value }
        : { error: outcome.error, crashPoint: outcome.crashPoint }),
    };
    this.#o.onInvocation?.(record);
    return record;
  }

  #deadLetter(
    event: QueuedEvent,
    condition: DeadLetter['requestContext']['condition'],
    error?: InvocationError,
    requestId?: string,
  ): void {
    const { clock, deployment, random } = this.#o;
    this.outstanding--;
    this.#o.onDeadLetter?.({
      version: '1.0',
      timestamp: new Date(clock.now()).toISOString(),
      requestContext: {
        requestId: requestId ?? uuidAt(random, 'discarded', event.seq),
        functionArn: `${deployment.fn.arn}:$LATEST`,
        condition,
        approximateInvokeCount: event.attempts,
      },
      requestPayload: event.payload,
      responsePayload: error,
    });
  }
}
