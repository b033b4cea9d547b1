import {
  BatchGetBuildBatchesCommand,
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  type Build,
  type BuildBatch,
  type BuildBatchPhase,
  type BuildPhase,
  type CodeBuildClient,
  InvalidInputException,
  ListBuildBatchesCommand,
  ListBuildBatchesForProjectCommand,
  ResourceNotFoundException,
  RetryBuildBatchCommand,
} from '@aws-sdk/client-codebuild';
import { parseBatchArn } from './arn.js';
import type {
  BatchView,
  BuildLookup,
  BuildView,
  FailedGroup,
  PhaseView,
} from './batch.js';
import { FAILURE_BUILD_STATUSES, type RetryType } from './contract.js';

/** BatchGetBuildBatches and the list calls take at most 100 ids. */
const PAGE_SIZE = 100;

/** CodeBuild's answer to {@link CodeBuildGateway.retryBatch}. */
export type RetryResponse =
  | { readonly kind: 'retried'; readonly status: string }
  /** InvalidInputException: the batch is no longer failed (or bad input). */
  | { readonly kind: 'refused'; readonly message: string }
  /** ResourceNotFoundException: the batch is gone. */
  | { readonly kind: 'not-found' };

/** A scope of {@link CodeBuildGateway.scanFailedBatches} that could not be scanned. */
export interface ScopeFailure {
  /** The project ('' for the whole account). */
  readonly projectName: string;
  /** The project does not exist (yet). */
  readonly missing: boolean;
  readonly error: unknown;
}

/**
 * The CodeBuild calls the service makes, returning plain data. Throttling and
 * 5xx errors are retried by the SDK client and otherwise propagate, so the
 * invocation fails and Lambda's own retries take over.
 */
export class CodeBuildGateway {
  readonly #client: CodeBuildClient;

  constructor(client: CodeBuildClient) {
    this.#client = client;
  }

  /** Finds the batch a build belongs to (BatchGetBuilds). */
  async lookUpBuild(buildArn: string): Promise<BuildLookup> {
    const { builds } = await this.#client.send(
      new BatchGetBuildsCommand({ ids: [buildArn] }),
    );
    const build = builds?.[0];
    if (!build) return { kind: 'not-found' };
    const view = toBuildView(build);
    return build.buildBatchArn && view
      ? { kind: 'batch-child', batchArn: build.buildBatchArn, build: view }
      : { kind: 'standalone' };
  }

  /**
   * Reads builds by ARN in one call (a batch has at most 100 groups);
   * missing builds are left out.
   */
  async getBuilds(buildArns: readonly string[]): Promise<BuildView[]> {
    if (buildArns.length === 0) return [];
    const { builds } = await this.#client.send(
      new BatchGetBuildsCommand({ ids: buildArns.slice(0, PAGE_SIZE) }),
    );
    return (builds ?? []).flatMap((build) => toBuildView(build) ?? []);
  }

  /**
   * Reads projects' tags (BatchGetProjects), key → value per project name.
   * A project CodeBuild does not know gets no entry.
   */
  async getProjectTags(
    projectNames: readonly string[],
  ): Promise<Map<string, Record<string, string>>> {
    const tags = new Map<string, Record<string, string>>();
    for (let i = 0; i < projectNames.length; i += PAGE_SIZE) {
      const names = projectNames.slice(i, i + PAGE_SIZE);
      const { projects } = await this.#client.send(
        new BatchGetProjectsCommand({ names }),
      );
      for (const project of projects ?? []) {
        if (!project.name) continue;
        tags.set(
          project.name,
          Object.fromEntries(
            (project.tags ?? []).flatMap((t) =>
              t.key ? [[t.key, t.value ?? '']] : [],
            ),
          ),
        );
      }
    }
    return tags;
  }

  /** Reads batches by ARN, 100 per call; missing batches are left out. */
  async getBatches(batchArns: readonly string[]): Promise<BatchView[]> {
    const views: BatchView[] = [];
    for (let i = 0; i < batchArns.length; i += PAGE_SIZE) {
      const ids = batchArns.slice(i, i + PAGE_SIZE).map(idOf);
      const { buildBatches } = await this.#client.send(
        new BatchGetBuildBatchesCommand({ ids }),
      );
      for (const batch of buildBatches ?? []) {
        const view = toView(batch);
        if (view) views.push(view);
      }
    }
    return views;
  }

  /**
   * Calls RetryBuildBatch. Refusals that retrying cannot fix come back as
   * data rather than errors.
   */
  async retryBatch(input: {
    readonly batchId: string;
    readonly token: string;
    readonly retryType: RetryType;
  }): Promise<RetryResponse> {
    try {
      const { buildBatch } = await this.#client.send(
        new RetryBuildBatchCommand({
          id: input.batchId,
          idempotencyToken: input.token,
          retryType: input.retryType,
        }),
      );
      return {
        kind: 'retried',
        status: buildBatch?.buildBatchStatus ?? 'UNKNOWN',
      };
    } catch (error) {
      if (error instanceof InvalidInputException) {
        return { kind: 'refused', message: error.message };
      }
      if (error instanceof ResourceNotFoundException) {
        return { kind: 'not-found' };
      }
      throw error;
    }
  }

  /**
   * Pages through FAILED batches (`sortOrder: DESCENDING`) in the account
   * (ListBuildBatches) or in each of the given projects
   * (ListBuildBatchesForProject), reading each page with
   * BatchGetBuildBatches, in the listed order. `newScan` is called once per
   * scope and returns the judge of that scope's pages: it sees each page's
   * batches and returns false to stop. A scope whose scan fails is
   * reported to `onScopeFailed` and the next scope is scanned: one project
   * that cannot be listed must not hide the failures of the others.
   */
  async scanFailedBatches(
    projectNames: readonly string[],
    newScan: (projectName?: string) => (page: readonly BatchView[]) => boolean,
    onScopeFailed: (failure: ScopeFailure) => void,
  ): Promise<void> {
    const scopes = projectNames.length > 0 ? projectNames : [undefined];
    for (const projectName of scopes) {
      try {
        await this.#scanScope(projectName, newScan(projectName));
      } catch (error) {
        onScopeFailed({
          projectName: projectName ?? '',
          missing: error instanceof ResourceNotFoundException,
          error,
        });
      }
    }
  }

  async #scanScope(
    projectName: string | undefined,
    keepGoing: (page: readonly BatchView[]) => boolean,
  ): Promise<void> {
    let nextToken: string | undefined;
    do {
      const filter = { status: 'FAILED' as const };
      const page = projectName
        ? await this.#client.send(
            new ListBuildBatchesForProjectCommand({
              projectName,
              filter,
              sortOrder: 'DESCENDING',
              maxResults: PAGE_SIZE,
              nextToken,
            }),
          )
        : await this.#client.send(
            new ListBuildBatchesCommand({
              filter,
              sortOrder: 'DESCENDING',
              maxResults: PAGE_SIZE,
              nextToken,
            }),
          );
      const ids = page.ids ?? [];
      if (ids.length === 0) break;
      const { buildBatches } = await this.#client.send(
        new BatchGetBuildBatchesCommand({ ids }),
      );
      // In the listed order: the scan judges the listing's order.
      const byId = new Map(
        (buildBatches ?? []).flatMap((b) => {
          const view = toView(b);
          return view ? [[view.id, view] as const] : [];
        }),
      );
      const views = ids.flatMap((id) => byId.get(id) ?? []);
      if (!keepGoing(views)) break;
      nextToken = page.nextToken;
    } while (nextToken);
  }
}

function idOf(batchArn: string): string {
  return parseBatchArn(batchArn)?.id ?? batchArn;
}

function toView(batch: BuildBatch): BatchView | undefined {
  if (!batch.arn || !batch.id || !batch.projectName) return undefined;
  return {
    arn: batch.arn,
    id: batch.id,
    projectName: batch.projectName,
    status: batch.buildBatchStatus ?? 'UNKNOWN',
    startTime: batch.startTime,
    endTime: batch.endTime,
    phaseCount: batch.phases?.length ?? 0,
    failedGroups: (batch.buildGroups ?? []).flatMap((group): FailedGroup[] => {
      const status = group.currentBuildSummary?.buildStatus;
      if (!status || !FAILED.has(status) || group.ignoreFailure) return [];
      return [
        {
          identifier: group.identifier ?? '',
          buildArn: group.currentBuildSummary?.arn,
          buildStatus: status,
        },
      ];
    }),
    phases: toPhases(batch.phases),
    runningBuilds: (batch.buildGroups ?? []).flatMap((group) => {
      const current = group.currentBuildSummary;
      return current?.arn && current.buildStatus === 'IN_PROGRESS'
        ? [current.arn]
        : [];
    }),
    currentBuilds: (batch.buildGroups ?? []).flatMap(
      (group) => group.currentBuildSummary?.arn ?? [],
    ),
  };
}

const FAILED: ReadonlySet<string> = new Set(FAILURE_BUILD_STATUSES);

function toBuildView(build: Build): BuildView | undefined {
  if (!build.arn) return undefined;
  const { groupName, streamName } = build.logs ?? {};
  const inCloudWatch = build.logs?.cloudWatchLogs?.status !== 'DISABLED';
  return {
    arn: build.arn,
    status: build.buildStatus ?? 'UNKNOWN',
    phases: toPhases(build.phases),
    ...(groupName && streamName && inCloudWatch
      ? { logs: { groupName, streamName } }
      : {}),
  };
}

// Lenient: CodeBuild reports phase statuses outside its documented enum,
// so anything is kept as a string and left to the classifier.
function toPhases(
  phases: readonly (BuildPhase | BuildBatchPhase)[] | undefined,
): PhaseView[] {
  return (phases ?? []).map((phase) => ({
    type: String(phase.phaseType ?? ''),
    ...(phase.phaseStatus ? { status: String(phase.phaseStatus) } : {}),
    contexts: (phase.contexts ?? []).map((c) => ({
      ...(c.statusCode ? { statusCode: c.statusCode } : {}),
      ...(c.message ? { message: c.message } : {}),
    })),
  }));
}
