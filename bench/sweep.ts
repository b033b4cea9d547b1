// Sweep growth: one sweep of the shipped handler in accounts of growing size,
// each in a fresh world and a fresh process.
import { LambdaProcess } from './lambda-process.js';
import type { Shipped } from './synth.js';
import { World } from './world.js';

export interface SweepAccount {
  readonly batches: number;
  readonly failedInWindow: number;
  readonly failedBeforeWindow: number;
}

export interface SweepRun extends SweepAccount {
  readonly calls: number;
  readonly operations: Record<string, number>;
  readonly ms: number;
  /** Batches the sweep retried (must be the failures in the window). */
  readonly retried: number;
  /** Batches that failed before the window and were retried (must be 0). */
  readonly retriedBeforeWindow: number;
  readonly ok: boolean;
}

export async function measureSweep(
  shipped: Shipped,
  workerFile: string,
  account: SweepAccount,
): Promise<SweepRun> {
  const world = await World.start();
  world.seedAccount(account);
  const lambda = await LambdaProcess.start(
    workerFile,
    world.lambdaEnv(shipped),
  );
  await lambda.load('fn', shipped.bundle);
  const mark = world.calls.length;
  const invocation = await lambda.invoke('fn', shipped.sweepEvent);
  const calls = world.calls.slice(mark);
  const retries = [...world.retriesByBatch().values()];
  await lambda.stop();
  await world.stop();
  const operations: Record<string, number> = {};
  for (const call of calls) {
    operations[call.operation] = (operations[call.operation] ?? 0) + 1;
  }
  return {
    ...account,
    calls: calls.length,
    operations,
    ms: invocation.ms,
    retried: retries.filter((n) => n > 0).length,
    // Seeded oldest first: the first batches are the old failures.
    retriedBeforeWindow: retries
      .slice(0, account.failedBeforeWindow)
      .filter((n) => n > 0).length,
    ok: invocation.ok,
  };
}
