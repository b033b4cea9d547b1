import type {
  BuildBatchPhase,
  BuildBatchPhaseType,
  EnvironmentVariable,
} from '@aws-sdk/client-codebuild';
import {
  PROJECT_NAME_PATTERN,
  type RetryType,
  TERMINAL_BUILD_STATUSES,
  type TerminalBuildStatus as TerminalStatus,
} from '../../../lambda/contract.js';
import { ACCOUNT, REGION } from '../environment.js';
import { type FaultConfig, FaultInjector, type FaultKind } from '../faults.js';
import { buildLog } from './build-log.js';
import { type BuildStateChangeEvent, buildStateChangeEvent } from './events.js';
import type { BuildFailure } from './failures.js';
import {
  arnOf,
  type BatchSnapshot,
  type BuildSnapshot,
  batchShape,
  buildShape,
  closePhase,
  donePhase,
  endedPhases,
  FAILURE_CONTEXT,
  type LogsSetting,
  logsOf,
  type ProjectRecord,
  projectRecord,
  projectShape,
  summaryOf,
} from './shapes.js';
import {
  ApiError,
  type ArrivalRecord,
  type CodeBuildApi,
  type ListParams,
  type RequestRecord,
  serve,
} from './wire.js';

export type { FaultConfig, FaultKind } from '../faults.js';
export type { BuildStateChangeEvent } from './events.js';
export { type BuildFailure, FAILURES, type FailureName } from './failures.js';
export type { BatchSnapshot, BuildSnapshot } from './shapes.js';
export type { ArrivalRecord, RequestRecord } from './wire.js';
export type { TerminalStatus };

/** How long CodeBuild remembers a RetryBuildBatch idempotency token. */
export const TOKEN_WINDOW_MS = 5 * 60_000;

const TERMINAL: readonly string[] = TERMINAL_BUILD_STATUSES;
const PROJECT_NAME = new RegExp(PROJECT_NAME_PATTERN);

/** Receives a build's log lines, written when it ends, at `at` (ms). */
export type LogSink = (
  groupName: string,
  streamName: string,
  lines: readonly string[],
  at: number,
) => void;

/**
 * Where the emulator lives, its clock (ms since the epoch), and where the
 * logs of builds that end go.
 */
interface EmulatorOptions {
  region?: string;
  account?: string;
  now?: () => number;
  logSink?: LogSink;
}

/** Phases a build can fail in before CodeBuild created its log stream. */
const BEFORE_STREAM = 'SUBMITTED QUEUED PROVISIONING'.split(' ');
// What a tag value may hold (a key too, and it may not be empty).
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

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
 * serves BatchGetBuilds, BatchGetBuildBatches, BatchGetProjects,
 * RetryBuildBatch, ListBuildBatches and ListBuildBatchesForProject, with
 * injectable faults. Callers drive the state machine with the methods
 * below, which throw `Error` on misuse; every build that ends emits a
 * `CodeBuild Build State Change` event and writes its log to `logSink`.
 *
 * @example
 * const cb = await CodeBuildEmulator.start();
 * cb.createProject('web-app');
 * const batch = cb.startBatch('web-app', { groups: ['unit', 'e2e'] });
 * const [unit, e2e] = cb.currentBuilds(batch.arn);
 * cb.completeBuild(unit.arn, 'SUCCEEDED');
 * cb.completeBuild(e2e.arn, 'FAILED', FAILURES.testFailure);
 * cb.settleBatch(batch.arn); // FAILED, ready for RetryBuildBatch
 * await cb.stop();
 */
export class CodeBuildEmulator implements CodeBuildApi {
  readonly region: string;
  readonly account: string;
  /** Every event emitted so far, oldest first. */
  readonly events: BuildStateChangeEvent[] = [];
  /** Every request answered so far, in answer order. */
  readonly requests: RequestRecord[] = [];
  /** Every request as it arrived, before latency and faults. */
  readonly arrivals: ArrivalRecord[] = [];
  readonly #now: () => number;
  readonly #logSink?: LogSink;
  readonly #faults = new FaultInjector();
  readonly #listeners = new Set<(event: BuildStateChangeEvent) => void>();
  readonly #projects = new Map<string, ProjectRecord>();
  readonly #builds = new Map<string, BuildSnapshot>();
  readonly #batches = new Map<string, BatchRecord>();
  readonly #tokens = new Map<string, { key: string; at: number }>();
  #seq = 0;
  #listOrder: 'start-time' | 'identifier' = 'start-time';
  #server?: Awaited<ReturnType<typeof serve>>;

  private constructor(options: EmulatorOptions) {
    this.region = options.region ?? REGION;
    this.account = options.account ?? ACCOUNT;
    this.#now = options.now ?? Date.now;
    this.#logSink = options.logSink;
  }

  /** Starts an emulator on a free loopback port; `now` is its clock (ms). */
  static async start(
    options: EmulatorOptions = {},
  ): Promise<CodeBuildEmulator> {
    const emulator = new CodeBuildEmulator(options);
    emulator.#server = await serve(emulator, emulator.#now, emulator.#faults);
    return emulator;
  }

  /** `http://127.0.0.1:<port>`, for the client's `endpoint`. */
  get endpoint(): string {
    return this.#server?.endpoint ?? '';
  }

  /** Stops the server, dropping requests still waiting out latency. */
  async stop(): Promise<void> {
    await this.#server?.stop();
  }

  /**
   * Creates a project; its environment variables go into builds and events,
   * its tags into `BatchGetProjects`; `logs: 'disabled'` leaves its builds
   * without a CloudWatch log.
   */
  createProject(
    name: string,
    options: {
      readonly environmentVariables?: readonly EnvironmentVariable[];
      readonly logs?: LogsSetting;
      readonly tags?: Readonly<Record<string, string>>;
    } = {},
  ): void {
    must(PROJECT_NAME.test(name), `Invalid project name: ${name}`);
    must(!this.#projects.has(name), `Project ${name} already exists`);
    checkTags(options.tags ?? {});
    const project = projectRecord(name, this, this.#date(), options);
    this.#projects.set(name, project);
  }

  /** Replaces a project's tags. */
  setProjectTags(name: string, tags: Readonly<Record<string, string>>): void {
    const project = this.#project(name);
    checkTags(tags);
    project.tags = { ...tags };
    project.lastModified = this.#date();
  }

  /** Starts a standalone build (no `buildBatchArn`), `IN_PROGRESS`. */
  startBuild(projectName: string): BuildSnapshot {
    return structuredClone(this.#newBuild(this.#project(projectName)));
  }

  /**
   * Starts an `IN_PROGRESS` batch with one running build per group; the
   * `ignoreFailure` groups cannot fail it.
   */
  startBatch(
    projectName: string,
    options: {
      readonly groups: readonly string[];
      readonly ignoreFailure?: readonly string[];
    },
  ): BatchSnapshot {
    const project = this.#project(projectName);
    const why = 'A batch needs at least one group (see failBatchBeforeBuilds)';
    must(options.groups.length > 0, why);
    checkGroups([], options.groups, options.ignoreFailure);
    const record = this.#newBatch(project, ['SUBMITTED', 'DOWNLOAD_BATCHSPEC']);
    this.#addGroups(record, options.groups, options.ignoreFailure);
    return structuredClone(record.batch);
  }

  /**
   * A batch whose batch buildspec is broken: `FAILED` at
   * `DOWNLOAD_BATCHSPEC` (with `failure`'s context, by default an invalid
   * batch configuration), complete, without any child build or event.
   */
  failBatchBeforeBuilds(
    projectName: string,
    failure: Pick<BuildFailure, 'statusCode' | 'message'> = {
      statusCode: 'YAML_FILE_ERROR',
      message: 'Invalid batch build configuration in buildspec.yml',
    },
  ): BatchSnapshot {
    const record = this.#newBatch(this.#project(projectName), ['SUBMITTED']);
    const batch = record.batch;
    const at = this.#date();
    const { statusCode, message } = failure;
    batch.phases.push(
      donePhase<BuildBatchPhase>('DOWNLOAD_BATCHSPEC', at, 'FAILED', [
        { statusCode, message },
      ]),
    );
    return this.#end(batch, 'FAILED', at);
  }

  /** Adds groups, each with a running build, to an `IN_PROGRESS` batch. */
  startGroups(
    batchIdOrArn: string,
    groups: readonly string[],
    options: { readonly ignoreFailure?: readonly string[] } = {},
  ): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    const { id, buildBatchStatus } = record.batch;
    must(buildBatchStatus === 'IN_PROGRESS', `Batch ${id} is not IN_PROGRESS`);
    checkGroups(record.batch.buildGroups, groups, options.ignoreFailure);
    this.#addGroups(record, groups, options.ignoreFailure);
    return structuredClone(record.batch);
  }

  /**
   * Ends a running build with `status` and emits (and returns) its event;
   * a build that did not succeed failed as `failure` says (by default in
   * `BUILD`, with {@link FAILURE_CONTEXT}). Its log goes to the log sink.
   * Its batch stays `IN_PROGRESS` until {@link settleBatch}.
   */
  completeBuild(
    buildIdOrArn: string,
    status: TerminalStatus,
    failure?: BuildFailure,
  ): BuildStateChangeEvent {
    must(TERMINAL.includes(status), `Not a terminal status: ${status}`);
    const build = this.#buildOrThrow(buildIdOrArn);
    const { id, buildStatus } = build;
    const ended = `Build ${id} already ended (${buildStatus})`;
    must(buildStatus === 'IN_PROGRESS', ended);
    const why = 'A build that SUCCEEDED has no failure';
    must(status !== 'SUCCEEDED' || !failure, why);
    return this.#finishBuild(build, status, failure);
  }

  /**
   * Settles an `IN_PROGRESS` batch: `FAILED` if a group's current build did
   * not succeed (stopped ones included) unless the group ignores failures,
   * otherwise `SUCCEEDED`, or `options.status`. Throws while
   * children run, unless `options.force` (which stops them first, as
   * fast-fail does).
   */
  settleBatch(
    batchIdOrArn: string,
    options: { status?: TerminalStatus; force?: boolean } = {},
  ): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    const { batch } = record;
    const { id, buildBatchStatus } = batch;
    const settled = `Batch ${id} already settled (${buildBatchStatus})`;
    must(buildBatchStatus === 'IN_PROGRESS', settled);
    const { status: wanted, force } = options;
    const terminal = !wanted || TERMINAL.includes(wanted);
    must(terminal, `Not a terminal status: ${wanted}`);
    const running = this.#current(record).filter(
      (b) => b.buildStatus === 'IN_PROGRESS',
    );
    const ids = running.map((b) => b.id).join(', ');
    const why = `Batch ${id} still has running builds: ${ids} (complete them or pass force)`;
    must(running.length === 0 || force === true, why);
    for (const build of running) this.#finishBuild(build, 'STOPPED');
    const failed = batch.buildGroups.some(
      (g) =>
        !g.ignoreFailure && g.currentBuildSummary?.buildStatus !== 'SUCCEEDED',
    );
    const status = wanted ?? (failed ? 'FAILED' : 'SUCCEEDED');
    const at = this.#date();
    closePhase(batch.phases.at(-1), at, status);
    return this.#end(batch, status, at);
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
    return [...this.#batches.values()].map((r) => structuredClone(r.batch));
  }

  /** How many RetryBuildBatch calls really retried the batch. */
  retryCount(batchIdOrArn: string): number {
    return this.#batchOrThrow(batchIdOrArn).retries;
  }

  /** Calls `listener` with each future event; returns the unsubscribe. */
  onEvent(listener: (event: BuildStateChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the random faults (`{}`: none); queued `failNext` faults stay. */
  setFaults(config: FaultConfig): void {
    this.#faults.set(config);
  }

  /** Answers the next `count` requests of `operation` (`'*'`: any) with `kind`. */
  failNext(operation: string, count: number, kind: FaultKind): void {
    this.#faults.failNext(operation, count, kind);
  }

  /** Injected ThrottlingExceptions since the last {@link resetLog}. */
  get throttledCount(): number {
    return this.#faults.throttled;
  }

  /** Empties the request logs and zeroes {@link throttledCount}. */
  resetLog(): void {
    this.requests.length = 0;
    this.arrivals.length = 0;
    this.#faults.throttled = 0;
  }

  // ---- the API operations (see ./wire.ts) -------------------------------

  /** BatchGetBuilds. */
  batchGetBuilds(ids: readonly string[]) {
    return {
      builds: structuredClone(ids.flatMap((id) => this.#findBuild(id) ?? [])),
      buildsNotFound: ids.filter((id) => !this.#findBuild(id)),
    };
  }

  /** BatchGetProjects: each name may be a project's name or ARN. */
  batchGetProjects(names: readonly string[]) {
    const find = (name: string) =>
      [...this.#projects.values()].find(
        (p) => p.name === name || p.arn === name,
      );
    return {
      projects: names.flatMap((name) => {
        const project = find(name);
        return project ? [projectShape(project)] : [];
      }),
      projectsNotFound: names.filter((name) => !find(name)),
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
  retryBuildBatch(id: string, retryType?: RetryType, token?: string) {
    const record = this.#findBatch(id);
    if (!record) {
      const message = `Build batch ${id} does not exist`;
      throw new ApiError('ResourceNotFoundException', message);
    }
    const type = retryType ?? 'RETRY_ALL_BUILDS';
    const now = this.#now();
    for (const [key, seen] of this.#tokens) {
      if (now - seen.at >= TOKEN_WINDOW_MS) this.#tokens.delete(key);
    }
    const { batch } = record;
    const key = `${batch.arn} ${type}`;
    const seen = token === undefined ? undefined : this.#tokens.get(token);
    if (seen && seen.key !== key) {
      throw new ApiError(
        'InvalidInputException',
        `Idempotency token ${token} was used with different parameters (parameter mismatch)`,
      );
    }
    if (seen) return structuredClone(batch);
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
      const passed = current?.buildStatus === 'SUCCEEDED';
      if (!current || (type === 'RETRY_FAILED_BUILDS' && passed)) continue;
      group.priorBuildSummaryList = [
        ...(group.priorBuildSummaryList ?? []),
        current,
      ];
      const build = this.#newBuild(record.project, batch);
      group.currentBuildSummary = summaryOf(build);
    }
    record.retries += 1;
    if (token !== undefined) this.#tokens.set(token, { key, at: now });
    return structuredClone(batch);
  }

  /**
   * Orders ListBuildBatches and ListBuildBatchesForProject by start time
   * (what the sweep would like) or by identifier (`<project>:<uuid>`, what
   * the API reference documents). Start time unless changed.
   */
  listBatchesBy(order: 'start-time' | 'identifier'): void {
    this.#listOrder = order;
  }

  /** ListBuildBatches / ListBuildBatchesForProject: see {@link listBatchesBy}. */
  listBuildBatches(params: ListParams): { ids: string[]; nextToken?: string } {
    const { projectName, status, sortOrder } = params;
    if (projectName !== undefined && !this.#projects.has(projectName)) {
      throw new ApiError(
        'ResourceNotFoundException',
        `Project cannot be found: arn:aws:codebuild:${this.region}:${this.account}:project/${projectName}`,
      );
    }
    const sign = sortOrder === 'ASCENDING' ? 1 : -1;
    const byId = this.#listOrder === 'identifier';
    const key = (r: BatchRecord): Cursor => [
      byId ? r.batch.id : (r.batch.startTime?.getTime() ?? 0),
      r.seq,
    ];
    const order = (x: number | string, y: number | string) =>
      x < y ? -1 : x > y ? 1 : 0;
    const compare = (a: Cursor, b: Cursor) =>
      sign * (order(a[0], b[0]) || a[1] - b[1]);
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
    must(project, `Unknown project ${name} (call createProject first)`);
    return project;
  }

  #findBuild(idOrArn: string): BuildSnapshot | undefined {
    const arn = idOrArn.startsWith('arn:');
    return this.#builds.get(arn ? idOrArn : arnOf(this, 'build', idOrArn));
  }

  #findBatch(idOrArn: string): BatchRecord | undefined {
    const arn = idOrArn.startsWith('arn:');
    const id = arn ? idOrArn : arnOf(this, 'build-batch', idOrArn);
    return this.#batches.get(id);
  }

  #buildOrThrow(idOrArn: string): BuildSnapshot {
    const build = this.#findBuild(idOrArn);
    must(build, `Unknown build ${idOrArn}`);
    return build;
  }

  #batchOrThrow(idOrArn: string): BatchRecord {
    const record = this.#findBatch(idOrArn);
    must(record, `Unknown batch ${idOrArn}`);
    return record;
  }

  #newBuild(project: ProjectRecord, batch?: BatchSnapshot): BuildSnapshot {
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

  #addGroups(
    record: BatchRecord,
    identifiers: readonly string[],
    ignoreFailure: readonly string[] = [],
  ): void {
    for (const identifier of identifiers) {
      const build = this.#newBuild(record.project, record.batch);
      record.batch.buildGroups.push({
        identifier,
        dependsOn: [],
        ignoreFailure: ignoreFailure.includes(identifier),
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

  /** Completes a batch with `status`, appending its terminal phase. */
  #end(batch: BatchSnapshot, status: TerminalStatus, at: Date) {
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

  /**
   * Ends a running build, its phases rebuilt to fail where `failure` says;
   * writes its log, updates its group and emits its event.
   */
  #finishBuild(
    build: BuildSnapshot,
    status: TerminalStatus,
    given?: BuildFailure,
  ): BuildStateChangeEvent {
    const at = this.#date();
    const failure: BuildFailure | undefined =
      given ??
      (status === 'SUCCEEDED'
        ? undefined
        : { phase: 'BUILD', ...FAILURE_CONTEXT[status] });
    const start = build.startTime ?? at;
    build.phases = endedPhases(start, at, status, failure);
    const project = this.#project(build.projectName);
    if (BEFORE_STREAM.includes(failure?.phase ?? '')) {
      build.logs = logsOf(project, this);
    }
    const { groupName, streamName } = build.logs ?? {};
    if (groupName && streamName && this.#logSink) {
      const lines = buildLog(project.name, build.phases, failure);
      this.#logSink(groupName, streamName, lines, at.getTime());
    }
    Object.assign(build, {
      buildStatus: status,
      currentPhase: 'COMPLETED',
      buildComplete: true,
      endTime: at,
    });
    const record = this.#batches.get(build.buildBatchArn ?? '');
    for (const group of record?.batch.buildGroups ?? []) {
      if (group.currentBuildSummary?.arn === build.arn) {
        group.currentBuildSummary.buildStatus = status;
      }
    }
    const { account, region } = this;
    const event = buildStateChangeEvent(build, { account, region, at });
    this.events.push(event);
    for (const listener of [...this.#listeners]) listener(event);
    return event;
  }
}

/** A list position: start time (or identifier) and creation order. */
type Cursor = [primary: number | string, seq: number];

function encodeCursor(key: Cursor, sortOrder: ListParams['sortOrder']) {
  const json = JSON.stringify({ k: key, o: sortOrder });
  return Buffer.from(json).toString('base64url');
}

function decodeCursor(
  token: string,
  sortOrder: ListParams['sortOrder'],
): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const [primary, seq] = parsed.k;
    const ok =
      (Number.isFinite(primary) || typeof primary === 'string') &&
      Number.isInteger(seq);
    if (parsed.o === sortOrder && ok) return [primary, seq];
  } catch {
    // reported below
  }
  throw new ApiError('InvalidInputException', 'Invalid nextToken');
}

/** Throws `Error(message)` unless `ok`: misuse of the emulator by a caller. */
function must(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

function checkGroups(
  existing: readonly { identifier?: string }[],
  identifiers: readonly string[],
  ignoreFailure: readonly string[] = [],
): void {
  const known = new Set(existing.map((g) => g.identifier));
  for (const identifier of identifiers) {
    must(!known.has(identifier), `Duplicate build group ${identifier}`);
    known.add(identifier);
  }
  for (const identifier of ignoreFailure) {
    const why = `ignoreFailure names no new group: ${identifier}`;
    must(identifiers.includes(identifier), why);
  }
}

/** Tags as CodeBuild accepts them (a value holds no commas, for one). */
function checkTags(tags: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(tags)) {
    const ok = key.length <= 128 && value.length <= 256;
    const valid = ok && TAG_TEXT.test(key) && TAG_TEXT.test(value);
    must(valid && key !== '', `Invalid tag ${key}=${value}`);
  }
}
