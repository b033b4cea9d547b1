import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** Terminal statuses a child build can reach. */
export type TerminalStatus =
  | 'SUCCEEDED'
  | 'FAILED'
  | 'FAULT'
  | 'STOPPED'
  | 'TIMED_OUT';

/** An environment variable of a project, as CodeBuild reports it. */
export interface EnvironmentVariable {
  name: string;
  type: string;
  value: string;
}

/** Options of {@link CodeBuildEmulator.start}. */
export interface EmulatorOptions {
  readonly region?: string;
  readonly account?: string;
  /** Clock in milliseconds; every timestamp and the token window use it. */
  readonly now?: () => number;
  /** Settle a batch as soon as its last running child completes. */
  readonly autoSettle?: boolean;
}

/** Injected faults; each applies to every operation unless `operations`. */
export interface Faults {
  readonly throttleRate?: number;
  readonly serverErrorRate?: number;
  readonly latencyMs?: number;
  readonly operations?: readonly string[];
  readonly random?: () => number;
}

/** A scripted error for {@link CodeBuildEmulator.failNext}. */
export type FaultKind =
  | 'throttle'
  | 'server-error'
  | {
      readonly type: string;
      readonly status: number;
      readonly message?: string;
    };

/** One request the emulator answered. */
export interface RequestRecord {
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly status: number;
  readonly errorType?: string;
  readonly at: number;
}

/** A build summary inside a build group. */
export interface BuildSummary {
  arn: string;
  buildStatus: string;
  requestedOn: number;
}

/** A build group of a batch. */
export interface BuildGroup {
  identifier: string;
  ignoreFailure: boolean;
  dependsOn: string[];
  currentBuildSummary?: BuildSummary;
  priorBuildSummaryList: BuildSummary[];
}

interface Phase {
  phaseType: string;
  phaseStatus?: string;
  startTime: number;
  endTime?: number;
  durationInSeconds?: number;
}

/** A batch build, in the API's field names (timestamps in epoch seconds). */
export interface Batch {
  id: string;
  arn: string;
  projectName: string;
  buildBatchNumber: number;
  buildBatchStatus: string;
  currentPhase: string;
  complete: boolean;
  startTime: number;
  endTime?: number;
  phases: Phase[];
  buildGroups: BuildGroup[];
  initiator: string;
  sourceVersion: string;
}

/** A build, in the API's field names (timestamps in epoch seconds). */
export interface Build {
  id: string;
  arn: string;
  projectName: string;
  buildNumber: number;
  buildStatus: string;
  currentPhase: string;
  buildComplete: boolean;
  startTime: number;
  endTime?: number;
  buildBatchArn?: string;
  initiator: string;
  sourceVersion: string;
  environment: {
    type: string;
    image: string;
    computeType: string;
    privilegedMode: boolean;
    environmentVariables: EnvironmentVariable[];
  };
}

/** A CodeBuild Build State Change event, in the documented shape. */
export interface BuildStateChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'CodeBuild Build State Change';
  source: 'aws.codebuild';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

interface Project {
  name: string;
  environmentVariables: EnvironmentVariable[];
  builds: number;
  batches: number;
}

interface TokenUse {
  readonly id: string;
  readonly retryType: string;
  readonly at: number;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const TOKEN_WINDOW_MS = 5 * 60_000;
const TARGET_PREFIX = 'CodeBuild_20161006.';

/**
 * A wire-level CodeBuild: an HTTP server on 127.0.0.1 speaking the AWS JSON
 * 1.1 protocol the real `@aws-sdk/client-codebuild` uses, with a model of
 * projects, batch builds, their child builds and RetryBuildBatch's rules.
 *
 * @example
 * const codebuild = await CodeBuildEmulator.start();
 * process.env.AWS_ENDPOINT_URL_CODEBUILD = codebuild.endpoint;
 */
export class CodeBuildEmulator {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Every Build State Change event emitted, oldest first. */
  readonly events: BuildStateChangeEvent[] = [];
  /** Every request answered, oldest first. */
  readonly requests: RequestRecord[] = [];
  /**
   * Every request as it arrives, before latency and faults: shows a call
   * that reached CodeBuild but has not been answered (yet, or ever).
   */
  readonly arrivals: Omit<RequestRecord, 'status' | 'errorType'>[] = [];
  readonly region: string;
  readonly account: string;
  /** Faults injected so far, by kind. */
  throttledCount = 0;
  serverErrorCount = 0;

  readonly #server: Server;
  readonly #now: () => number;
  readonly #autoSettle: boolean;
  readonly #projects = new Map<string, Project>();
  readonly #builds = new Map<string, Build>();
  readonly #batches = new Map<string, Batch>();
  readonly #batchOrder: string[] = [];
  readonly #tokens = new Map<string, TokenUse>();
  readonly #retries = new Map<string, number>();
  readonly #listeners: ((event: BuildStateChangeEvent) => void)[] = [];
  readonly #scripted = new Map<string, FaultKind[]>();
  #faults: Faults = {};

  private constructor(
    server: Server,
    endpoint: string,
    options: EmulatorOptions,
  ) {
    this.#server = server;
    this.endpoint = endpoint;
    this.region = options.region ?? 'eu-west-1';
    this.account = options.account ?? '111122223333';
    this.#now = options.now ?? Date.now;
    this.#autoSettle = options.autoSettle ?? false;
  }

  /** Starts the emulator on a free loopback port. */
  static async start(
    options: EmulatorOptions = {},
  ): Promise<CodeBuildEmulator> {
    let emulator: CodeBuildEmulator | undefined;
    const server = createServer((req, res) => {
      void emulator?.handle(req, res);
    });
    server.keepAliveTimeout = 1000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    emulator = new CodeBuildEmulator(
      server,
      `http://127.0.0.1:${port}`,
      options,
    );
    return emulator;
  }

  /** Stops the server, cutting keep-alive connections. */
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- model -------------------------------------------------------------

  /** Creates a project; its environment variables appear in events. */
  createProject(
    name: string,
    options: { environmentVariables?: EnvironmentVariable[] } = {},
  ): void {
    this.#projects.set(name, {
      name,
      environmentVariables: options.environmentVariables ?? [],
      builds: 0,
      batches: 0,
    });
  }

  /** Starts a standalone build (no batch). */
  startBuild(projectName: string): Build {
    return clone(this.#newBuild(this.#project(projectName)));
  }

  /** Starts a batch with one running child build per group. */
  startBatch(
    projectName: string,
    options: { groups: string[]; ignoreFailure?: string[] },
  ): Batch {
    const batch = this.#newBatch(this.#project(projectName));
    this.#startGroups(batch, options.groups, options.ignoreFailure ?? []);
    return clone(batch);
  }

  /**
   * A batch that fails before any child build exists (a broken batch
   * buildspec): FAILED at once, no events.
   */
  failBatchBeforeBuilds(projectName: string): Batch {
    const batch = this.#newBatch(this.#project(projectName));
    const now = this.#seconds();
    const download = batch.phases.find(
      (p) => p.phaseType === 'DOWNLOAD_BATCHSPEC',
    );
    if (download) {
      download.phaseStatus = 'FAILED';
      download.endTime = now;
    }
    batch.buildBatchStatus = 'FAILED';
    batch.currentPhase = 'FAILED';
    batch.complete = true;
    batch.endTime = now;
    batch.phases.push({ phaseType: 'FAILED', startTime: now });
    return clone(batch);
  }

  /** Gives a batch (for example one retried after failing early) groups. */
  startGroups(batchIdOrArn: string, groups: string[]): Batch {
    const batch = this.#batch(batchIdOrArn);
    this.#startGroups(batch, groups, []);
    return clone(batch);
  }

  /** Ends a build with a terminal status and emits its event. */
  completeBuild(
    buildIdOrArn: string,
    status: TerminalStatus,
  ): BuildStateChangeEvent {
    const build = this.#build(buildIdOrArn);
    if (build.buildComplete) {
      throw new Error(`build ${build.id} already completed`);
    }
    build.buildStatus = status;
    build.buildComplete = true;
    build.currentPhase = 'COMPLETED';
    build.endTime = this.#seconds();
    const batch = build.buildBatchArn
      ? this.#batch(build.buildBatchArn)
      : undefined;
    if (batch) {
      for (const group of batch.buildGroups) {
        if (group.currentBuildSummary?.arn === build.arn) {
          group.currentBuildSummary.buildStatus = status;
        }
      }
    }
    const event = this.#emit(build);
    if (batch && this.#autoSettle && !this.#running(batch)) {
      this.settleBatch(batch.arn);
    }
    return event;
  }

  /**
   * Settles a batch from its groups: FAILED if a group that may not fail did
   * not succeed, else SUCCEEDED (or the status given). No event: CodeBuild
   * publishes none for batches.
   */
  settleBatch(
    batchIdOrArn: string,
    options: {
      status?: 'STOPPED' | 'FAILED' | 'SUCCEEDED';
      force?: boolean;
    } = {},
  ): Batch {
    const batch = this.#batch(batchIdOrArn);
    if (batch.complete) throw new Error(`batch ${batch.id} already settled`);
    if (this.#running(batch) && !options.force) {
      throw new Error(`batch ${batch.id} still has running builds`);
    }
    const failed = batch.buildGroups.some(
      (g) =>
        !g.ignoreFailure && g.currentBuildSummary?.buildStatus !== 'SUCCEEDED',
    );
    const status = options.status ?? (failed ? 'FAILED' : 'SUCCEEDED');
    const now = this.#seconds();
    closePhase(
      batch.phases,
      now,
      status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
    );
    batch.phases.push({ phaseType: status, startTime: now });
    batch.buildBatchStatus = status;
    batch.currentPhase = status;
    batch.complete = true;
    batch.endTime = now;
    return clone(batch);
  }

  /** A copy of a batch. */
  getBatch(idOrArn: string): Batch {
    return clone(this.#batch(idOrArn));
  }

  /** A copy of a build. */
  getBuild(idOrArn: string): Build {
    return clone(this.#build(idOrArn));
  }

  /** Every batch, oldest first. */
  listBatches(): Batch[] {
    return this.#batchOrder.map((id) => clone(this.#batches.get(id) as Batch));
  }

  /** How many retries really happened to the batch (replays excluded). */
  retryCount(batchIdOrArn: string): number {
    return this.#retries.get(this.#batch(batchIdOrArn).id) ?? 0;
  }

  /** Subscribes to Build State Change events. */
  onEvent(listener: (event: BuildStateChangeEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  // ---- faults and request log ------------------------------------------

  /** Replaces the random faults (an empty object clears them). */
  setFaults(faults: Faults): void {
    this.#faults = faults;
  }

  /** Makes the next `count` calls of `operation` fail with `kind`. */
  failNext(operation: string, count: number, kind: FaultKind): void {
    const queue = this.#scripted.get(operation) ?? [];
    for (let i = 0; i < count; i++) queue.push(kind);
    this.#scripted.set(operation, queue);
  }

  /** Requests answered, optionally of one operation. */
  callCount(operation?: string): number {
    return operation
      ? this.requests.filter((r) => r.operation === operation).length
      : this.requests.length;
  }

  /** Forgets the request log and fault counters. */
  resetLog(): void {
    this.requests.length = 0;
    this.arrivals.length = 0;
    this.throttledCount = 0;
    this.serverErrorCount = 0;
  }

  // ---- protocol ----------------------------------------------------------

  private async handle(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : target;
    let input: Record<string, unknown> = {};
    let status = 200;
    let body: unknown;
    try {
      if (req.method !== 'POST') {
        throw new ApiError('UnknownOperationException', 'POST / only');
      }
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new ApiError('SerializationException', 'Malformed JSON body');
      }
      this.arrivals.push({ operation, input, at: this.#now() });
      await this.#injectFaults(operation);
      body = this.#dispatch(operation, input);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError('InternalFailure', String(error), 500);
      status = apiError.status;
      body = { __type: apiError.type, message: apiError.message };
    }
    const errorType =
      status === 200 ? undefined : (body as { __type: string }).__type;
    this.requests.push({
      operation,
      input,
      status,
      errorType,
      at: this.#now(),
    });
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.1',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': randomUUID(),
    });
    res.end(payload);
  }

  async #injectFaults(operation: string): Promise<void> {
    const scripted = this.#scripted.get(operation)?.shift();
    if (scripted) throw this.#faultError(scripted);
    const faults = this.#faults;
    if (faults.operations && !faults.operations.includes(operation)) return;
    if (faults.latencyMs) {
      await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    }
    const random = faults.random ?? Math.random;
    if (faults.throttleRate && random() < faults.throttleRate) {
      throw this.#faultError('throttle');
    }
    if (faults.serverErrorRate && random() < faults.serverErrorRate) {
      throw this.#faultError('server-error');
    }
  }

  #faultError(kind: FaultKind): ApiError {
    if (kind === 'throttle') {
      this.throttledCount++;
      return new ApiError('ThrottlingException', 'Rate exceeded');
    }
    if (kind === 'server-error') {
      this.serverErrorCount++;
      return new ApiError('InternalFailure', 'Internal service error', 500);
    }
    return new ApiError(kind.type, kind.message ?? kind.type, kind.status);
  }

  #dispatch(operation: string, input: Record<string, unknown>): unknown {
    switch (operation) {
      case 'BatchGetBuilds':
        return this.#batchGetBuilds(input);
      case 'BatchGetBuildBatches':
        return this.#batchGetBuildBatches(input);
      case 'RetryBuildBatch':
        return this.#retryBuildBatch(input);
      case 'ListBuildBatches':
        return this.#listBuildBatches(input, undefined);
      case 'ListBuildBatchesForProject': {
        const name = input.projectName;
        if (typeof name !== 'string' || !this.#projects.has(name)) {
          throw new ApiError(
            'ResourceNotFoundException',
            `The provided project name ${String(name)} was not found.`,
          );
        }
        return this.#listBuildBatches(input, name);
      }
      default:
        throw new ApiError(
          'UnknownOperationException',
          `Unknown operation ${operation}`,
        );
    }
  }

  #batchGetBuilds(input: Record<string, unknown>) {
    const ids = idList(input.ids);
    const builds: Build[] = [];
    const buildsNotFound: string[] = [];
    for (const id of ids) {
      const build = this.#builds.get(stripArn(id, 'build/'));
      if (build) builds.push(build);
      else buildsNotFound.push(id);
    }
    return { builds, buildsNotFound };
  }

  #batchGetBuildBatches(input: Record<string, unknown>) {
    const ids = idList(input.ids);
    const buildBatches: Batch[] = [];
    const buildBatchesNotFound: string[] = [];
    for (const id of ids) {
      const batch = this.#batches.get(stripArn(id, 'build-batch/'));
      if (batch) buildBatches.push(batch);
      else buildBatchesNotFound.push(id);
    }
    return { buildBatches, buildBatchesNotFound };
  }

  #retryBuildBatch(input: Record<string, unknown>) {
    if (typeof input.id !== 'string' || input.id.length === 0) {
      throw new ApiError('InvalidInputException', 'id must be provided');
    }
    const retryType = input.retryType ?? 'RETRY_ALL_BUILDS';
    if (
      retryType !== 'RETRY_ALL_BUILDS' &&
      retryType !== 'RETRY_FAILED_BUILDS'
    ) {
      throw new ApiError('InvalidInputException', 'Invalid retryType');
    }
    const batch = this.#batches.get(stripArn(input.id, 'build-batch/'));
    if (!batch) {
      throw new ApiError(
        'ResourceNotFoundException',
        `Build batch ${input.id} does not exist`,
      );
    }
    const now = this.#now();
    const token = input.idempotencyToken;
    if (typeof token === 'string') {
      const used = this.#tokens.get(token);
      if (used && now - used.at < TOKEN_WINDOW_MS) {
        if (used.id !== batch.id || used.retryType !== retryType) {
          throw new ApiError(
            'InvalidInputException',
            'Idempotency token was used with different parameters',
          );
        }
        return { buildBatch: batch };
      }
    }
    if (batch.buildBatchStatus !== 'FAILED') {
      throw new ApiError(
        'InvalidInputException',
        'Only failed batch builds can be retried',
      );
    }
    if (typeof token === 'string') {
      this.#tokens.set(token, { id: batch.id, retryType, at: now });
    }
    const seconds = now / 1000;
    batch.buildBatchStatus = 'IN_PROGRESS';
    batch.currentPhase = 'IN_PROGRESS';
    batch.complete = false;
    batch.endTime = undefined;
    batch.phases.push({ phaseType: 'IN_PROGRESS', startTime: seconds });
    for (const group of batch.buildGroups) {
      const current = group.currentBuildSummary;
      if (
        retryType === 'RETRY_FAILED_BUILDS' &&
        current?.buildStatus === 'SUCCEEDED'
      ) {
        continue;
      }
      if (current) group.priorBuildSummaryList.push({ ...current });
      const build = this.#newBuild(this.#project(batch.projectName), batch.arn);
      group.currentBuildSummary = summaryOf(build);
    }
    this.#retries.set(batch.id, (this.#retries.get(batch.id) ?? 0) + 1);
    return { buildBatch: batch };
  }

  #listBuildBatches(input: Record<string, unknown>, projectName?: string) {
    const filter = input.filter as { status?: string } | undefined;
    const maxResults = Number(input.maxResults ?? 100);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
      throw new ApiError('InvalidInputException', 'maxResults must be 1-100');
    }
    const descending = (input.sortOrder ?? 'DESCENDING') === 'DESCENDING';
    const ids = this.#batchOrder.filter((id) => {
      const batch = this.#batches.get(id) as Batch;
      if (projectName && batch.projectName !== projectName) return false;
      return !filter?.status || batch.buildBatchStatus === filter.status;
    });
    if (descending) ids.reverse();
    const offset = input.nextToken ? Number(input.nextToken) : 0;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ApiError('InvalidInputException', 'Invalid nextToken');
    }
    const page = ids.slice(offset, offset + maxResults);
    const next = offset + maxResults;
    return next < ids.length
      ? { ids: page, nextToken: String(next) }
      : { ids: page };
  }

  // ---- internals -------------------------------------------------------

  #seconds(): number {
    return this.#now() / 1000;
  }

  #project(name: string): Project {
    const project = this.#projects.get(name);
    if (!project) throw new Error(`unknown project ${name}`);
    return project;
  }

  #batch(idOrArn: string): Batch {
    const batch = this.#batches.get(stripArn(idOrArn, 'build-batch/'));
    if (!batch) throw new Error(`unknown batch ${idOrArn}`);
    return batch;
  }

  #build(idOrArn: string): Build {
    const build = this.#builds.get(stripArn(idOrArn, 'build/'));
    if (!build) throw new Error(`unknown build ${idOrArn}`);
    return build;
  }

  #running(batch: Batch): boolean {
    return batch.buildGroups.some(
      (g) => g.currentBuildSummary?.buildStatus === 'IN_PROGRESS',
    );
  }

  #newBatch(project: Project): Batch {
    project.batches += 1;
    const id = `${project.name}:${randomUUID()}`;
    const now = this.#seconds();
    const batch: Batch = {
      id,
      arn: `arn:aws:codebuild:${this.region}:${this.account}:build-batch/${id}`,
      projectName: project.name,
      buildBatchNumber: project.batches,
      buildBatchStatus: 'IN_PROGRESS',
      currentPhase: 'IN_PROGRESS',
      complete: false,
      startTime: now,
      phases: [
        {
          phaseType: 'SUBMITTED',
          phaseStatus: 'SUCCEEDED',
          startTime: now,
          endTime: now,
          durationInSeconds: 0,
        },
        {
          phaseType: 'DOWNLOAD_BATCHSPEC',
          phaseStatus: 'SUCCEEDED',
          startTime: now,
          endTime: now,
          durationInSeconds: 0,
        },
        { phaseType: 'IN_PROGRESS', startTime: now },
      ],
      buildGroups: [],
      initiator: 'batch-retry-emulator',
      sourceVersion: 'refs/heads/main',
    };
    this.#batches.set(id, batch);
    this.#batchOrder.push(id);
    return batch;
  }

  #startGroups(
    batch: Batch,
    identifiers: string[],
    ignoreFailure: string[],
  ): void {
    for (const identifier of identifiers) {
      const build = this.#newBuild(this.#project(batch.projectName), batch.arn);
      batch.buildGroups.push({
        identifier,
        ignoreFailure: ignoreFailure.includes(identifier),
        dependsOn: [],
        currentBuildSummary: summaryOf(build),
        priorBuildSummaryList: [],
      });
    }
  }

  #newBuild(project: Project, buildBatchArn?: string): Build {
    project.builds += 1;
    const id = `${project.name}:${randomUUID()}`;
    const build: Build = {
      id,
      arn: `arn:aws:codebuild:${this.region}:${this.account}:build/${id}`,
      projectName: project.name,
      buildNumber: project.builds,
      buildStatus: 'IN_PROGRESS',
      currentPhase: 'BUILD',
      buildComplete: false,
      startTime: this.#seconds(),
      buildBatchArn,
      initiator: buildBatchArn
        ? `${project.name}-batch-role/AWSCodeBuild-${id.slice(-8)}`
        : 'user/ci',
      sourceVersion: 'refs/heads/main',
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
        computeType: 'BUILD_GENERAL1_MEDIUM',
        privilegedMode: false,
        environmentVariables: project.environmentVariables.map((v) => ({
          ...v,
        })),
      },
    };
    this.#builds.set(id, build);
    return build;
  }

  #emit(build: Build): BuildStateChangeEvent {
    const uuid = build.id.slice(build.projectName.length + 1);
    const start = new Date(build.startTime * 1000);
    const end = new Date((build.endTime ?? build.startTime) * 1000);
    const event: BuildStateChangeEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'CodeBuild Build State Change',
      source: 'aws.codebuild',
      account: this.account,
      time: end.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.region,
      resources: [build.arn],
      detail: {
        'build-status': build.buildStatus,
        'project-name': build.projectName,
        'build-id': build.arn,
        'additional-information': {
          environment: {
            image: build.environment.image,
            'privileged-mode': build.environment.privilegedMode,
            'compute-type': build.environment.computeType,
            type: build.environment.type,
            // Real events carry plaintext values; so do ours.
            'environment-variables': build.environment.environmentVariables.map(
              (v) => ({ ...v }),
            ),
          },
          'timeout-in-minutes': 60,
          'build-complete': true,
          initiator: build.initiator,
          'build-start-time': consoleTime(start),
          source: {
            location: `https://github.com/example/${build.projectName}.git`,
            type: 'GITHUB',
          },
          'source-version': build.sourceVersion,
          logs: {
            'group-name': `/aws/codebuild/${build.projectName}`,
            'stream-name': uuid,
          },
          phases: [
            {
              'phase-type': 'BUILD',
              'phase-status': build.buildStatus,
              'start-time': consoleTime(start),
              'end-time': consoleTime(end),
              'duration-in-seconds': Math.round(
                (build.endTime ?? build.startTime) - build.startTime,
              ),
            },
            { 'phase-type': 'COMPLETED', 'start-time': consoleTime(end) },
          ],
          'queued-timeout-in-minutes': 480,
        },
        'current-phase': 'COMPLETED',
        'current-phase-context': '[: ]',
        version: '1',
      },
    };
    this.events.push(event);
    for (const listener of [...this.#listeners]) listener(event);
    return event;
  }
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function summaryOf(build: Build): BuildSummary {
  return {
    arn: build.arn,
    buildStatus: build.buildStatus,
    requestedOn: build.startTime,
  };
}

function closePhase(phases: Phase[], now: number, status: string): void {
  const open = phases[phases.length - 1];
  if (open && open.endTime === undefined) {
    open.phaseStatus = status;
    open.endTime = now;
    open.durationInSeconds = Math.round(now - open.startTime);
  }
}

function idList(ids: unknown): string[] {
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) {
    throw new ApiError('InvalidInputException', 'ids must hold 1 to 100 ids');
  }
  return ids.map(String);
}

/** `arn:...:build/<project>:<uuid>` or `<project>:<uuid>` → `<project>:<uuid>`. */
function stripArn(idOrArn: string, resource: string): string {
  const at = idOrArn.indexOf(`:${resource}`);
  return idOrArn.startsWith('arn:') && at >= 0
    ? idOrArn.slice(at + resource.length + 1)
    : idOrArn;
}

/** The "Nov 20, 2026 9:32:15 AM" format CodeBuild events use. */
function consoleTime(date: Date): string {
  const month = date.toLocaleString('en-US', {
    month: 'short',
    timeZone: 'UTC',
  });
  let hours = date.getUTCHours();
  const suffix = hours >= 12 ? 'PM' : 'AM';
  hours = hours % 12 || 12;
  const mm = String(date.getUTCMinutes()).padStart(2, '0');
  const ss = String(date.getUTCSeconds()).padStart(2, '0');
  return `${month} ${date.getUTCDate()}, ${date.getUTCFullYear()} ${hours}:${mm}:${ss} ${suffix}`;
}
