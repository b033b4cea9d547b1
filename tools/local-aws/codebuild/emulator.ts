import type {
  BuildBatchPhase,
  BuildBatchPhaseType,
  BuildPhase,
} from '@aws-sdk/client-codebuild';
import {
  PROJECT_NAME_PATTERN,
  type RetryType,
  TERMINAL_BUILD_STATUSES,
} from '../../../lambda/contract.js';
import { ACCOUNT, REGION } from '../environment.js';
import { type BuildStateChangeEvent, buildStateChangeEvent } from './events.js';
import { FaultInjector } from './faults.js';
import {
  arnOf,
  batchShape,
  buildShape,
  closePhase,
  donePhase,
  FAILURE_CONTEXT,
  type ProjectRecord,
  projectRecord,
  summaryOf,
} from './shapes.js';
import {
  ApiError,
  type ArrivalRecord,
  type BatchSnapshot,
  type BuildSnapshot,
  type EmulatorOptions,
  type FaultConfig,
  type FaultKind,
  type ProjectOptions,
  type RequestRecord,
  type SettleOptions,
  type TerminalStatus,
} from './types.js';
import {
  type CodeBuildApi,
  type ListParams,
  type RunningServer,
  serve,
} from './wire.js';

export type { BuildStateChangeEvent } from './events.js';
export * from './types.js';

/** How long CodeBuild remembers a RetryBuildBatch idempotency token. */
export const TOKEN_WINDOW_MS = 5 * 60_000;

const TERMINAL: readonly string[] = TERMINAL_BUILD_STATUSES;
const PROJECT_NAME = new RegExp(PROJECT_NAME_PATTERN);

interface BatchRecord {
  readonly batch: BatchSnapshot;
  readonly project: ProjectRecord;
  /** Creation order, breaks ties between equal start times. */
  readonly seq: number;
  retries: number;
}

/**
 * A wire-level AWS CodeBuild on 127.0.0.1 for the real
 * `@aws-sdk/client-codebuild` (JSON 1.1; signatures are not checked). It
 * serves BatchGetBuilds, BatchGetBuildBatches, RetryBuildBatch (failed
 * batches only, idempotency tokens remembered {@link TOKEN_WINDOW_MS}),
 * ListBuildBatches and ListBuildBatchesForProject, with injectable faults.
 *
 * Callers drive the state machine (projects, builds, batches) through the
 * methods below, which act immediately and throw `Error` on misuse; every
 * child or standalone build that ends emits a `CodeBuild Build State Change`
 * event ({@link CodeBuildEmulator.events}, {@link CodeBuildEmulator.onEvent}).
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
export class CodeBuildEmulator implements CodeBuildApi {
  readonly region: string;
  readonly account: string;
  /** Every event emitted so far, oldest first. */
  readonly events: BuildStateChangeEvent[] = [];
  /**
   * Every request answered so far (with its status), in answer order. A
   * request still waiting out injected latency is only in {@link arrivals}.
   */
  readonly requests: RequestRecord[] = [];
  /** Every request as it arrived, before latency and faults. */
  readonly arrivals: ArrivalRecord[] = [];
  readonly #now: () => number;
  readonly #faults = new FaultInjector();
  readonly #listeners = new Set<(event: BuildStateChangeEvent) => void>();
  readonly #projects = new Map<string, ProjectRecord>();
  readonly #builds = new Map<string, BuildSnapshot>();
  readonly #batches = new Map<string, BatchRecord>();
  readonly #tokens = new Map<
    string,
    { batchArn: string; retryType: RetryType; at: number }
  >();
  #seq = 0;
  #server?: RunningServer;

  private constructor(options: EmulatorOptions) {
    this.region = options.region ?? REGION;
    this.account = options.account ?? ACCOUNT;
    this.#now = options.now ?? Date.now;
  }

  /** Starts an emulator on a free loopback port. */
  static async start(
    options: EmulatorOptions = {},
  ): Promise<CodeBuildEmulator> {
    const emulator = new CodeBuildEmulator(options);
    emulator.#server = await serve({
      api: emulator,
      now: emulator.#now,
      arrivals: emulator.arrivals,
      requests: emulator.requests,
      faults: emulator.#faults,
    });
    return emulator;
  }

  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  get endpoint(): string {
    return this.#server?.endpoint ?? '';
  }

  /**
   * Stops the server: open (keep-alive) connections are closed and requests
   * waiting out injected latency are dropped unanswered.
   */
  async stop(): Promise<void> {
    await this.#server?.stop();
  }

  // ---- the state machine, for callers -----------------------------------

  /** Creates a project; its environment variables go into builds and events. */
  createProject(name: string, options: ProjectOptions = {}): void {
    if (!PROJECT_NAME.test(name)) {
      throw new Error(`Invalid project name: ${JSON.stringify(name)}`);
    }
    if (this.#projects.has(name)) {
      throw new Error(`Project ${name} already exists`);
    }
    this.#projects.set(name, projectRecord(name, options, this));
  }

  /** Starts a standalone build (no `buildBatchArn`), `IN_PROGRESS`. */
  startBuild(projectName: string): BuildSnapshot {
    const project = this.#project(projectName);
    return structuredClone(this.#newBuild(project, undefined));
  }

  /**
   * Starts a batch, `IN_PROGRESS`, with one running child build per group.
   * `buildBatchNumber` counts the project's batches from 1.
   */
  startBatch(
    projectName: string,
    options: { readonly groups: readonly string[] },
  ): BatchSnapshot {
    const project = this.#project(projectName);
    if (options.groups.length === 0) {
      throw new Error(
        'A batch needs at least one group (see failBatchBeforeBuilds)',
      );
    }
    checkGroups([], options.groups);
    const record = this.#newBatch(project, ['SUBMITTED', 'DOWNLOAD_BATCHSPEC']);
    this.#addGroups(record, options.groups);
    return structuredClone(record.batch);
  }

  /**
   * A batch whose batch buildspec is broken: `FAILED` at
   * `DOWNLOAD_BATCHSPEC`, complete, without any child build or event.
   */
  failBatchBeforeBuilds(projectName: string): BatchSnapshot {
    const record = this.#newBatch(this.#project(projectName), ['SUBMITTED']);
    const batch = record.batch;
    const at = this.#date();
    batch.phases.push(
      donePhase<BuildBatchPhase>('DOWNLOAD_BATCHSPEC', at, 'FAILED', [
        {
          statusCode: 'YAML_FILE_ERROR',
          message: 'Invalid batch build configuration in buildspec.yml',
        },
      ]),
      { phaseType: 'FAILED', startTime: at },
    );
    Object.assign(batch, {
      buildBatchStatus: 'FAILED',
      currentPhase: 'FAILED',
      complete: true,
      endTime: at,
    });
    return structuredClone(batch);
  }

  /**
   * Adds groups, each with a running child build, to an `IN_PROGRESS` batch
   * (e.g. one retried after failing before any child existed).
   */
  startGroups(batchIdOrArn: string, groups: readonly string[]): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    if (record.batch.buildBatchStatus !== 'IN_PROGRESS') {
      throw new Error(`Batch ${record.batch.id} is not IN_PROGRESS`);
    }
    this.#addGroups(record, groups);
    return structuredClone(record.batch);
  }

  /**
   * Ends a running build with `status`, updates its group's
   * `currentBuildSummary` and emits (and returns) its Build State Change
   * event. The batch stays `IN_PROGRESS` until {@link settleBatch}.
   */
  completeBuild(
    buildIdOrArn: string,
    status: TerminalStatus,
  ): BuildStateChangeEvent {
    if (!TERMINAL.includes(status)) {
      throw new Error(`Not a terminal status: ${status}`);
    }
    const build = this.#buildOrThrow(buildIdOrArn);
    if (build.buildStatus !== 'IN_PROGRESS') {
      throw new Error(`Build ${build.id} already ended (${build.buildStatus})`);
    }
    return this.#finishBuild(build, status);
  }

  /**
   * Settles an `IN_PROGRESS` batch: `FAILED` if a group's current build did
   * not succeed, otherwise `SUCCEEDED`, or `options.status`. Sets
   * `complete`, `endTime` and appends the terminal phase. Throws while
   * children run, unless `options.force` (which stops them first).
   */
  settleBatch(
    batchIdOrArn: string,
    options: SettleOptions = {},
  ): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    const { batch } = record;
    if (batch.buildBatchStatus !== 'IN_PROGRESS') {
      throw new Error(
        `Batch ${batch.id} already settled (${batch.buildBatchStatus})`,
      );
    }
    if (options.status && !TERMINAL.includes(options.status)) {
      throw new Error(`Not a terminal status: ${options.status}`);
    }
    const running = this.#current(record).filter(
      (b) => b.buildStatus === 'IN_PROGRESS',
    );
    if (running.length > 0 && !options.force) {
      throw new Error(
        `Batch ${batch.id} still has running builds: ${running.map((b) => b.id).join(', ')} (complete them or pass force)`,
      );
    }
    for (const build of running) this.#finishBuild(build, 'STOPPED');
    const failed = batch.buildGroups.some(
      (g) => g.currentBuildSummary?.buildStatus !== 'SUCCEEDED',
    );
    const status = options.status ?? (failed ? 'FAILED' : 'SUCCEEDED');
    const at = this.#date();
    closePhase(batch.phases.at(-1), at, status);
    const phaseType: BuildBatchPhaseType =
      status === 'SUCCEEDED' || status === 'STOPPED' ? status : 'FAILED';
    batch.phases.push({ phaseType, startTime: at });
    Object.assign(batch, {
      buildBatchStatus: status,
      currentPhase: phaseType,
      complete: true,
      endTime: at,
    });
    return structuredClone(batch);
  }

  /** A copy of the batch (throws if unknown). */
  getBatch(idOrArn: string): BatchSnapshot {
    return structuredClone(this.#batchOrThrow(idOrArn).batch);
  }

  /** A copy of the build (throws if unknown). */
  getBuild(idOrArn: string): BuildSnapshot {
    return structuredClone(this.#buildOrThrow(idOrArn));
  }

  /** Copies of each group's current build, in group order. */
  currentBuilds(batchIdOrArn: string): BuildSnapshot[] {
    return structuredClone(this.#current(this.#batchOrThrow(batchIdOrArn)));
  }

  /** Copies of every batch, oldest first. */
  listBatches(): BatchSnapshot[] {
    return [...this.#batches.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) => structuredClone(r.batch));
  }

  /** How many RetryBuildBatch calls really retried the batch. */
  retryCount(batchIdOrArn: string): number {
    return this.#batchOrThrow(batchIdOrArn).retries;
  }

  /** Calls `listener` with each future event; returns the unsubscribe. */
  onEvent(listener: (event: BuildStateChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ---- faults and the request log ---------------------------------------

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

  /** Injected ThrottlingExceptions since the last {@link resetLog}. */
  get throttledCount(): number {
    return this.#faults.throttled;
  }

  /**
   * Empties {@link requests} and {@link arrivals} and zeroes
   * {@link throttledCount} (events, queued faults and the state stay).
   */
  resetLog(): void {
    this.requests.length = 0;
    this.arrivals.length = 0;
    this.#faults.throttled = 0;
  }

  // ---- the API operations (see ./wire.ts) -------------------------------

  /** BatchGetBuilds. */
  batchGetBuilds(ids: readonly string[]) {
    const builds = ids.flatMap((id) => this.#findBuild(id) ?? []);
    return {
      builds: structuredClone(builds),
      buildsNotFound: ids.filter((id) => !this.#findBuild(id)),
    };
  }

  /** BatchGetBuildBatches. */
  batchGetBuildBatches(ids: readonly string[]) {
    const found = ids.flatMap((id) => this.#findBatch(id)?.batch ?? []);
    return {
      buildBatches: structuredClone(found),
      buildBatchesNotFound: ids.filter((id) => !this.#findBatch(id)),
    };
  }

  /**
   * RetryBuildBatch: only a `FAILED` batch, in place (a new build for each
   * group, or each failed one with `RETRY_FAILED_BUILDS`); a token seen
   * within {@link TOKEN_WINDOW_MS} replays the answer, or is refused when
   * its parameters differ.
   */
  retryBuildBatch(
    id: string,
    retryType: RetryType | undefined,
    token: string | undefined,
  ): BatchSnapshot {
    const record = this.#findBatch(id);
    if (!record) {
      throw new ApiError(
        'ResourceNotFoundException',
        `Build batch ${id} does not exist`,
      );
    }
    const type = retryType ?? 'RETRY_ALL_BUILDS';
    const now = this.#now();
    for (const [key, seen] of this.#tokens) {
      if (now - seen.at >= TOKEN_WINDOW_MS) this.#tokens.delete(key);
    }
    const { batch } = record;
    const seen = token === undefined ? undefined : this.#tokens.get(token);
    if (seen) {
      if (seen.batchArn !== batch.arn || seen.retryType !== type) {
        throw new ApiError(
          'InvalidInputException',
          `Idempotency token ${token} was used with different parameters (parameter mismatch)`,
        );
      }
      return structuredClone(batch);
    }
    if (batch.buildBatchStatus !== 'FAILED') {
      throw new ApiError(
        'InvalidInputException',
        `Only failed batch builds can be retried. Batch build ${batch.id} is ${batch.buildBatchStatus}`,
      );
    }
    const at = new Date(now);
    closePhase(batch.phases.at(-1), at);
    batch.phases.push({ phaseType: 'IN_PROGRESS', startTime: at });
    Object.assign(batch, {
      buildBatchStatus: 'IN_PROGRESS',
      currentPhase: 'IN_PROGRESS',
      complete: false,
    });
    delete batch.endTime;
    for (const group of batch.buildGroups) {
      const current = group.currentBuildSummary;
      if (!current) continue;
      if (type === 'RETRY_FAILED_BUILDS' && current.buildStatus === 'SUCCEEDED')
        continue;
      group.priorBuildSummaryList = [
        ...(group.priorBuildSummaryList ?? []),
        current,
      ];
      group.currentBuildSummary = summaryOf(
        this.#newBuild(record.project, batch),
      );
    }
    record.retries += 1;
    if (token !== undefined) {
      this.#tokens.set(token, {
        batchArn: batch.arn,
        retryType: type,
        at: now,
      });
    }
    return structuredClone(batch);
  }

  /** ListBuildBatches / ListBuildBatchesForProject: batch ids by start time. */
  listBuildBatches(params: ListParams): { ids: string[]; nextToken?: string } {
    const { projectName, status, sortOrder } = params;
    if (projectName !== undefined && !this.#projects.has(projectName)) {
      throw new ApiError(
        'ResourceNotFoundException',
        `Project cannot be found: arn:aws:codebuild:${this.region}:${this.account}:project/${projectName}`,
      );
    }
    const sign = sortOrder === 'ASCENDING' ? 1 : -1;
    const key = (r: BatchRecord): [number, number] => [
      r.batch.startTime?.getTime() ?? 0,
      r.seq,
    ];
    const compare = (a: [number, number], b: [number, number]) =>
      sign * (a[0] - b[0] || a[1] - b[1]);
    const cursor =
      params.nextToken === undefined
        ? undefined
        : decodeCursor(params.nextToken, sortOrder);
    const matching = [...this.#batches.values()]
      .filter(
        (r) =>
          (projectName === undefined || r.project.name === projectName) &&
          (status === undefined || r.batch.buildBatchStatus === status) &&
          (cursor === undefined || compare(key(r), cursor) > 0),
      )
      .sort((a, b) => compare(key(a), key(b)));
    const page = matching.slice(0, params.maxResults);
    const last = page.at(-1);
    return {
      ids: page.map((r) => r.batch.id),
      ...(last && matching.length > page.length
        ? { nextToken: encodeCursor(key(last), sortOrder) }
        : {}),
    };
  }

  // ---- internals ---------------------------------------------------------

  #date(): Date {
    return new Date(this.#now());
  }

  #project(name: string): ProjectRecord {
    const project = this.#projects.get(name);
    if (!project) {
      throw new Error(`Unknown project ${name} (call createProject first)`);
    }
    return project;
  }

  #findBuild(idOrArn: string): BuildSnapshot | undefined {
    return this.#builds.get(
      idOrArn.startsWith('arn:') ? idOrArn : arnOf(this, 'build', idOrArn),
    );
  }

  #findBatch(idOrArn: string): BatchRecord | undefined {
    return this.#batches.get(
      idOrArn.startsWith('arn:')
        ? idOrArn
        : arnOf(this, 'build-batch', idOrArn),
    );
  }

  #buildOrThrow(idOrArn: string): BuildSnapshot {
    const build = this.#findBuild(idOrArn);
    if (!build) throw new Error(`Unknown build ${idOrArn}`);
    return build;
  }

  #batchOrThrow(idOrArn: string): BatchRecord {
    const record = this.#findBatch(idOrArn);
    if (!record) throw new Error(`Unknown batch ${idOrArn}`);
    return record;
  }

  #newBuild(
    project: ProjectRecord,
    batch: BatchSnapshot | undefined,
  ): BuildSnapshot {
    project.builds += 1;
    const build = buildShape(project, this, this.#date(), batch);
    this.#builds.set(build.arn, build);
    return build;
  }

  #newBatch(
    project: ProjectRecord,
    donePhases: readonly BuildBatchPhaseType[],
  ): BatchRecord {
    project.batches += 1;
    const batch = batchShape(project, this, this.#date(), donePhases);
    this.#seq += 1;
    const record: BatchRecord = { batch, project, seq: this.#seq, retries: 0 };
    this.#batches.set(batch.arn, record);
    return record;
  }

  #addGroups(record: BatchRecord, identifiers: readonly string[]): void {
    checkGroups(record.batch.buildGroups, identifiers);
    for (const identifier of identifiers) {
      const build = this.#newBuild(record.project, record.batch);
      record.batch.buildGroups.push({
        identifier,
        dependsOn: [],
        ignoreFailure: false,
        currentBuildSummary: summaryOf(build),
        priorBuildSummaryList: [],
      });
    }
  }

  #current(record: BatchRecord): BuildSnapshot[] {
    return record.batch.buildGroups.flatMap(
      (g) => this.#builds.get(g.currentBuildSummary?.arn ?? '') ?? [],
    );
  }

  /** Ends a running build, updates its group and emits its event. */
  #finishBuild(
    build: BuildSnapshot,
    status: TerminalStatus,
  ): BuildStateChangeEvent {
    const at = this.#date();
    const failure = FAILURE_CONTEXT[status];
    const running = build.phases.at(-1);
    closePhase(running, at, status);
    if (running)
      running.contexts = [failure ?? { statusCode: '', message: '' }];
    build.phases.push(donePhase<BuildPhase>('FINALIZING', at), {
      phaseType: 'COMPLETED',
      startTime: at,
    });
    Object.assign(build, {
      buildStatus: status,
      currentPhase: 'COMPLETED',
      buildComplete: true,
      endTime: at,
    });
    const record = build.buildBatchArn
      ? this.#batches.get(build.buildBatchArn)
      : undefined;
    for (const group of record?.batch.buildGroups ?? []) {
      if (group.currentBuildSummary?.arn === build.arn) {
        group.currentBuildSummary.buildStatus = status;
      }
    }
    const event = buildStateChangeEvent(build, {
      account: this.account,
      region: this.region,
      at,
    });
    this.events.push(event);
    for (const listener of [...this.#listeners]) listener(event);
    return event;
  }
}

function encodeCursor(
  key: [number, number],
  sortOrder: ListParams['sortOrder'],
): string {
  return Buffer.from(JSON.stringify({ k: key, o: sortOrder })).toString(
    'base64url',
  );
}

function decodeCursor(
  token: string,
  sortOrder: ListParams['sortOrder'],
): [number, number] {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const [time, seq] = parsed.k;
    if (
      parsed.o === sortOrder &&
      Number.isFinite(time) &&
      Number.isInteger(seq)
    ) {
      return [time, seq];
    }
  } catch {
    // reported below
  }
  throw new ApiError('InvalidInputException', 'Invalid nextToken');
}

function checkGroups(
  existing: readonly { identifier?: string }[],
  identifiers: readonly string[],
): void {
  const known = new Set(existing.map((g) => g.identifier));
  for (const identifier of identifiers) {
    if (known.has(identifier)) {
      throw new Error(`Duplicate build group ${identifier}`);
    }
    known.add(identifier);
  }
}
