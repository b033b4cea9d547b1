import { describe, expect, it } from 'vitest';
import type { BatchView } from '../../lambda/batch.js';
import type { BatchOutcome, BatchRetrier } from '../../lambda/batch-retrier.js';
import type { BudgetStore } from '../../lambda/budget-store.js';
import type {
  CodeBuildGateway,
  ScopeFailure,
} from '../../lambda/codebuild-gateway.js';
import { MAX_SCAN_PAGES } from '../../lambda/decision.js';
import { SweepIncompleteError } from '../../lambda/errors.js';
import { metrics } from '../../lambda/metrics.js';
import { runSweep, type SweepDeps } from '../../lambda/sweep.js';
import { whileCapturing } from '../../tools/local-aws/capture-logs.js';
import { defaultConfig } from '../../tools/local-aws/harness.js';

// Pure concurrency: the collaborators are in-process fakes, no servers.

/** Pages the fake listing served to the last sweep. */
let scanned = 0;

const failedBatch = (name: string): BatchView => ({
  arn: `arn:aws:codebuild:eu-west-1:111122223333:build-batch/web-app:${name}`,
  id: `web-app:${name}`,
  projectName: 'web-app',
  status: 'FAILED',
  endTime: new Date(),
  phaseCount: 6,
  failedGroups: [],
  phases: [],
  runningBuilds: [],
  currentBuilds: [],
});

/** A sweep over `batches`, each handled by `handle`. */
function sweepDeps(
  batches: readonly BatchView[],
  handle: (batch: BatchView) => Promise<BatchOutcome>,
  pages?: readonly (readonly BatchView[])[],
): SweepDeps {
  scanned = 0;
  const budgetStore = {
    listWatched: async () => [],
    unwatch: async () => undefined,
    readMany: async () => new Map(),
  };
  const codebuild = {
    getBatches: async () => [],
    scanFailedBatches: async (
      _projects: readonly string[],
      newScan: () => (page: readonly BatchView[]) => boolean,
    ) => {
      const judge = newScan();
      for (const page of pages ?? [batches]) {
        scanned += 1;
        if (!judge(page)) break;
      }
    },
  };
  return {
    config: defaultConfig('unused'),
    budgetStore: budgetStore as unknown as BudgetStore,
    codebuild: codebuild as unknown as CodeBuildGateway,
    retrier: { handle } as unknown as BatchRetrier,
    now: Date.now,
    remainingMs: () => 900_000,
  };
}

describe('runSweep', () => {
  it('does not end while a worker is mid-call, even after another worker failed', async () => {
    // Lambda freezes whatever is still running when the handler returns; a
    // RetryBuildBatch thawed minutes later would use a token CodeBuild has
    // forgotten and retry the batch past its budget.
    const [slow, failing] = [failedBatch('slow'), failedBatch('failing')];
    const throttled = new Error('throttled past the SDK retries');
    const events: string[] = [];
    let slowCallStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      slowCallStarted = resolve;
    });
    let finishSlowCall!: () => void;
    const gate = new Promise<void>((resolve) => {
      finishSlowCall = resolve;
    });
    const deps = sweepDeps([slow, failing], async (batch) => {
      if (batch === failing) throw throttled;
      slowCallStarted();
      await gate;
      events.push('slow call finished');
      return { batchArn: batch.arn, result: 'retried' } as BatchOutcome;
    });

    const sweep = runSweep(deps).then(
      () => events.push('sweep returned'),
      (error: unknown) => {
        events.push('sweep threw');
        return error;
      },
    );
    await started;
    // Several turns of the event loop: time for a rejection to surface.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events).toEqual([]);

    finishSlowCall();
    expect(await sweep).toBeInstanceOf(SweepIncompleteError);
    expect(events).toEqual(['slow call finished', 'sweep threw']);
  });

  it('goes on past a batch that fails, and throws once the rest is done', async () => {
    const batches = ['a', 'b', 'c', 'd', 'e', 'f'].map(failedBatch);
    const handled: string[] = [];
    const deps = sweepDeps(batches, async (batch) => {
      if (batch.id.endsWith(':b') || batch.id.endsWith(':e')) {
        throw new Error('throttled past the SDK retries');
      }
      handled.push(batch.id);
      return { batchArn: batch.arn, result: 'retried' } as BatchOutcome;
    });

    const { value: error, logs } = await whileCapturing(() =>
      runSweep(deps).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );

    expect(handled.sort()).toEqual([
      'web-app:a',
      'web-app:c',
      'web-app:d',
      'web-app:f',
    ]);
    expect(error).toBeInstanceOf(SweepIncompleteError);
    expect((error as SweepIncompleteError).failed).toEqual({ batch: 2 });
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'Sweep finished',
        processed: 6,
        results: { retried: 4 },
        failed: { batch: 2 },
      }),
    );
  });

  it('reads the watched batches and the listing even when the other fails', async () => {
    const watchedBatch = failedBatch('watched');
    const listed = failedBatch('listed');
    const handled: string[] = [];
    const handle = async (batch: BatchView) => {
      handled.push(batch.id);
      return { batchArn: batch.arn, result: 'retried' } as BatchOutcome;
    };
    const failing = async () => {
      throw new Error('throttled past the SDK retries');
    };
    const unwatched: string[] = [];
    const watching = (
      deps: SweepDeps,
      getBatches: () => Promise<BatchView[]>,
    ) => {
      Object.assign(deps.budgetStore, {
        listWatched: async () => [
          { batchArn: watchedBatch.arn, watchedAt: Date.now() },
        ],
        unwatch: async (batchArn: string) => {
          unwatched.push(batchArn);
        },
      });
      Object.assign(deps.codebuild, { getBatches });
      return deps;
    };

    const readFails = watching(sweepDeps([listed], handle), failing);
    await expect(runSweep(readFails)).rejects.toMatchObject({
      failed: { 'watched-read': 1 },
    });
    expect(handled).toEqual(['web-app:listed']);
    // A watch is not taken for gone when its batch could not be read…
    expect(unwatched).toEqual([]);
    // …only when CodeBuild answered without it.
    await runSweep(watching(sweepDeps([], handle), async () => []));
    expect(unwatched).toEqual([watchedBatch.arn]);

    handled.length = 0;
    const listingFails = watching(sweepDeps([], handle), async () => [
      watchedBatch,
    ]);
    Object.assign(listingFails.codebuild, {
      scanFailedBatches: async (
        _projects: readonly string[],
        _newScan: unknown,
        onScopeFailed: (failure: ScopeFailure) => void,
      ) =>
        onScopeFailed({
          projectName: 'web-app',
          missing: false,
          error: new Error('throttled'),
        }),
    });
    await expect(runSweep(listingFails)).rejects.toMatchObject({
      failed: { 'project-scan': 1 },
    });
    expect(handled).toEqual(['web-app:watched']);
  });

  it('stops a scan out of time order at the page cap, with a WARN and a metric', async () => {
    // Failures that ended two days ago, listed out of start-time order.
    const old = (name: string, startHour: number): BatchView => ({
      ...failedBatch(name),
      startTime: new Date(Date.now() - (72 - startHour) * 3_600_000),
      endTime: new Date(Date.now() - 48 * 3_600_000),
    });
    const page = [old('a', 1), old('b', 2)];
    const pages = Array.from({ length: MAX_SCAN_PAGES + 10 }, () => page);
    const deps = sweepDeps(
      [],
      async () => {
        throw new Error('nothing is a candidate');
      },
      pages,
    );
    const { value: summary, logs } = await whileCapturing(async () => {
      const result = await runSweep(deps);
      metrics.publishStoredMetrics(); // as the handler does after each invocation
      return result;
    });

    expect(scanned).toBe(MAX_SCAN_PAGES);
    expect(summary).toMatchObject({ candidates: 0 });
    expect(logs.records()).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'Sweep scan cut short; the next sweep reads again',
        pages: MAX_SCAN_PAGES,
        newestFirst: false,
        cause: 'page-cap',
      }),
    );
    expect(logs.text()).toContain('"SweepScanTruncated"');
  });
});
