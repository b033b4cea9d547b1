import { FaultInjector } from './codebuild-emulator/faults.js';
import { CodeBuildModel } from './codebuild-emulator/model.js';
import { operations } from './codebuild-emulator/operations.js';
import { type RunningServer, serve } from './codebuild-emulator/protocol.js';
import type {
  ArrivalRecord,
  BatchSnapshot,
  BuildSnapshot,
  BuildStateChangeEvent,
  CompleteBuildOptions,
  EmulatorOptions,
  EventListener,
  FaultConfig,
  FaultKind,
  ProjectOptions,
  ProjectRef,
  RequestRecord,
  SettleOptions,
  StartBatchOptions,
  TerminalStatus,
} from './codebuild-emulator/types.js';

export { eventDate, isoSeconds } from './codebuild-emulator/events.js';
export { TOKEN_WINDOW_MS } from './codebuild-emulator/model.js';
export { TARGET_PREFIX, toWire } from './codebuild-emulator/protocol.js';
export * from './codebuild-emulator/types.js';

/**
 * A wire-level AWS CodeBuild on 127.0.0.1 for the real
 * `@aws-sdk/client-codebuild`: `POST /` with `X-Amz-Target:
 * CodeBuild_20161006.<Operation>`, JSON 1.1 bodies, epoch-second timestamps,
 * errors as `{"__type", "message"}`. Signatures are not checked.
 *
 * Serves BatchGetBuilds, BatchGetBuildBatches, RetryBuildBatch,
 * ListBuildBatches and ListBuildBatchesForProject. Tests drive the state
 * machine (projects, builds, batches) through the methods below, which act
 * immediately; every child or standalone build that ends emits a
 * `CodeBuild Build State Change` event ({@link CodeBuildEmulator.events},
 * {@link CodeBuildEmulator.onEvent}).
 *
 * @example
 * const cb = await CodeBuildEmulator.start();
 * const client = new CodeBuildClient({ region: 'eu-west-1', endpoint: cb.endpoint, credentials });
 * cb.createProject('web-app');
 * const batch = cb.startBatch('web-app', { groups: ['unit', 'e2e'] });
 * const [unit, e2e] = cb.currentBuilds(batch.arn);
 * cb.completeBuild(unit.arn, 'SUCCEEDED');
 * cb.completeBuild(e2e.arn, 'FAILED');
 * cb.settleBatch(batch.arn); // FAILED
 * await client.send(new RetryBuildBatchCommand({ id: batch.id }));
 * await cb.stop();
 */
export class CodeBuildEmulator {
  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  /** Every event emitted so far, oldest first. */
  readonly events: BuildStateChangeEvent[];
  /**
   * Every request answered so far (with its status), in answer order. A
   * request still waiting out injected latency is not here yet; see
   * {@link arrivals}.
   */
  readonly requests: RequestRecord[];
  /** Every request as it arrived, before latency and faults. */
  readonly arrivals: ArrivalRecord[];
  readonly #model: CodeBuildModel;
  readonly #faults: FaultInjector;
  readonly #server: RunningServer;
  readonly #listeners: Set<EventListener>;

  private constructor(parts: {
    endpoint: string;
    region: string;
    account: string;
    events: BuildStateChangeEvent[];
    requests: RequestRecord[];
    arrivals: ArrivalRecord[];
    model: CodeBuildModel;
    faults: FaultInjector;
    server: RunningServer;
    listeners: Set<EventListener>;
  }) {
    this.endpoint = parts.endpoint;
    this.region = parts.region;
    this.account = parts.account;
    this.events = parts.events;
    this.requests = parts.requests;
    this.arrivals = parts.arrivals;
    this.#model = parts.model;
    this.#faults = parts.faults;
    this.#server = parts.server;
    this.#listeners = parts.listeners;
  }

  /** Starts an emulator on a free loopback port (or `options.port`). */
  static async start(
    options: EmulatorOptions = {},
  ): Promise<CodeBuildEmulator> {
    const region = options.region ?? 'eu-west-1';
    const account = options.account ?? '111122223333';
    const now = options.now ?? Date.now;
    const events: BuildStateChangeEvent[] = [];
    const requests: RequestRecord[] = [];
    const arrivals: ArrivalRecord[] = [];
    const listeners = new Set<EventListener>();
    const model = new CodeBuildModel({
      region,
      account,
      now,
      autoSettle: options.autoSettle ?? false,
      emit(event) {
        events.push(event);
        for (const listener of [...listeners]) listener(event);
      },
    });
    const faults = new FaultInjector();
    const server = await serve(
      { now, requests, arrivals, faults, operations: operations(model) },
      options.port,
    );
    return new CodeBuildEmulator({
      endpoint: server.endpoint,
      region,
      account,
      events,
      requests,
      arrivals,
      model,
      faults,
      server,
      listeners,
    });
  }

  /**
   * Stops the server: open (keep-alive) connections are closed and requests
   * waiting out injected latency are dropped unanswered.
   */
  stop(): Promise<void> {
    return this.#server.stop();
  }

  // ---- model -------------------------------------------------------------

  /** Creates a project; its environment variables go into builds and events. */
  createProject(name: string, options?: ProjectOptions): ProjectRef {
    return this.#model.createProject(name, options);
  }

  /** Starts a standalone build (no `buildBatchArn`), `IN_PROGRESS`. */
  startBuild(project: string): BuildSnapshot {
    return this.#model.startBuild(project);
  }

  /**
   * Starts a batch, `IN_PROGRESS`, with one running child build per group.
   * `buildBatchNumber` counts the project's batches from 1.
   */
  startBatch(project: string, options: StartBatchOptions): BatchSnapshot {
    return this.#model.startBatch(project, options);
  }

  /**
   * A batch whose batch buildspec is broken: `FAILED` at
   * `DOWNLOAD_BATCHSPEC`, complete, without any child build or event.
   */
  failBatchBeforeBuilds(project: string): BatchSnapshot {
    return this.#model.failBatchBeforeBuilds(project);
  }

  /**
   * Adds groups, each with a running child build, to an `IN_PROGRESS` batch
   * (e.g. one retried after failing before any child existed).
   */
  startGroups(
    batchIdOrArn: string,
    groups: readonly string[],
    ignoreFailure?: readonly string[],
  ): BatchSnapshot {
    return this.#model.startGroups(batchIdOrArn, groups, ignoreFailure);
  }

  /**
   * Ends a running build with `status`, updates its group's
   * `currentBuildSummary` and emits (and returns) its Build State Change
   * event. The batch stays `IN_PROGRESS` (see {@link settleBatch}) unless the
   * emulator was started with `autoSettle` and this was its last running
   * child.
   */
  completeBuild(
    buildIdOrArn: string,
    status: TerminalStatus,
    options?: CompleteBuildOptions,
  ): BuildStateChangeEvent {
    return this.#model.completeBuild(buildIdOrArn, status, options);
  }

  /**
   * Settles an `IN_PROGRESS` batch: `FAILED` if a group without
   * `ignoreFailure` has a current build that did not succeed, otherwise
   * `SUCCEEDED`, or `options.status`. Sets `complete`, `endTime` and appends
   * the terminal phase. Throws while children run, unless `options.force`
   * (which stops them first).
   */
  settleBatch(batchIdOrArn: string, options?: SettleOptions): BatchSnapshot {
    return this.#model.settleBatch(batchIdOrArn, options);
  }

  /** A copy of the batch (throws if unknown). */
  getBatch(idOrArn: string): BatchSnapshot {
    return this.#model.getBatch(idOrArn);
  }

  /** A copy of the build (throws if unknown). */
  getBuild(idOrArn: string): BuildSnapshot {
    return this.#model.getBuild(idOrArn);
  }

  /** Copies of each group's current build, in group order. */
  currentBuilds(batchIdOrArn: string): BuildSnapshot[] {
    return this.#model.currentBuilds(batchIdOrArn);
  }

  /** Copies of every batch, oldest first. */
  listBatches(): BatchSnapshot[] {
    return this.#model.listBatches();
  }

  /** How many RetryBuildBatch calls really retried the batch. */
  retryCount(batchIdOrArn: string): number {
    return this.#model.retryCount(batchIdOrArn);
  }

  // ---- events ------------------------------------------------------------

  /** Calls `listener` with each future event; returns the unsubscribe. */
  onEvent(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ---- faults ------------------------------------------------------------

  /**
   * Replaces the random faults: a share of requests (of `operations`, or
   * all) is throttled or answered with HTTP 500, after `latencyMs`.
   * `setFaults({})` turns them off; queued {@link failNext} faults stay.
   */
  setFaults(config: FaultConfig): void {
    this.#faults.set(config);
  }

  /**
   * Answers the next `count` requests of `operation` (`'*'`: any) with an
   * error: `'throttle'` (400 ThrottlingException "Rate exceeded"),
   * `'server-error'` (500 InternalFailure) or a custom `__type` and status.
   */
  failNext(operation: string, count: number, kind: FaultKind): void {
    this.#faults.failNext(operation, count, kind);
  }

  /** Removes random and queued faults. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Injected ThrottlingExceptions so far. */
  get throttledCount(): number {
    return this.#faults.throttled;
  }

  /** Injected 5xx responses so far. */
  get serverErrorCount(): number {
    return this.#faults.serverErrors;
  }

  /** Every injected error response so far (throttles, 5xx and custom). */
  get faultCount(): number {
    return this.#faults.total;
  }

  // ---- request log -------------------------------------------------------

  /** Requests answered for `operation`, or in all. */
  callCount(operation?: string): number {
    return operation === undefined
      ? this.requests.length
      : this.requests.filter((r) => r.operation === operation).length;
  }

  /**
   * Empties {@link requests} and {@link arrivals} and zeroes the fault
   * counters (events, queued faults and the model stay).
   */
  resetLog(): void {
    this.requests.length = 0;
    this.arrivals.length = 0;
    this.#faults.resetCounts();
  }
}
