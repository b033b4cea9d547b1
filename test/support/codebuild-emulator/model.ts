import type {
  BuildBatchPhase,
  BuildBatchPhaseType,
  BuildGroup,
  BuildPhase,
  StatusType,
} from '@aws-sdk/client-codebuild';
import { buildStateChangeEvent } from './events.js';
import {
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
  type BatchSnapshot,
  type BuildSnapshot,
  type BuildStateChangeEvent,
  type CompleteBuildOptions,
  type ProjectOptions,
  type ProjectRef,
  type RetryType,
  type SettleOptions,
  type StartBatchOptions,
  type TerminalStatus,
} from './types.js';

/** How long CodeBuild remembers a RetryBuildBatch idempotency token. */
export const TOKEN_WINDOW_MS = 5 * 60_000;

/** Every build and batch status. */
export const STATUSES: readonly StatusType[] = [
  'SUCCEEDED',
  'FAILED',
  'FAULT',
  'TIMED_OUT',
  'IN_PROGRESS',
  'STOPPED',
];

const TERMINAL: readonly string[] = STATUSES.filter((s) => s !== 'IN_PROGRESS');
const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$/;

interface BatchRecord {
  readonly batch: BatchSnapshot;
  readonly project: ProjectRecord;
  /** Creation order, breaks ties between equal start times. */
  readonly seq: number;
  retries: number;
}

interface TokenRecord {
  readonly batchArn: string;
  readonly retryType: RetryType;
  readonly at: number;
}

/** Parameters of a list call, already validated. */
export interface ListParams {
  projectName?: string;
  status?: StatusType;
  sortOrder: 'ASCENDING' | 'DESCENDING';
  maxResults: number;
  nextToken?: string;
}

export interface ModelOptions {
  readonly region: string;
  readonly account: string;
  readonly now: () => number;
  readonly autoSettle: boolean;
  readonly emit: (event: BuildStateChangeEvent) => void;
}

/**
 * CodeBuild's state: projects, builds, batches and their state machine, and
 * the RetryBuildBatch rules. Test-facing methods throw `Error` on misuse;
 * API-facing methods throw {@link ApiError}.
 */
export class CodeBuildModel {
  readonly #o: ModelOptions;
  readonly #projects = new Map<string, ProjectRecord>();
  readonly #builds = new Map<string, BuildSnapshot>();
  readonly #batches = new Map<string, BatchRecord>();
  readonly #tokens = new Map<string, TokenRecord>();
  #seq = 0;

  constructor(options: ModelOptions) {
    this.#o = options;
  }

  // ---- test-facing -------------------------------------------------------

  createProject(name: string, options: ProjectOptions = {}): ProjectRef {
    if (!PROJECT_NAME.test(name)) {
      throw new Error(`Invalid project name: ${JSON.stringify(name)}`);
    }
    if (this.#projects.has(name)) {
      throw new Error(`Project ${name} already exists`);
    }
    const project = projectRecord(name, options, this.#o);
    this.#projects.set(name, project);
    return { name, arn: project.arn };
  }

  startBuild(projectName: string): BuildSnapshot {
    const project = this.#project(projectName);
    return this.#snapshotBuild(this.#newBuild(project, undefined));
  }

  startBatch(projectName: string, options: StartBatchOptions): BatchSnapshot {
    const project = this.#project(projectName);
    if (options.groups.length === 0) {
      throw new Error(
        'A batch needs at least one group (see failBatchBeforeBuilds)',
      );
    }
    checkGroups([], options.groups, options.ignoreFailure);
    const record = this.#newBatch(project, ['SUBMITTED', 'DOWNLOAD_BATCHSPEC']);
    this.#addGroups(record, options.groups, options.ignoreFailure);
    return this.#snapshotBatch(record);
  }

  failBatchBeforeBuilds(projectName: string): BatchSnapshot {
    const project = this.#project(projectName);
    const record = this.#newBatch(project, ['SUBMITTED']);
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
    return this.#snapshotBatch(record);
  }

  startGroups(
    batchIdOrArn: string,
    groups: readonly string[],
    ignoreFailure?: readonly string[],
  ): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    if (record.batch.buildBatchStatus !== 'IN_PROGRESS') {
      throw new Error(`Batch ${record.batch.id} is not IN_PROGRESS`);
    }
    this.#addGroups(record, groups, ignoreFailure);
    return this.#snapshotBatch(record);
  }

  completeBuild(
    buildIdOrArn: string,
    status: TerminalStatus,
    options: CompleteBuildOptions = {},
  ): BuildStateChangeEvent {
    if (!TERMINAL.includes(status)) {
      throw new Error(`Not a terminal status: ${status}`);
    }
    const build = this.#buildOrThrow(buildIdOrArn);
    if (build.buildStatus !== 'IN_PROGRESS') {
      throw new Error(`Build ${build.id} already ended (${build.buildStatus})`);
    }
    const event = this.#finishBuild(build, status, options.reason);
    const record = build.buildBatchArn
      ? this.#batches.get(build.buildBatchArn)
      : undefined;
    if (
      record &&
      this.#o.autoSettle &&
      record.batch.buildBatchStatus === 'IN_PROGRESS' &&
      this.#running(record).length === 0
    ) {
      this.#settle(record, this.#outcome(record));
    }
    return event;
  }

  settleBatch(
    batchIdOrArn: string,
    options: SettleOptions = {},
  ): BatchSnapshot {
    const record = this.#batchOrThrow(batchIdOrArn);
    if (record.batch.buildBatchStatus !== 'IN_PROGRESS') {
      throw new Error(
        `Batch ${record.batch.id} already settled (${record.batch.buildBatchStatus})`,
      );
    }
    if (options.status && !TERMINAL.includes(options.status)) {
      throw new Error(`Not a terminal status: ${options.status}`);
    }
    const running = this.#running(record);
    if (running.length > 0 && !options.force) {
      throw new Error(
        `Batch ${record.batch.id} still has running builds: ${running.map((b) => b.id).join(', ')} (complete them or pass force)`,
      );
    }
    for (const build of running) this.#finishBuild(build, 'STOPPED');
    this.#settle(record, options.status ?? this.#outcome(record));
    return this.#snapshotBatch(record);
  }

  getBatch(idOrArn: string): BatchSnapshot {
    return this.#snapshotBatch(this.#batchOrThrow(idOrArn));
  }

  getBuild(idOrArn: string): BuildSnapshot {
    return this.#snapshotBuild(this.#buildOrThrow(idOrArn));
  }

  currentBuilds(batchIdOrArn: string): BuildSnapshot[] {
    const record = this.#batchOrThrow(batchIdOrArn);
    return this.#current(record).map((b) => this.#snapshotBuild(b));
  }

  listBatches(): BatchSnapshot[] {
    return [...this.#batches.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) => this.#snapshotBatch(r));
  }

  retryCount(batchIdOrArn: string): number {
    return this.#batchOrThrow(batchIdOrArn).retries;
  }

  // ---- API-facing --------------------------------------------------------

  batchGetBuilds(ids: readonly string[]) {
    const builds: BuildSnapshot[] = [];
    const buildsNotFound: string[] = [];
    for (const id of ids) {
      const build = this.#findBuild(id);
      if (build) builds.push(this.#snapshotBuild(build));
      else buildsNotFound.push(id);
    }
    return { builds, buildsNotFound };
  }

  batchGetBuildBatches(ids: readonly string[]) {
    const buildBatches: BatchSnapshot[] = [];
    const buildBatchesNotFound: string[] = [];
    for (const id of ids) {
      const record = this.#findBatch(id);
      if (record) buildBatches.push(this.#snapshotBatch(record));
      else buildBatchesNotFound.push(id);
    }
    return { buildBatches, buildBatchesNotFound };
  }

  /** RetryBuildBatch, with the seed's rules. */
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
    const now = this.#o.now();
    for (const [key, seen] of this.#tokens) {
      if (now - seen.at >= TOKEN_WINDOW_MS) this.#tokens.delete(key);
    }
    const seen = token === undefined ? undefined : this.#tokens.get(token);
    if (seen) {
      if (seen.batchArn !== record.batch.arn || seen.retryType !== type) {
        throw new ApiError(
          'InvalidInputException',
          `Idempotency token ${token} was used with different parameters (parameter mismatch)`,
        );
      }
      return this.#snapshotBatch(record);
    }
    const { batch } = record;
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
    return this.#snapshotBatch(record);
  }

  /** ListBuildBatches / ListBuildBatchesForProject: batch ids by start time. */
  listBuildBatches(params: ListParams): { ids: string[]; nextToken?: string } {
    if (params.projectName !== undefined) {
      const project = this.#projects.get(params.projectName);
      if (!project) {
        const { region, account } = this.#o;
        throw new ApiError(
          'ResourceNotFoundException',
          `Project cannot be found: arn:aws:codebuild:${region}:${account}:project/${params.projectName}`,
        );
      }
    }
    const sign = params.sortOrder === 'ASCENDING' ? 1 : -1;
    const key = (r: BatchRecord): [number, number] => [
      r.batch.startTime?.getTime() ?? 0,
      r.seq,
    ];
    const compare = (a: [number, number], b: [number, number]) =>
      sign * (a[0] - b[0] || a[1] - b[1]);
    const cursor =
      params.nextToken === undefined
        ? undefined
        : decodeCursor(params.nextToken, params.sortOrder);
    const matching = [...this.#batches.values()]
      .filter(
        (r) =>
          (params.projectName === undefined ||
            r.project.name === params.projectName) &&
          (params.status === undefined ||
            r.batch.buildBatchStatus === params.status) &&
          (cursor === undefined || compare(key(r), cursor) > 0),
      )
      .sort((a, b) => compare(key(a), key(b)));
    const page = matching.slice(0, params.maxResults);
    const last = page.at(-1);
    return {
      ids: page.map((r) => r.batch.id),
      ...(last && matching.length > page.length
        ? { nextToken: encodeCursor(key(last), params.sortOrder) }
        : {}),
    };
  }

  // ---- internals ---------------------------------------------------------

  #date(): Date {
    return new Date(this.#o.now());
  }

  #arn(kind: 'build' | 'build-batch', id: string): string {
    return `arn:aws:codebuild:${this.#o.region}:${this.#o.account}:${kind}/${id}`;
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
      idOrArn.startsWith('arn:') ? idOrArn : this.#arn('build', idOrArn),
    );
  }

  #findBatch(idOrArn: string): BatchRecord | undefined {
    return this.#batches.get(
      idOrArn.startsWith('arn:') ? idOrArn : this.#arn('build-batch', idOrArn),
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

  #snapshotBuild(build: BuildSnapshot): BuildSnapshot {
    return structuredClone(build) as BuildSnapshot;
  }

  #snapshotBatch(record: BatchRecord): BatchSnapshot {
    return structuredClone(record.batch) as BatchSnapshot;
  }

  #newBuild(
    project: ProjectRecord,
    batch: BatchSnapshot | undefined,
  ): BuildSnapshot {
    project.builds += 1;
    const build = buildShape(project, this.#o, this.#date(), batch);
    this.#builds.set(build.arn, build);
    return build;
  }

  #newBatch(
    project: ProjectRecord,
    donePhases: readonly BuildBatchPhaseType[],
  ): BatchRecord {
    project.batches += 1;
    const batch = batchShape(project, this.#o, this.#date(), donePhases);
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
    checkGroups(record.batch.buildGroups, identifiers, ignoreFailure);
    const { batch } = record;
    for (const identifier of identifiers) {
      const build = this.#newBuild(record.project, batch);
      const group: BuildGroup = {
        identifier,
        dependsOn: [],
        ignoreFailure: ignoreFailure.includes(identifier),
        currentBuildSummary: summaryOf(build),
        priorBuildSummaryList: [],
      };
      batch.buildGroups.push(group);
    }
  }

  #current(record: BatchRecord): BuildSnapshot[] {
    return record.batch.buildGroups.flatMap((g) => {
      const arn = g.currentBuildSummary?.arn;
      const build = arn ? this.#builds.get(arn) : undefined;
      return build ? [build] : [];
    });
  }

  #running(record: BatchRecord): BuildSnapshot[] {
    return this.#current(record).filter((b) => b.buildStatus === 'IN_PROGRESS');
  }

  /** FAILED if a group that may not fail has a non-SUCCEEDED build. */
  #outcome(record: BatchRecord): TerminalStatus {
    const failed = record.batch.buildGroups.some(
      (g) =>
        !g.ignoreFailure && g.currentBuildSummary?.buildStatus !== 'SUCCEEDED',
    );
    return failed ? 'FAILED' : 'SUCCEEDED';
  }

  #settle(record: BatchRecord, status: TerminalStatus): void {
    const { batch } = record;
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
  }

  /** Ends a running build, updates its group and emits its event. */
  #finishBuild(
    build: BuildSnapshot,
    status: TerminalStatus,
    reason?: string,
  ): BuildStateChangeEvent {
    const at = this.#date();
    const { phases } = build;
    const failure = FAILURE_CONTEXT[status];
    const context = failure
      ? { statusCode: failure.statusCode, message: reason ?? failure.message }
      : { statusCode: '', message: '' };
    const running = phases.at(-1);
    closePhase(running, at, status);
    if (running) running.contexts = [context];
    phases.push(donePhase<BuildPhase>('FINALIZING', at), {
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
      account: this.#o.account,
      region: this.#o.region,
      at,
    });
    this.#o.emit(event);
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
  existing: readonly BuildGroup[],
  identifiers: readonly string[],
  ignoreFailure: readonly string[] = [],
): void {
  const known = new Set(existing.map((g) => g.identifier));
  for (const identifier of identifiers) {
    if (known.has(identifier)) {
      throw new Error(`Duplicate build group ${identifier}`);
    }
    known.add(identifier);
  }
  for (const identifier of ignoreFailure) {
    if (!identifiers.includes(identifier)) {
      throw new Error(`ignoreFailure names an unknown group ${identifier}`);
    }
  }
}
