import { describe, expect, it } from 'vitest';
import type { BatchView } from '../../lambda/batch.js';
import type { BatchOutcome, BatchRetrier } from '../../lambda/batch-retrier.js';
import type { BudgetStore } from '../../lambda/budget-store.js';
import type { CodeBuildGateway } from '../../lambda/codebuild-gateway.js';
import { runSweep, type SweepDeps } from '../../lambda/sweep.js';
import { defaultConfig } from '../../tools/local-aws/harness.js';

// Pure concurrency: the collaborators are in-process fakes, no servers.

const failedBatch = (name: string): BatchView => ({
  arn: `arn:aws:codebuild:eu-west-1:111122223333:build-batch/web-app:${name}`,
  id: `web-app:${name}`,
  projectName: 'web-app',
  status: 'FAILED',
  endTime: new Date(),
  phaseCount: 6,
  failedGroups: [],
  phases: [],
});

/** A sweep over `batches`, each handled by `handle`. */
function sweepDeps(
  batches: readonly BatchView[],
  handle: (batch: BatchView) => Promise<BatchOutcome>,
): SweepDeps {
  const budgetStore = {
    listWatched: async () => [],
    unwatch: async () => undefined,
    readMany: async () => new Map(),
  };
  const codebuild = {
    getBatches: async () => [],
    scanFailedBatches: async (
      _projects: readonly string[],
      keepGoing: (page: readonly BatchView[]) => boolean,
    ) => {
      keepGoing(batches);
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
    expect(await sweep).toBe(throttled);
    expect(events).toEqual(['slow call finished', 'sweep threw']);
  });
});
