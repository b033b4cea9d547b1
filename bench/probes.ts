// Remote calls of the event kinds the warm mix does not cover: an event of
// a project out of scope, a failed child of a batch still running, and a
// sweep of an account with nothing to do.
import { LambdaProcess } from './lambda-process.js';
import { PROJECT } from './settings.js';
import type { Shipped } from './synth.js';
import { World } from './world.js';

export interface Probe {
  readonly calls: number;
  readonly operations: readonly string[];
  readonly outcome: unknown;
}

export async function measureProbes(
  shipped: Shipped,
  workerFile: string,
): Promise<Record<'outOfScope' | 'watched' | 'idleSweep', Probe>> {
  const world = await World.start();
  const lambda = await LambdaProcess.start(
    workerFile,
    world.lambdaEnv(shipped),
  );
  await lambda.load('default', shipped.bundle);
  await lambda.load('scoped', shipped.bundle, {
    PROJECT_NAMES: `not-${PROJECT}`,
  });
  const probe = async (key: string, event: unknown): Promise<Probe> => {
    const mark = world.calls.length;
    const invocation = await lambda.invoke(key, event);
    const calls = world.calls.slice(mark);
    return {
      calls: calls.length,
      operations: calls.map((c) => c.operation),
      outcome: invocation.ok ? invocation.result : invocation.error,
    };
  };

  const idleSweep = await probe('default', shipped.sweepEvent);
  const outOfScope = await probe('scoped', world.event('retried').event);
  const batch = world.codebuild.startBatch(PROJECT, {
    groups: ['unit', 'e2e'],
  });
  const [unit] = world.codebuild.currentBuilds(batch.arn);
  const watched = await probe(
    'default',
    world.codebuild.completeBuild(unit.arn, 'FAILED'),
  );
  await lambda.stop();
  await world.stop();
  return { outOfScope, watched, idleSweep };
}
