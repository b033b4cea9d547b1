/**
 * Reproduction: a failed sweep leaves RetryBuildBatch work running; Lambda
 * freezes it with the environment, and when that environment is reused
 * after CodeBuild's five-minute token window, the stale call retries the
 * batch again, past MaxRetries.
 *
 *   npx tsx sim/repro/frozen-sweep.ts [--code <bundled function dir>]
 *   (exit 1: reproduced; 0: not reproduced)
 *
 * Everything is the shipped artifact: the synthesized template and the
 * bundled function, on the CodeBuild emulator and dynalite, with Lambda's
 * freeze-after-handler semantics (sim/lambda-worker.mjs). Time line:
 *
 *   T0      sweep S1 (env-1) works on batches A and B concurrently. A:
 *           attempt 1 reserved, its idempotency record being written. B:
 *           DynamoDB throttles its reservation until the SDK gives up, so
 *           runSweep's Promise.all rejects and the handler returns an
 *           error while A's worker is still mid-flight. env-1 is frozen
 *           with A's work inside.
 *   T0+1m   Lambda retries S1 in env-2: A's attempt is "in flight".
 *   T0+5m   sweep S2 (env-2): the in-progress record has expired, so S2
 *           finishes A's attempt 1 with its token: A is retried (1 of 1).
 *   T0+8m   A's retried run fails again: budget exhausted, nothing to do.
 *   T0+11m  sweep S3 lands on env-1 and thaws it: A's stale worker sends
 *           RetryBuildBatch with attempt 1's token, 6 minutes after S2 used
 *           it; CodeBuild no longer knows the token and retries A again.
 */
import '../quiet.js';
import { resolveDeployment } from '../../tools/local-aws/deployment.js';
import { createTable } from '../../tools/local-aws/dynamo.js';
import { functionEnvironment } from '../../tools/local-aws/environment.js';
import { startLocalAws } from '../../tools/local-aws/local-aws.js';
import { synthesize } from '../../tools/local-aws/synth.js';
import { SIM_EPOCH, SimClock } from '../clock.js';
import { type InvocationRecord, LambdaRuntime } from '../lambda-runtime.js';
import { Network } from '../network.js';
import { Random } from '../random.js';
import { Scheduler } from '../scheduler.js';

const MIN = 60_000;
const PROJECT = 'web-app';

const assembly = await synthesize('repro-frozen-sweep');
const resolved = resolveDeployment(assembly, {
  parameters: { MaxRetries: '1', ProjectNames: PROJECT },
});
// `--code <dir>` runs another build of the function (e.g. a candidate fix)
// in the same deployment.
const codeFlag = process.argv.indexOf('--code');
const deployment =
  codeFlag > 0 && process.argv[codeFlag + 1]
    ? {
        ...resolved,
        fn: {
          ...resolved.fn,
          codeDirectory: process.argv[codeFlag + 1] as string,
        },
      }
    : resolved;
const clock = new SimClock(SIM_EPOCH);
const scheduler = new Scheduler(clock);
const services = await startLocalAws({ now: clock.now, tables: [] });
const { codebuild: emulator } = services;
await createTable(services.dynamo.client, deployment.table);

// Two failed batches.
emulator.createProject(PROJECT);
const fail = (arn: string) => {
  for (const build of emulator.currentBuilds(arn)) {
    if (build.buildStatus === 'IN_PROGRESS') {
      emulator.completeBuild(build.arn, 'FAILED');
    }
  }
  emulator.settleBatch(arn);
};
const a = emulator.startBatch(PROJECT, { groups: ['test'] });
const b = emulator.startBatch(PROJECT, { groups: ['test'] });
clock.advance(MIN);
fail(a.arn);
fail(b.arn);

// S1 only: throttle B's reservation for good, and hold A's idempotency
// write until S1's handler has returned: network latency that makes the
// interleaving deterministic.
let s1Returned!: () => void;
const s1Done = new Promise<void>((resolve) => {
  s1Returned = resolve;
});
let s1Over = false;
const network = new Network({
  codebuildEndpoint: emulator.endpoint,
  dynamodbEndpoint: services.dynamo.endpoint,
  random: new Random(1),
  intercept: async ({ service, operation, body }) => {
    if (s1Over || service !== 'dynamodb') return undefined;
    if (operation === 'UpdateItem' && body.includes(b.arn)) return 'throttle';
    // (Bounded, so a fixed function that waits for A does not deadlock.)
    if (operation === 'PutItem') {
      await Promise.race([s1Done, new Promise((r) => setTimeout(r, 2_000))]);
    }
    return undefined;
  },
});

const invocations: InvocationRecord[] = [];
const runtime = new LambdaRuntime({
  deployment,
  clock,
  scheduler,
  network,
  random: new Random(1),
  accountConcurrency: 4,
  baseEnvironment: functionEnvironment(),
  // env-1 takes S1 and, at T0+11m, S3; everything else runs elsewhere.
  chooseEnvironment: (idle) =>
    clock.now() >= SIM_EPOCH + 12 * MIN
      ? 'env-1'
      : (idle.find((id) => id !== 'env-1') ?? 'new'),
  onInvocation: (record) => {
    invocations.push(record);
    if (!s1Over) {
      s1Over = true;
      s1Returned();
    }
    const r = record.result as { outcomes?: object } | undefined;
    console.log(
      `${new Date(record.startedAt).toISOString().slice(11, 19)}  ${record.environment}  sweep attempt ${record.attempt}: ${record.outcome}${record.error ? ` (${record.error.errorType})` : ''}${r?.outcomes ? ` ${JSON.stringify(r.outcomes)}` : ''}${record.leftoverCalls > 0 ? `  <- returned with ${record.leftoverCalls} call(s) in flight` : ''}`,
    );
  },
});

const at = (minutes: number, what: () => unknown) =>
  scheduler.at(SIM_EPOCH + minutes * MIN, 'repro', what);
const sweep = () => runtime.invokeAsync({ kind: 'sweep' }, 'schedule');
at(2, sweep); // S1 (its Lambda retry follows a minute later)
at(7, sweep); // S2
at(10, () => {
  console.log(
    `08:10:00         A retried ${emulator.retryCount(a.arn)}×; its new run fails`,
  );
  fail(a.arn);
});
at(13, sweep); // S3, on env-1
await scheduler.runUntil(SIM_EPOCH + 30 * MIN);
// Let env-1 finish what it resumed.
await new Promise((resolve) => setTimeout(resolve, 500));

const retries = emulator.retryCount(a.arn);
const calls = emulator.requests.filter(
  (r) =>
    r.operation === 'RetryBuildBatch' &&
    (r.input as { id?: string }).id === a.id,
);
console.log(
  `\nRetryBuildBatch calls for A (token, simulated time, status):\n${calls
    .map(
      (c) =>
        `  ${String((c.input as { idempotencyToken?: string }).idempotencyToken).slice(0, 16)}…  ${new Date(c.at).toISOString().slice(11, 19)}  ${c.status}`,
    )
    .join('\n')}`,
);
console.log(`\nBatch A was retried ${retries} times with MaxRetries=1.`);
await runtime.close();
await network.close();
await services.stop();
if (retries > 1) {
  console.log('REPRODUCED: the budget was exceeded.');
  process.exitCode = 1;
} else {
  console.log('Not reproduced.');
}
